/**
 * The handshake: Noise XXpsk0 over ed25519 identity keys (noise-handshake, with ./curve.ts as its curve,
 * as the Hypercore ecosystem uses them), as a pure state machine with no I/O (session.ts moves
 * its messages).
 *
 * - **Identity**: each side's static key is its feed's ed25519 keypair, so the remote static
 *   key that XX reveals, encrypted, *is* the remote feed id, authenticated by the
 *   Diffie-Hellman that only its secret key can complete. No signature is made, so nothing
 *   signed here can ever pass as a message on a feed (DESIGN.md "Formats": domain separation).
 * - **Network key** as the `psk0` pre-shared key: it is never sent; a peer without it fails to
 *   authenticate the very first message, so the responder learns of a wrong key at once.
 * - **Prologue** `"murmur/replicate/v1" ‖ binding`: both sides must agree on it or the first
 *   message fails the same way. Over WebRTC the binding holds both DTLS fingerprints, so the
 *   neighbour that relayed the offer and answer cannot sit in the middle.
 * - **Payloads**: the responder's and the initiator's hello (protocol version and feature flags)
 *   ride in messages 2 and 3, encrypted and bound to the transcript.
 * The split yields one ChaCha20-Poly1305 key per direction; every later frame is sealed with it.
 */
import { defaultSha256, equalBytes, type FeedId, isCanonicalEncoding, isSmallOrderEncoding, utf8 } from '@murmur/core'
import Noise from 'noise-handshake'
import curve from './curve.js'
import { ABORT, decodeHello, encodeHello, FEATURES, helloFeatures, PROTOCOL_VERSION } from './frames.js'

/** The network key of Murmur's public network: sha256("murmur/network/v1/public"). */
export const PUBLIC_NETWORK_KEY: Uint8Array = defaultSha256(utf8('murmur/network/v1/public'))

/** The fixed part of the Noise prologue; the channel binding follows it. */
export const PROLOGUE = utf8('murmur/replicate/v1')

const PATTERN = 'XXpsk0'

/** Options of a {@link Handshake}. */
export interface HandshakeOptions {
  /** True on the side that speaks first. */
  initiator: boolean
  /** The 32-byte ed25519 seed of this peer's identity (its feed). */
  seed: Uint8Array
  /** The 32-byte network key (default {@link PUBLIC_NETWORK_KEY}). */
  networkKey: Uint8Array
  /** Bytes both sides must agree on (e.g. both DTLS fingerprints), bound into the prologue. */
  binding?: Uint8Array
  /** When set, the handshake fails unless the remote is this feed. */
  expectedRemote?: FeedId
  /** The feature flags this side's hello announces (default {@link FEATURES}: all it speaks). */
  features?: number
}

/** What a finished handshake yields. */
export interface SessionKeys {
  /** The remote's feed id: its authenticated static key. */
  readonly remote: FeedId
  /** The key this side seals with. */
  readonly tx: Uint8Array
  /** The key this side opens with. */
  readonly rx: Uint8Array
  /** The handshake hash (the transcript), the same on both sides. */
  readonly hash: Uint8Array
  /** The feature flags of the remote's hello (frames.ts `FEATURE`). */
  readonly features: number
}

/** An abort code of frames.ts `ABORT`. */
export type AbortCode = (typeof ABORT)[keyof typeof ABORT]

/** The next step after a handshake message. */
export type HandshakeStep =
  | { readonly kind: 'send'; readonly message: Uint8Array }
  | { readonly kind: 'done'; readonly message?: Uint8Array; readonly keys: SessionKeys }
  | { readonly kind: 'fail'; readonly code: AbortCode; readonly reason: string }

/** The reason text of each abort code, from this side's point of view. */
export const ABORT_REASONS: Record<AbortCode, string> = {
  [ABORT.networkKey]: 'wrong network key (or channel binding): the handshake does not authenticate',
  [ABORT.handshake]: 'the handshake failed: a malformed or unauthentic handshake message',
  [ABORT.unexpectedRemote]: 'the remote is not the expected peer',
  [ABORT.version]: 'the remote speaks another protocol version',
  [ABORT.timeout]: 'the handshake timed out',
}

const fail = (code: AbortCode, detail?: string): HandshakeStep => ({
  kind: 'fail',
  code,
  reason: detail ? `${ABORT_REASONS[code]} (${detail})` : ABORT_REASONS[code],
})

/**
 * One side of the Noise XXpsk0 handshake. The initiator calls {@link start} and sends its
 * result; each side then feeds every handshake message it receives to {@link receive} and does
 * what the returned step says. Never throws on remote data.
 */
