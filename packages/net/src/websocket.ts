/**
 * A WebSocket as a replication {@link Channel}: the browser's standard `WebSocket` and a `ws`
 * WebSocket in Node both fit (they share `send`, `binaryType`, `bufferedAmount`, `close` and
 * `addEventListener`). Browser-safe: no Node imports here.
 *
 * One WebSocket binary message is one frame. Text messages and frames over {@link MAX_FRAME}
 * are not part of the protocol: they are dropped and counted, and a socket that sends more
 * than a few of them is closed with 1008 (policy violation), never the process or other peers.
 * Frames that arrive before anyone listens are held (up to a bound) for the first listener,
 * so a caller may do a little async work between accepting a socket and reading it.
 */
import { type Channel, MAX_FRAME } from '@murmur/replicate'

/** What an event of a {@link WebSocketLike} may carry (message data, close code and reason). */
export interface SocketEvent {
  readonly type: string
  readonly data?: unknown
  readonly code?: number
  readonly reason?: string
  /** `ws` puts the cause of an error here; browsers give no detail. */
  readonly message?: unknown
}

/** The part of a WebSocket (browser or `ws`) that a channel uses. */
export interface WebSocketLike {
  binaryType: string
  readonly bufferedAmount: number
  readonly readyState: number
  send(data: Uint8Array<ArrayBuffer>): void
  close(code?: number, reason?: string): void
  addEventListener(type: 'open' | 'message' | 'close' | 'error', listener: (event: SocketEvent) => void): void
}

/** Options of {@link wsChannel}. */
export interface WsChannelOptions {
  /** Invalid frames (text, oversized) tolerated before the socket is closed (default 8). */
  maxInvalidFrames?: number
  /** Bytes of frames held while nobody listens yet, before the socket is closed (default 1 MiB). */
  maxHeldBytes?: number
}

/** A {@link Channel} over a WebSocket, with the count of frames it dropped. */
export interface WsChannel extends Channel {
  /** Invalid frames received (text, or over {@link MAX_FRAME}) and dropped. */
  readonly invalidFrames: number
}

const CONNECTING = 0
const OPEN = 1
/** Close codes (RFC 6455 §7.4.1; 1013 from the IANA registry). */
export const CLOSE_CODES = {
  normal: 1000,
  goingAway: 1001,
  policy: 1008,
  tooBig: 1009,
  internalError: 1011,
  tryAgainLater: 1013,
} as const
/** A close frame carries at most 125 payload bytes: a 2-byte code and 123 of reason. */
const MAX_REASON_BYTES = 123

/**
 * Adapts an open WebSocket to a {@link Channel}. Sets `binaryType` to `'arraybuffer'`.
 * @throws {TypeError} when the socket is still connecting (wait for `open`, or use `dial`).
 */
export function wsChannel(socket: WebSocketLike, opts: WsChannelOptions = {}): WsChannel {
  return new SocketChannel(socket, opts)
}

class SocketChannel implements WsChannel {
  readonly #socket: WebSocketLike
  readonly #frameFns = new Set<(frame: Uint8Array) => void>()
  readonly #closeFns = new Set<(reason: string) => void>()
  readonly #maxInvalid: number
  readonly #maxHeldBytes: number
  /** Frames received before the first listener; undefined once they were handed over. */
  #held: Uint8Array[] | undefined = []
  #heldBytes = 0
  #handingOver = false
  #invalid = 0
  readonly #invalidFns = new Set<(kind: 'oversized' | 'malformed', detail: string) => void>()
  #closed = false

