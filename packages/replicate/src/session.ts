/**
 * A secure session over a {@link Channel}: runs the {@link Handshake}, then seals every protocol
 * frame with ChaCha20-Poly1305 (noise-handshake's cipher, one key per direction, counter
 * nonces). It is the only code that touches raw wire frames.
 *
 * Why each rule:
 * - A sealed frame that fails to open closes the session: counter nonces mean a dropped,
 *   injected or altered frame desynchronises the stream for good, so a man in the middle that
 *   forwarded the handshake can neither read nor inject, only cut the line.
 * - The responder's first sealed frame is an empty *confirmation*: the initiator finishes
 *   first, so without it the initiator could not tell "accepted" from "refused after my last
 *   message" (wrong expected remote, unsupported version). Until it arrives the initiator still
 *   takes a plaintext abort, and so learns the reason.
 * - Oversized wire frames and frames of an unknown kind are dropped and reported (the
 *   connection counts them against the peer); they are never decrypted.
 * - The handshake is bounded by a timeout; a failure sends an abort with a reason code, then
 *   closes, so both sides end with a clear reason.
 */
import type { FeedId } from '@murmur/core'
import Cipher from 'noise-handshake/cipher.js'
import { type Channel, MAX_FRAME } from './channel.js'
import {
  ABORT,
  decodeFrame,
  encodeClose,
  isFrameError,
  MAX_PLAINTEXT,
  PROTOCOL_VERSION,
  TYPE,
  WIRE,
  wireAbort,
  wireHandshake,
  wireSealed,
} from './frames.js'
import { ABORT_REASONS, type AbortCode, Handshake, type HandshakeOptions } from './handshake.js'

/** Why a session closed. */
export type CloseCode =
  /** Wrong network key or channel binding. */
  | 'network-key'
  /** The handshake failed: malformed, unauthentic, out of turn, or the channel closed during it. */
  | 'handshake'
  /** The remote is not the expected peer. */
  | 'unexpected-remote'
  /** The remote speaks another protocol version. */
  | 'version'
  /** The handshake took too long. */
  | 'timeout'
  /** A sealed frame failed to authenticate: tampered, injected or lost. */
  | 'decrypt'
  /** This side disconnected the remote for sending too much invalid data. */
  | 'misbehaving'
  /** Closed by this side. */
  | 'local'
  /** Closed by the remote, which said why. */
  | 'remote'
  /** The channel closed under the session. */
  | 'channel'

/** How and why a session ended. */
export interface CloseInfo {
  readonly code: CloseCode
  /** A sentence for people (logs, status). */
  readonly reason: string
  /** True when the remote ended it (an abort, a CLOSE frame, or the channel). */
  readonly byRemote: boolean
}

/** Options of a {@link Session}. */
export interface SessionOptions extends HandshakeOptions {
  /** How long the handshake may take (ms). */
  handshakeTimeoutMs: number
}

/** What a session reports to its owner. */
export interface SessionHandlers {
  /** The handshake finished (and, on the initiator, the responder confirmed it). */
  ready(remote: FeedId): void
  /** A protocol frame (plaintext) from the remote, never empty. */
  frame(plaintext: Uint8Array): void
  /** A wire frame was dropped without being opened. */
  dropped(reason: 'oversized-frame' | 'bad-frame', detail: string): void
  /** The session ended (called once). */
  closed(info: CloseInfo): void
}

const ABORT_CODES: Record<AbortCode, CloseCode> = {
  [ABORT.networkKey]: 'network-key',
  [ABORT.handshake]: 'handshake',
  [ABORT.unexpectedRemote]: 'unexpected-remote',
  [ABORT.version]: 'version',
  [ABORT.timeout]: 'timeout',
}

// Noise's cipher puts a 32-bit counter in the nonce: never let it wrap.
const MAX_NONCE = 0xffff_fff0

type State = 'handshake' | 'confirming' | 'ready' | 'closed'

