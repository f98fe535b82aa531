/**
 * One error class for every Murmur package. Misuse and refused operations throw a
 * `MurmurError` with a stable `code`; bad remote data is never thrown, it is returned as a
 * rejected {@link Result} (see `message.ts`).
 */

/** Stable error codes, shared by all packages so callers can switch on them. */
export type ErrorCode =
  /** A caller passed something malformed (an id, a backup text, an argument). */
  | 'INVALID_ARGUMENT'
  /** A message does not extend the stored head of its feed. */
  | 'NOT_NEXT'
  /** The feed is forked: nothing more is taken from it. */
  | 'FEED_FORKED'
  /** A message failed validation where only valid ones may go. */
  | 'INVALID_MESSAGE'
  /** The store or a view was used after close, or before open. */
  | 'NOT_OPEN'
  /** Waiting for something took longer than its bound. */
  | 'TIMEOUT'
  /** Stored data is not what the store wrote (disk corruption, foreign data). */
  | 'CORRUPT'
  /** A peer could not be reached: refused, unknown host, closed before the handshake ended. */
  | 'UNREACHABLE'
  /** A listener could not bind its address (in use, not permitted). */
  | 'LISTEN_FAILED'

/** The error every Murmur package throws; `code` says what went wrong. */
export class MurmurError extends Error {
  readonly code: ErrorCode

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'MurmurError'
    this.code = code
  }
}

/** True when `err` is a {@link MurmurError}, optionally with the given code. */
export function isMurmurError(err: unknown, code?: ErrorCode): err is MurmurError {
  return err instanceof MurmurError && (code === undefined || err.code === code)
}
