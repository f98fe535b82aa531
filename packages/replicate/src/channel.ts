/**
 * The one thing replication needs from a transport: an ordered, reliable, message-oriented,
 * bidirectional channel (a WebSocket, an RTCDataChannel, or an in-memory pair in tests). One
 * `send` is one frame of at most {@link MAX_FRAME} bytes, delivered whole and in order.
 */

/** The largest frame a channel carries (RTCDataChannel messages are capped near this). */
export const MAX_FRAME = 65536

/** An ordered message channel to one remote peer. */
export interface Channel {
  /** Sends one frame (at most {@link MAX_FRAME} bytes). Frames sent after close are dropped. */
  send(frame: Uint8Array): void
  /** Bytes queued locally and not yet handed to the network (0 when unknown): for backpressure. */
  readonly bufferedAmount: number
  /** Calls `fn` with each received frame; returns the function that stops it. */
  onFrame(fn: (frame: Uint8Array) => void): () => void
  /** Calls `fn` once when the channel closes, with the reason; returns the function that stops it. */
  onClose(fn: (reason: string) => void): () => void
  /** Closes the channel, telling the other side `reason` where the transport can. */
  close(reason?: string): void
  /**
   * Optional: calls `fn` whenever {@link bufferedAmount} has fallen (a frame left the local
   * buffer), so a sender waiting for room needs no polling (WebRTC's `bufferedamountlow`).
   * Returns the function that stops it. Channels without it are polled by the sender.
   */
  onDrain?(fn: () => void): () => void
  /**
   * Optional: calls `fn` for each frame the transport itself refused before replication saw it
   * (`oversized`: over {@link MAX_FRAME}; `malformed`: e.g. a WebSocket text frame), so they
   * are counted against the peer like any other invalid item. Returns the function that stops it.
   */
  onInvalid?(fn: (kind: 'oversized' | 'malformed', detail: string) => void): () => void
}

/** Options of {@link memoryChannelPair}. */
export interface MemoryChannelOptions {
  /** One-way delay of every frame (ms). */
  latencyMs?: number
  /** Extra random delay, uniform in [0, jitterMs) (order is still kept). */
  jitterMs?: number
  /**
   * The largest frame `send` takes (default {@link MAX_FRAME}). Tests raise it to play a peer
   * that sends oversized frames.
   */
  maxFrame?: number
}

/**
 * Two connected in-memory channels, for tests and simulations: what one sends, the other
 * receives, in order, after the configured latency.
 */
export function memoryChannelPair(opts: MemoryChannelOptions = {}): [Channel, Channel] {
  const a = new MemoryChannel(opts)
  const b = new MemoryChannel(opts)
  a.peer = b
  b.peer = a
  return [a, b]
}

class MemoryChannel implements Channel {
  peer: MemoryChannel | undefined
  bufferedAmount = 0
  #frameFns = new Set<(frame: Uint8Array) => void>()
  #closeFns = new Set<(reason: string) => void>()
  #drainFns = new Set<() => void>()
  #closed = false
  #lastDelivery = 0
  readonly #inFlight: { at: number; frame: Uint8Array }[] = []
  readonly #opts: MemoryChannelOptions

  constructor(opts: MemoryChannelOptions) {
    this.#opts = opts
  }

  send(frame: Uint8Array): void {
    if (this.#closed) return
    const max = this.#opts.maxFrame ?? MAX_FRAME
    if (frame.length > max) throw new RangeError(`a frame is at most ${max} bytes, got ${frame.length}`)
    const copy = frame.slice()
    const peer = this.peer
    const delay = (this.#opts.latencyMs ?? 0) + Math.random() * (this.#opts.jitterMs ?? 0)
    if (delay === 0) {
      this.bufferedAmount += copy.length
      queueMicrotask(() => {
        this.#sent(copy.length)
        peer?.deliver(copy)
      })
      return
    }
    // Keep order under jitter: frames wait in one queue, each no earlier than the one before
    // (separate timers of nearly equal delays may fire out of order).
    const at = Math.max(performance.now() + delay, this.#lastDelivery)
    this.#lastDelivery = at
    this.bufferedAmount += copy.length
    this.#inFlight.push({ at, frame: copy })
    if (this.#inFlight.length === 1) this.#arm()
  }

  #arm(): void {
    const next = this.#inFlight[0]
    if (!next) return
    setTimeout(
      () => {
        const now = performance.now()
        while (this.#inFlight.length > 0 && (this.#inFlight[0] as { at: number }).at <= now + 0.5) {
          const { frame } = this.#inFlight.shift() as { frame: Uint8Array }
          this.#sent(frame.length)
          this.peer?.deliver(frame)
        }
        this.#arm()
      },
      Math.max(0, next.at - performance.now()),
    )
  }

  #sent(bytes: number): void {
    this.bufferedAmount -= bytes
    for (const fn of this.#drainFns) fn()
  }

  onDrain(fn: () => void): () => void {
    this.#drainFns.add(fn)
    return () => this.#drainFns.delete(fn)
  }

  deliver(frame: Uint8Array): void {
    if (this.#closed) return
    for (const fn of this.#frameFns) fn(frame)
  }

  onFrame(fn: (frame: Uint8Array) => void): () => void {
    this.#frameFns.add(fn)
    return () => this.#frameFns.delete(fn)
  }

  onClose(fn: (reason: string) => void): () => void {
    this.#closeFns.add(fn)
    return () => this.#closeFns.delete(fn)
  }

  close(reason = 'closed'): void {
    if (this.#closed) return
    this.#closed = true
    for (const fn of this.#closeFns) fn(reason)
    this.#closeFns.clear()
    this.#frameFns.clear()
    this.#drainFns.clear()
    queueMicrotask(() => this.peer?.close(reason))
  }
}