/** A Noise-secured session on one channel. */
export class Session {
  readonly channel: Channel
  readonly initiator: boolean
  #state: State = 'handshake'
  #remote: FeedId | undefined
  #remoteFeatures = 0
  #hs: Handshake | undefined
  #tx: Cipher | undefined
  #rx: Cipher | undefined
  #timer: ReturnType<typeof setTimeout> | undefined
  readonly #handlers: SessionHandlers
  readonly #unsubscribe: (() => void)[]

  /**
   * Starts the handshake at once (the initiator sends its first message).
   * @throws {RangeError} when the seed or network key is not 32 bytes.
   */
  constructor(channel: Channel, opts: SessionOptions, handlers: SessionHandlers) {
    this.channel = channel
    this.initiator = opts.initiator
    this.#handlers = handlers
    this.#hs = new Handshake(opts)
    this.#unsubscribe = [
      channel.onFrame((f) => this.#onWire(f)),
      channel.onClose((reason) =>
        this.#end({
          code: this.#state === 'ready' ? 'channel' : 'handshake',
          reason:
            this.#state === 'ready'
              ? `the channel closed: ${reason}`
              : `the channel closed during the handshake: ${reason}`,
          byRemote: true,
        }),
      ),
    ]
    this.#timer = setTimeout(() => this.#abort(ABORT.timeout), opts.handshakeTimeoutMs)
    if (this.initiator) this.#sendWire(wireHandshake(this.#hs.start()))
  }

  /** The remote's feed id, once the handshake has authenticated it. */
  get remote(): FeedId | undefined {
    return this.#remote
  }

  /** The feature flags of the remote's hello (frames.ts `FEATURE`), once the handshake is done. */
  get remoteFeatures(): number {
    return this.#remoteFeatures
  }

  /** True once frames can be sent. */
  get isReady(): boolean {
    return this.#state === 'ready'
  }

  /** True once closed. */
  get isClosed(): boolean {
    return this.#state === 'closed'
  }

  /** Bytes queued in the channel. */
  get bufferedAmount(): number {
    return this.channel.bufferedAmount
  }

  /**
   * Seals and sends one protocol frame. Returns false when the session is not ready (or closed).
   * @throws {RangeError} when the frame is empty or over {@link MAX_PLAINTEXT} bytes.
   */
  send(plaintext: Uint8Array): boolean {
    if (plaintext.length === 0 || plaintext.length > MAX_PLAINTEXT) {
      throw new RangeError(`a protocol frame is 1 to ${MAX_PLAINTEXT} bytes, got ${plaintext.length}`)
    }
    if (this.#state !== 'ready') return false
    return this.#seal(plaintext)
  }

  /** Closes the session: tells the remote why (sealed, once ready), then closes the channel. */
  close(code: CloseCode, reason: string): void {
    if (this.#state === 'closed') return
    if (this.#state === 'ready' && code !== 'decrypt') this.#seal(encodeClose(reason))
    this.#end({ code, reason, byRemote: false })
  }

  #seal(plaintext: Uint8Array): boolean {
    const tx = this.#tx as Cipher
    if (tx.nonce >= MAX_NONCE) {
      this.#end({ code: 'local', reason: 'the session used up its nonces; reconnect', byRemote: false })
      return false
    }
    return this.#sendWire(wireSealed(tx.encrypt(plaintext)))
  }

  #sendWire(frame: Uint8Array): boolean {
    try {
      this.channel.send(frame)
      return true
    } catch (cause) {
      this.#end({ code: 'channel', reason: `the channel failed: ${(cause as Error).message}`, byRemote: false })
      return false
    }
  }

  #onWire(wire: Uint8Array): void {
    if (this.#state === 'closed') return
    if (wire.length > MAX_FRAME) {
      this.#handlers.dropped('oversized-frame', `a frame of ${wire.length} bytes (the limit is ${MAX_FRAME})`)
      if (this.#state !== 'ready') this.#abort(ABORT.handshake, 'an oversized handshake frame')
      return
    }
    const kind = wire[0]
    if (this.#state === 'handshake') {
      if (kind === WIRE.handshake) this.#onHandshake(wire.subarray(1))
      else if (kind === WIRE.abort) this.#onAbort(wire)
      else this.#abort(ABORT.handshake, 'not a handshake frame')
      return
    }
    if (this.#state === 'confirming') {
      if (kind === WIRE.abort) this.#onAbort(wire)
      else if (kind !== WIRE.sealed) this.#abort(ABORT.handshake, 'no confirmation from the responder')
      else {
        const plain = this.#open(wire)
        if (plain === undefined) return
        if (plain.length !== 0) {
          this.#end({ code: 'handshake', reason: 'the responder did not confirm the handshake', byRemote: false })
          return
        }
        this.#becomeReady()
      }
      return
    }
    if (kind !== WIRE.sealed) {
      this.#handlers.dropped('bad-frame', `a wire frame of unknown kind ${kind}`)
      return
    }
    const plain = this.#open(wire)
    if (plain === undefined) return
    if (plain.length === 0) {
      this.#handlers.dropped('bad-frame', 'an empty sealed frame')
      return
    }
    if (plain[0] === ((PROTOCOL_VERSION << 5) | TYPE.close)) {
      const f = decodeFrame(plain)
      const said = !isFrameError(f) && f.type === 'close' ? printable(f.reason) : 'no reason'
      this.#end({ code: 'remote', reason: `the remote closed: ${said}`, byRemote: true })
      return
    }
    this.#handlers.frame(plain)
  }

  #open(wire: Uint8Array): Uint8Array | undefined {
    const rx = this.#rx as Cipher
    try {
      if (rx.nonce >= MAX_NONCE) throw new Error('nonces used up')
      return rx.decrypt(wire.subarray(1))
    } catch {
      this.#end({
        code: 'decrypt',
        reason: 'a frame failed to authenticate (tampered, injected or lost): the stream cannot go on',
        byRemote: false,
      })
      return undefined
    }
  }

  #onHandshake(message: Uint8Array): void {
    const step = (this.#hs as Handshake).receive(message)
    if (step.kind === 'fail') {
      this.#abort(step.code, undefined, step.reason)
      return
    }
    if (step.message) this.#sendWire(wireHandshake(step.message))
    if (step.kind === 'send') return
    this.#hs = undefined
    this.#remote = step.keys.remote
    this.#remoteFeatures = step.keys.features
    this.#tx = new Cipher(step.keys.tx)
    this.#rx = new Cipher(step.keys.rx)
    if (this.initiator) {
      this.#state = 'confirming'
      return
    }
    this.#state = 'ready'
    this.#seal(new Uint8Array(0)) // the confirmation (an empty plaintext: no protocol frame is empty)
    this.#becomeReady()
  }

  #becomeReady(): void {
    clearTimeout(this.#timer)
    this.#state = 'ready'
    this.#handlers.ready(this.#remote as FeedId)
  }

  #onAbort(wire: Uint8Array): void {
    const code = wire[1] as AbortCode
    const known = ABORT_CODES[code] !== undefined
    this.#end({
      code: known ? ABORT_CODES[code] : 'handshake',
      reason: `the remote ended the handshake: ${known ? ABORT_REASONS[code] : `unknown reason ${code}`}`,
      byRemote: true,
    })
  }

  #abort(code: AbortCode, detail?: string, reason?: string): void {
    if (this.#state === 'closed') return
    this.#sendWire(wireAbort(code))
    this.#end({
      code: ABORT_CODES[code],
      reason: reason ?? (detail ? `${ABORT_REASONS[code]} (${detail})` : ABORT_REASONS[code]),
      byRemote: false,
    })
  }

  #end(info: CloseInfo): void {
    if (this.#state === 'closed') return
    this.#state = 'closed'
    clearTimeout(this.#timer)
    for (const off of this.#unsubscribe) off()
    this.#hs = undefined
    try {
      this.channel.close(info.reason)
    } catch {
      // Already closed underneath, or the transport failed: the session is over either way.
    }
    this.#handlers.closed(info)
  }
}

/** Remote text made safe for a log line: control characters out, at most 200 characters. */
function printable(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping them is the point
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, ' ').slice(0, 200)
}
