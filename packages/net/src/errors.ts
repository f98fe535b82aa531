/**
 * The typed error of @murmur/net. Core's `MurmurError` has no codes for the network yet (and
 * net depends on replicate only), so net names its own, in the same shape: a stable `code`, a
 * one-line message a person can read, and the underlying error as `cause`.
 */

/** Why a network operation failed. */
export type NetErrorCode =
  /** A URL or option is malformed (not `ws:`/`wss:`, for instance). */
  | 'INVALID_ARGUMENT'
  /** The peer could not be reached: refused, unknown host, closed before the handshake ended. */
  | 'UNREACHABLE'
  /** The peer did not answer within the time allowed. */
  | 'TIMEOUT'
  /** A listener could not bind its address (in use, not permitted). */
  | 'LISTEN_FAILED'

/** An error of a network operation; `code` says what went wrong. */
export class NetError extends Error {
  readonly code: NetErrorCode

  constructor(code: NetErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'NetError'
    this.code = code
  }
}

/** True when `err` is a {@link NetError}, optionally with the given code. */
export function isNetError(err: unknown, code?: NetErrorCode): err is NetError {
  return err instanceof NetError && (code === undefined || err.code === code)
}
