/** CLI errors: one line for the person, and the exit code the command ends with. */

/** Exit codes of `murmur` (documented in the README). */
export const EXIT = {
  ok: 0,
  /** The command could not be done (bad data, refused, peer unreachable…). */
  failed: 1,
  /** Wrong arguments. */
  usage: 2,
  /** No identity in the data folder yet (`murmur init`). */
  noIdentity: 3,
  /** The data folder is in use (another `serve` holds it). */
  locked: 4,
  /** A peer could not be reached. */
  unreachable: 5,
} as const

/** An error the CLI prints as one line (no stack trace) and exits with `exitCode`. */
export class CliError extends Error {
  readonly exitCode: number

  constructor(message: string, exitCode: number = EXIT.failed, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'CliError'
    this.exitCode = exitCode
  }
}
