/**
 * Signalling relay: WebRTC offers, answers and candidates between two peers that share a
 * neighbour, in SIGNAL frames (frames.ts), one hop at most.
 *
 * How it works
 * - Sending ({@link SignalRouter.send}): to the target directly when a connection to it reads
 *   SIGNAL; otherwise to up to {@link MAX_RELAYS} neighbours that read it, asking them to relay.
 *   Either way the frame is unrelayed and its `from` is this peer.
 * - Receiving (the connection checks first, see connection.ts): an unrelayed frame's `from` must
 *   be the connection's authenticated remote, or it is counted as invalid and dropped; a relayed
 *   frame must be for us (a relay sends it only to its target). Here a frame for us becomes a
 *   `signal` event with `via` = the connection's remote; an unrelayed frame for another feed is
 *   forwarded once, flagged relayed, to a connection of ours to that feed that reads SIGNAL; if
 *   there is none it is dropped without blame (the target may just have left).
 *
 * Why a receiver can trust `from`: only the originator's own neighbour writes it into a relayed
 * frame, after checking it against the Noise-authenticated remote; so a relayed `from` is as
 * true as the relay is honest, and the WebRTC connection that follows authenticates the real
 * identity anyway (both DTLS fingerprints are bound into its Noise prologue). One hop only, so
 * a frame cannot loop, and every SIGNAL a connection sends is rate-limited (count and bytes,
 * limits.ts) before it is delivered or relayed.
 */
import { equalBytes, type FeedId, MurmurError } from '@murmur/core'
import { encodeSignal, MAX_SIGNAL_PAYLOAD, type SignalFrame } from './frames.js'

/** The most neighbours asked to relay one signal. */
export const MAX_RELAYS = 8

/** What the router needs of a connection. */
export interface SignalLink {
  /** The authenticated remote, once ready. */
  readonly remote: FeedId | undefined
  /** True when the connection is ready and both sides speak SIGNAL. */
  readsSignal(): boolean
  /** Sends a SIGNAL frame; false when it could not. */
  sendSignal(frame: Uint8Array): boolean
}

/** A signal delivered to this peer. */
export interface SignalReceived {
  /** The originator (checked by the relay, or by us when it came directly). */
  readonly from: FeedId
  /** The neighbour it came through (`from` itself when direct). */
  readonly via: FeedId
  readonly payload: Uint8Array
}

/** What a {@link SignalRouter} needs. */
export interface SignalDeps {
  /** This peer's feed. */
  readonly me: FeedId
  /** The current connections. */
  links(): Iterable<SignalLink>
  /** A signal for us arrived. */
  deliver(signal: SignalReceived): void
}

/** Routes SIGNAL frames for one replicator. */
export class SignalRouter {
  readonly #d: SignalDeps
  /** Frames forwarded for others, and dropped because the link to the target had no room, for status. */
  relayed = 0
  dropped = 0

  constructor(deps: SignalDeps) {
    this.#d = deps
  }

  /**
   * Sends `payload` to `to`: directly when connected to it, else through neighbours. Returns
   * whether it went anywhere.
   * @throws {MurmurError} `INVALID_ARGUMENT` when `to` is not a 32-byte feed id or the payload is
   * not 1 to {@link MAX_SIGNAL_PAYLOAD} bytes.
   */
  send(to: FeedId, payload: Uint8Array): boolean {
    if (!(to instanceof Uint8Array) || to.length !== 32) {
      throw new MurmurError('INVALID_ARGUMENT', 'a signal goes to a 32-byte feed id')
    }
    if (!(payload instanceof Uint8Array) || payload.length === 0 || payload.length > MAX_SIGNAL_PAYLOAD) {
      throw new MurmurError('INVALID_ARGUMENT', `a signal payload is 1 to ${MAX_SIGNAL_PAYLOAD} bytes`)
    }
    const frame = encodeSignal({ to, from: this.#d.me, relayed: false, payload })
    const direct = this.#linkTo(to)
    if (direct) return direct.sendSignal(frame)
    let sent = 0
    for (const link of this.#d.links()) {
      if (sent >= MAX_RELAYS) break
      if (link.readsSignal() && link.sendSignal(frame)) sent++
    }
    return sent > 0
  }

  /** A checked SIGNAL frame arrived on `link` (see the note at the top). */
  receive(link: SignalLink, f: SignalFrame): void {
    const via = link.remote
    if (!via) return
    if (equalBytes(f.to, this.#d.me)) {
      this.#d.deliver({ from: f.from, via, payload: f.payload })
      return
    }
    if (f.relayed) return // one hop only (the connection already counted it against the relay)
    const target = this.#linkTo(f.to)
    if (!target || target === link) return
    if (target.sendSignal(encodeSignal({ to: f.to, from: via, relayed: true, payload: f.payload }))) this.relayed++
    else this.dropped++
  }

  #linkTo(feed: FeedId): SignalLink | undefined {
    for (const link of this.#d.links()) {
      const remote = link.remote
      if (remote && equalBytes(remote, feed) && link.readsSignal()) return link
    }
    return undefined
  }
}