export class Handshake {
  readonly #noise: Noise
  readonly #initiator: boolean
  readonly #expected: FeedId | undefined
  readonly #hello: Uint8Array
  #remoteFeatures = 0
  #step = 0

  /** @throws {RangeError} when the seed or network key is not 32 bytes. */
  constructor(opts: HandshakeOptions) {
    if (opts.seed.length !== 32) throw new RangeError('an identity seed is 32 bytes')
    if (opts.networkKey.length !== 32) throw new RangeError('a network key is 32 bytes')
    // The ed25519 keypair of the seed as libsodium's crypto_sign_seed_keypair gives it (secret
    // key = seed ‖ public key), computed by the curve so no libsodium reaches the browser bundle.
    const { publicKey, secretKey } = curve.generateKeyPair(opts.seed)
    this.#initiator = opts.initiator
    this.#expected = opts.expectedRemote
    this.#hello = encodeHello(opts.features ?? FEATURES)
    this.#noise = new Noise(PATTERN, opts.initiator, { publicKey, secretKey }, { curve, psk: opts.networkKey })
    const binding = opts.binding ?? new Uint8Array(0)
    const prologue = new Uint8Array(PROLOGUE.length + binding.length)
    prologue.set(PROLOGUE)
    prologue.set(binding, PROLOGUE.length)
    this.#noise.initialise(prologue)
  }

  /**
   * The initiator's first message (ephemeral key and an empty payload, keyed by the network key).
   * @throws {RangeError} on the responder, or when called twice.
   */
  start(): Uint8Array {
    if (!this.#initiator || this.#step !== 0) throw new RangeError('only the initiator starts, once')
    this.#step = 1
    return this.#noise.send()
  }

  /** Takes the remote's next handshake message. */
  receive(message: Uint8Array): HandshakeStep {
    if (this.#initiator) {
      if (this.#step !== 1) return fail(ABORT.handshake, 'a handshake message out of turn')
      this.#step = 2
      // <- e, ee, s, es, hello
      let hello: Uint8Array
      try {
        hello = this.#noise.recv(message)
      } catch {
        return fail(ABORT.handshake, 'the second message does not authenticate')
      }
      const bad = this.#checkRemote() ?? this.#checkHello(hello)
      if (bad) return bad
      // -> s, se, hello
      const reply = this.#noise.send(this.#hello)
      return { kind: 'done', message: reply, keys: this.#keys() }
    }
    if (this.#step === 0) {
      this.#step = 1
      // <- psk, e: the payload is keyed by the network key and the prologue.
      try {
        this.#noise.recv(message)
      } catch {
        // Too short to be a first message is garbage; the right length that fails is a key mismatch.
        return message.length >= 48 ? fail(ABORT.networkKey) : fail(ABORT.handshake, 'the first message is too short')
      }
      return { kind: 'send', message: this.#noise.send(this.#hello) }
    }
    if (this.#step !== 1) return fail(ABORT.handshake, 'a handshake message out of turn')
    this.#step = 2
    let hello: Uint8Array
    try {
      hello = this.#noise.recv(message)
    } catch {
      return fail(ABORT.handshake, 'the third message does not authenticate')
    }
    const bad = this.#checkRemote() ?? this.#checkHello(hello)
    return bad ?? { kind: 'done', keys: this.#keys() }
  }

  #checkRemote(): HandshakeStep | undefined {
    const rs = this.#noise.rs
    // The DH already fails on small-order points; refusing them here too keeps the rule explicit.
    if (rs?.length !== 32 || !isCanonicalEncoding(rs) || isSmallOrderEncoding(rs)) {
      return fail(ABORT.handshake, 'the remote static key is not a valid ed25519 key')
    }
    if (this.#expected && !equalBytes(rs, this.#expected)) return fail(ABORT.unexpectedRemote)
    return undefined
  }

  #checkHello(hello: Uint8Array): HandshakeStep | undefined {
    const version = decodeHello(hello)
    if (version !== PROTOCOL_VERSION) return fail(ABORT.version, `version ${version}`)
    this.#remoteFeatures = helloFeatures(hello)
    return undefined
  }

  #keys(): SessionKeys {
    const n = this.#noise
    if (!n.complete || !n.rs || !n.tx || !n.rx || !n.hash) throw new Error('the Noise handshake did not complete')
    return { remote: new Uint8Array(n.rs), tx: n.tx, rx: n.rx, hash: n.hash, features: this.#remoteFeatures }
  }
}