  constructor(socket: WebSocketLike, opts: WsChannelOptions) {
    if (socket.readyState === CONNECTING)
      throw new TypeError('wsChannel needs an open WebSocket: wait for its open event')
    this.#socket = socket
    this.#maxInvalid = opts.maxInvalidFrames ?? 8
    this.#maxHeldBytes = opts.maxHeldBytes ?? 1024 * 1024
    socket.binaryType = 'arraybuffer'
    socket.addEventListener('message', (ev) => this.#receive(ev.data))
    socket.addEventListener('close', (ev) => this.#ended(ev.reason || describeClose(ev.code)))
    socket.addEventListener('error', (ev) => {
      const reason = errorReason(ev)
      if (reason === TOO_LARGE) this.#rejected('oversized', `over ${MAX_FRAME} bytes`)
      this.#ended(reason)
    })
    if (socket.readyState !== OPEN) queueMicrotask(() => this.#ended('closed'))
  }

  get bufferedAmount(): number {
    return this.#socket.bufferedAmount
  }

  get invalidFrames(): number {
    return this.#invalid
  }

  send(frame: Uint8Array): void {
    if (frame.length > MAX_FRAME) throw new RangeError(`a frame is at most ${MAX_FRAME} bytes, got ${frame.length}`)
    if (this.#closed || this.#socket.readyState !== OPEN) return
    // A copy: `ws` may hold the caller's buffer until the kernel takes it (browsers copy anyway).
    this.#socket.send(frame.slice())
  }

  onFrame(fn: (frame: Uint8Array) => void): () => void {
    this.#frameFns.add(fn)
    const held = this.#held
    if (held !== undefined && !this.#handingOver) {
      // Handed over once the caller's own setup has run; frames that come meanwhile join the
      // queue, so the order is kept.
      this.#handingOver = true
      queueMicrotask(() => {
        this.#held = undefined
        for (const frame of held) this.#deliver(frame)
      })
    }
    return () => this.#frameFns.delete(fn)
  }

  onClose(fn: (reason: string) => void): () => void {
    this.#closeFns.add(fn)
    return () => this.#closeFns.delete(fn)
  }

  onInvalid(fn: (kind: 'oversized' | 'malformed', detail: string) => void): () => void {
    this.#invalidFns.add(fn)
    return () => this.#invalidFns.delete(fn)
  }

  #rejected(kind: 'oversized' | 'malformed', detail: string): void {
    for (const fn of this.#invalidFns) fn(kind, detail)
  }

  close(reason = 'closed'): void {
    this.#shut(CLOSE_CODES.normal, reason)
  }

  #receive(data: unknown): void {
    if (this.#closed) return
    if (!(data instanceof ArrayBuffer) || data.byteLength > MAX_FRAME) {
      this.#invalid++
      const oversized = data instanceof ArrayBuffer
      this.#rejected(
        oversized ? 'oversized' : 'malformed',
        oversized ? `${data.byteLength} bytes` : 'not a binary frame',
      )
      if (this.#invalid > this.#maxInvalid) {
        this.#shut(
          CLOSE_CODES.policy,
          `too many invalid frames (${this.#invalid}): only binary frames of at most ${MAX_FRAME} bytes`,
        )
      }
      return
    }
    const frame = new Uint8Array(data)
    if (this.#held === undefined) this.#deliver(frame)
    else if (this.#heldBytes + frame.length > this.#maxHeldBytes)
      this.#shut(CLOSE_CODES.internalError, 'frames were not read')
    else {
      this.#held.push(frame)
      this.#heldBytes += frame.length
    }
  }

  #deliver(frame: Uint8Array): void {
    if (this.#closed) return
    for (const fn of this.#frameFns) fn(frame)
  }

  /** Closes from this side: the reason goes to the other side in the close frame. */
  #shut(code: number, reason: string): void {
    if (this.#closed) return
    this.#socket.close(code, truncateReason(reason))
    this.#ended(reason)
  }

  /** Fires the close callbacks once, whichever way the channel ended. */
  #ended(reason: string): void {
    if (this.#closed) return
    this.#closed = true
    this.#held = undefined
    const fns = [...this.#closeFns]
    this.#closeFns.clear()
    this.#frameFns.clear()
    for (const fn of fns) fn(reason)
  }
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/** `reason` cut to what a close frame holds (123 UTF-8 bytes), never inside a character. */
export function truncateReason(reason: string): string {
  if (encoder.encodeInto(reason, new Uint8Array(MAX_REASON_BYTES)).read === reason.length) return reason
  // encodeInto writes whole characters only; 3 bytes are left for the ellipsis.
  const out = new Uint8Array(MAX_REASON_BYTES - 3)
  const { written } = encoder.encodeInto(reason, out)
  return `${decoder.decode(out.subarray(0, written))}…`
}

const TOO_LARGE = 'closed: a frame was too large (over 64 KiB)'

/** The reason of an error event: `ws` says what went wrong (browsers say nothing). */
function errorReason(ev: SocketEvent): string {
  const detail = typeof ev.message === 'string' ? ev.message : ''
  // ws closes the socket with 1009 after this error: the remote sent a frame over maxPayload.
  if (/max payload/i.test(detail)) return TOO_LARGE
  return detail ? `connection lost (${detail})` : 'connection lost'
}

/** A reason for a close that came without one. */
function describeClose(code: number | undefined): string {
  switch (code) {
    case CLOSE_CODES.normal:
    case 1005: // no status code in the close frame
      return 'closed'
    case CLOSE_CODES.goingAway:
      return 'the other side went away'
    case 1006:
      return 'connection lost'
    case CLOSE_CODES.policy:
      return 'closed for a policy violation'
    case CLOSE_CODES.tooBig:
      return 'closed: a frame was too large'
    case CLOSE_CODES.tryAgainLater:
      return 'refused: try again later'
    default:
      return `closed (code ${code ?? 'unknown'})`
  }
}
