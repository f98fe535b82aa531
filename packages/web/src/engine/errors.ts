/**
 * The engine's errors: everything that crosses to the UI is an {@link EngineError} — a code the
 * UI can act on and a message a person can read. Inside the engine, failures are
 * {@link EngineFailure}s; anything else thrown (a MurmurError from the packages, an IndexedDB
 * DOMException, a bug) is mapped by {@link toEngineError} at the boundary.
 */
import { isMurmurError } from '@murmur/core'
import type { EngineError, EngineErrorCode } from '../api.js'

/** A failed engine call: an `Error` (with a stack) that is also an {@link EngineError}. */
export class EngineFailure extends Error implements EngineError {
  readonly code: EngineErrorCode
  /**
   * Set when the call never got an answer because the engine it went to is gone (its tab
   * closed): `unsent` — it never left this worker, so it did not run and may be sent again;
   * `lost` — it reached that engine and may or may not have run, so only a read may be sent
   * again. Never set for a call that ran and failed.
   */
  readonly delivery: 'unsent' | 'lost' | undefined

  constructor(code: EngineErrorCode, message: string, options?: { cause?: unknown; delivery?: 'unsent' | 'lost' }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'EngineError'
    this.code = code
    this.delivery = options?.delivery
  }
}

/** A call that got no answer because its engine went away (see {@link EngineFailure.delivery}). */
export function lostCall(delivery: 'unsent' | 'lost' = 'lost'): EngineFailure {
  return new EngineFailure('UNAVAILABLE', 'The tab that was running Murmur closed: try again.', { delivery })
}

const CODES: ReadonlySet<string> = new Set<EngineErrorCode>([
  'INVALID_ARGUMENT',
  'NO_IDENTITY',
  'IDENTITY_EXISTS',
  'RESTORE_PENDING',
  'BAD_BACKUP',
  'TOO_LARGE',
  'NOT_FOUND',
  'UNAVAILABLE',
  'INTERNAL',
])

/** True for a value of the {@link EngineError} shape (an {@link EngineFailure} or its clone). */
export function isEngineError(err: unknown): err is EngineError {
  const e = err as { code?: unknown; message?: unknown } | null
  return typeof e === 'object' && e !== null && typeof e.message === 'string' && CODES.has(e.code as string)
}

/**
 * The plain, clonable {@link EngineError} for anything a call threw, with a human message.
 * MurmurError codes map to what the UI can do about them; a RangeError is a bad argument.
 */
export function toEngineError(err: unknown): EngineError {
  // First: a MurmurError's code may look like an engine code (INVALID_ARGUMENT) but its message
  // is written for developers.
  if (isMurmurError(err)) {
    switch (err.code) {
      case 'INVALID_ARGUMENT':
      case 'INVALID_MESSAGE':
        return { code: 'INVALID_ARGUMENT', message: sentence(err.message) }
      case 'TIMEOUT':
        return { code: 'UNAVAILABLE', message: `That took too long (${err.message}): try again.` }
      case 'NOT_OPEN':
        return { code: 'UNAVAILABLE', message: 'Murmur is shutting down in this tab: reload and try again.' }
      case 'UNREACHABLE':
        return { code: 'UNAVAILABLE', message: sentence(err.message) }
      case 'FEED_FORKED':
        return {
          code: 'INTERNAL',
          message: 'Your feed is forked (two messages were signed at one place), so nothing more can be added to it.',
        }
      case 'CORRUPT':
        return { code: 'INTERNAL', message: `Murmur's stored data is damaged: ${err.message}` }
      default:
        return { code: 'INTERNAL', message: sentence(err.message) }
    }
  }
  if (isEngineError(err)) return { code: err.code, message: err.message }
  if (err instanceof RangeError) return { code: 'INVALID_ARGUMENT', message: sentence(err.message) }
  const name = (err as { name?: unknown } | null)?.name
  if (name === 'DataCloneError') {
    return { code: 'INVALID_ARGUMENT', message: 'That cannot be passed to or from the engine (only plain data can).' }
  }
  if (name === 'QuotaExceededError') {
    return { code: 'INTERNAL', message: 'The browser has no room left for Murmur: free some space and try again.' }
  }
  const message = err instanceof Error ? err.message : String(err)
  return { code: 'INTERNAL', message: `Something went wrong inside Murmur: ${message}` }
}

/** `text` with a capital first letter and a final full stop. */
function sentence(text: string): string {
  const t = text.trim()
  if (t === '') return 'Something went wrong.'
  const s = t[0]?.toUpperCase() + t.slice(1)
  return /[.!?]$/.test(s) ? s : `${s}.`
}
