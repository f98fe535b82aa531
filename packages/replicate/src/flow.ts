/**
 * Credit-based flow control for bulk frames (MSGS and BLOB_CHUNK). The receiver grants a byte
 * window; the sender spends credit on every bulk frame (its plaintext size) and sends nothing it
 * has no credit for, so a slow receiver stalls the sender instead of making it buffer without
 * bound. The receiver grants bytes back only once it has handled (stored) what they carried,
 * so its own queue of unprocessed frames never holds more than the window either.
 */

/** The receiving side of one peer's credit. */
export class ReceiveWindow {
  readonly size: number
  /** Bytes the peer may still send. */
  #open: number
  /** Bytes handled and not yet granted back. */
  #handled = 0

  /** A window of `size` bytes; the caller grants it once with {@link initialGrant}. */
  constructor(size: number) {
    this.size = size
    this.#open = 0
  }

  /** The first grant: the whole window. */
  initialGrant(): number {
    this.#open = this.size
    return this.size
  }

  /** Takes `bytes` of a frame that arrived; false when the peer sent beyond its credit. */
  take(bytes: number): boolean {
    if (bytes > this.#open) return false
    this.#open -= bytes
    return true
  }

  /**
   * Records `bytes` as handled. Returns how many bytes to grant back now (0 to wait and
   * coalesce): grants go out once an eighth of the window is handled, or when `idle`.
   */
  release(bytes: number, idle: boolean): number {
    this.#handled += bytes
    if (this.#handled === 0 || (!idle && this.#handled < this.size / 8)) return 0
    const grant = this.#handled
    this.#handled = 0
    this.#open += grant
    return grant
  }
}

/** The sending side: credit granted by the peer. */
export class SendCredit {
  #credit = 0

  /** Bytes that may be sent now. */
  get available(): number {
    return this.#credit
  }

  /** Adds a grant from the peer; false (and ignored) when it would pass `max`. */
  add(bytes: number, max: number): boolean {
    if (this.#credit + bytes > max) return false
    this.#credit += bytes
    return true
  }

  /** Spends credit on a frame of `bytes` (the caller checked {@link available}). */
  spend(bytes: number): void {
    this.#credit -= bytes
  }
}
