/**
 * Coalescing for events: {@link Batcher} collects keys and hands them over at most once per
 * `delayMs`, starting `delayMs` after the first one — a burst of appends (a catch-up streams
 * thousands) becomes one event per interval instead of one per message, and a steady stream
 * still flushes regularly instead of waiting for a quiet moment that never comes.
 */

/** Collects keys and flushes them in batches, at most once per `delayMs`. */
export class Batcher<K> {
  readonly #delayMs: number
  readonly #flush: (keys: K[]) => void | Promise<void>
  #keys = new Set<K>()
  #timer: ReturnType<typeof setTimeout> | undefined
  #running: Promise<void> | undefined
  #closed = false

  /** `flush` gets the keys added since the last flush; its errors are its own to handle. */
  constructor(delayMs: number, flush: (keys: K[]) => void | Promise<void>) {
    this.#delayMs = delayMs
    this.#flush = flush
  }

  /** Adds `key` to the next batch. */
  add(key: K): void {
    if (this.#closed) return
    this.#keys.add(key)
    this.#timer ??= setTimeout(() => void this.#run(), this.#delayMs)
  }

  /** Drops what is pending and stops. */
  close(): void {
    this.#closed = true
    clearTimeout(this.#timer)
    this.#keys.clear()
  }

  async #run(): Promise<void> {
    // One flush at a time: keys added meanwhile wait for the next interval.
    await this.#running
    this.#timer = undefined
    if (this.#closed || this.#keys.size === 0) return
    const keys = [...this.#keys]
    this.#keys = new Set()
    this.#running = Promise.resolve(this.#flush(keys)).finally(() => {
      this.#running = undefined
    })
    await this.#running
  }
}
