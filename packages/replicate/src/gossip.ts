/**
 * Gossip without waste: when several neighbours can serve a feed, one streams it and the others
 * only say how far they are, so a new message is downloaded once, not once per neighbour
 * (Scuttlebutt's epidemic broadcast trees, reduced to what this protocol needs).
 *
 * How it works
 * - A *candidate* for a feed is a ready connection that speaks REQUEST (frames.ts `FEATURE`
 *   `.gossip`), has said how far it holds the feed (its CLOCK or a HAVE note) and was not
 *   refused it. Peers of before the feature are never candidates: they stream as they always
 *   did, and a feed with one candidate is streamed by it as today.
 * - Per wanted feed one candidate is the *source* (asked `stream`); every other candidate is
 *   asked `notify`: it stops streaming the feed and sends a HAVE note when its head passes ours.
 * - Choosing: the feed's author when it is a candidate (it is always ahead); else one chosen at
 *   random among those ahead of us, else among all. A new candidate that is ahead takes over
 *   from a source that is not (what it holds is the catch-up); otherwise the source stays.
 * - Stall: when a notifying neighbour says it is ahead, a timer of `stallMs` starts with that
 *   seq as its target. If the source has not delivered up to the target by then, the neighbour
 *   furthest ahead becomes the source (the old one is asked for notes). A source that streams
 *   with less lag than `stallMs` is never replaced, however often notes race ahead of it.
 * - When the source closes, another candidate is chosen at once.
 * - When a feed becomes wanted while candidates are known ({@link Gossip.modeFor}), the choice
 *   is made at once and the REQUEST goes before the CLOCK (the remote keeps a notify asked for
 *   a feed it has not been asked for yet), so its catch-up is streamed by one neighbour only.
 * Each feed starts in `stream` on a new connection (the default on both sides: its clock is not
 * in yet), so at connect time a catch-up may overlap briefly until the clocks are in; after that
 * only one neighbour streams. The source's own head is not tracked (it sends no notes while
 * streaming), which is why falling behind is detected by time, not by comparing seqs.
 */
import { equalBytes, type FeedId } from '@murmur/core'
import type { GossipMode } from './frames.js'

/** What gossip needs of a connection. */
export interface GossipLink {
  /** The authenticated remote, once ready. */
  readonly remote: FeedId | undefined
  /** True when the link may be asked to stream or notify feed `hex` (see "candidate" above). */
  canSource(hex: string): boolean
  /** The latest seq of `feed` the remote said it holds. */
  remoteSeq(feed: FeedId): number | undefined
  /** Asks the remote to serve `feed` in `mode` (sent only when it changes). */
  request(feed: FeedId, hex: string, mode: GossipMode): void
}

/** What a {@link Gossip} needs. */
export interface GossipDeps {
  /** The current connections. */
  links(): Iterable<GossipLink>
  /** True while feed `hex` is wanted. */
  wants(hex: string): boolean
  /** The latest seq of `feed` held here (0: none). */
  held(feed: FeedId): Promise<number>
  /** How long a source may lag behind a neighbour's note before it is replaced (ms). */
  readonly stallMs: number
  /** Random numbers in [0, 1) (tests pass a fixed sequence). */
  readonly random?: () => number
}

interface FeedGossip {
  readonly feed: FeedId
  source: GossipLink | undefined
  /** Candidates already considered once (a newcomer that is ahead may take over). */
  readonly seen: Set<GossipLink>
  timer: ReturnType<typeof setTimeout> | undefined
  /** The seq a neighbour said it held when the stall timer started. */
  target: number
  /**
   * Sources replaced for stalling: not chosen again, and their claims start no stall timer,
   * until what they claimed is held (a neighbour that says it has more than it sends would
   * otherwise win every switch and delay every message by the stall time).
   */
  readonly stalled: Set<GossipLink>
}

/** Chooses, per wanted feed, which neighbour streams it. */
export class Gossip {
  readonly #d: GossipDeps
  readonly #feeds = new Map<string, FeedGossip>()
  readonly #random: () => number
  /** Sources replaced because they stalled. */
  switches = 0
  #closed = false

  constructor(deps: GossipDeps) {
    this.#d = deps
    this.#random = deps.random ?? Math.random
  }

  /** The neighbour streaming feed `hex` now (undefined when none is chosen). */
  sourceOf(hex: string): GossipLink | undefined {
    return this.#feeds.get(hex)?.source
  }

  /** `link`'s remote said it holds `feed` to a higher seq than before (or for the first time). */
  told(link: GossipLink, hex: string, feed: FeedId): void {
    if (this.#closed || !link.canSource(hex)) return
    void this.#consider(hex, feed).catch(() => {})
  }

  /**
   * The mode to ask `link` for when feed `hex` is announced to it (held here to `held`): decided
   * at once, so the REQUEST can go before the CLOCK and a catch-up that another neighbour
   * streams is not streamed by this one too.
   */
  modeFor(link: GossipLink, hex: string, feed: FeedId, held: number): GossipMode {
    if (this.#closed || !link.canSource(hex)) return 'stream'
    const cands = this.#candidates(hex)
    let g = this.#feeds.get(hex)
    if (!g) {
      g = { feed, source: undefined, seen: new Set(), timer: undefined, target: 0, stalled: new Set() }
      this.#feeds.set(hex, g)
    }
    for (const l of cands) g.seen.add(l)
    if (!g.source || !cands.includes(g.source)) g.source = this.#pick(cands, feed, held)
    this.#watch(g, hex, cands, held)
    return link === g.source ? 'stream' : 'notify'
  }

  /** `link` closed: feeds it was the source of get another at once. */
  closed(link: GossipLink): void {
    for (const [hex, g] of this.#feeds) {
      g.stalled.delete(link)
      if (!g.seen.delete(link) && g.source !== link) continue
      if (!this.#candidates(hex).some((l) => l !== link)) {
        this.forget([hex])
        continue
      }
      if (g.source !== link) continue
      g.source = undefined
      void this.#consider(hex, g.feed).catch(() => {})
    }
  }

  /** Feeds no longer wanted. */
  forget(hexes: Iterable<string>): void {
    for (const hex of hexes) {
      clearTimeout(this.#feeds.get(hex)?.timer)
      this.#feeds.delete(hex)
    }
  }

  /** Stops every timer. */
  close(): void {
    this.#closed = true
    for (const g of this.#feeds.values()) clearTimeout(g.timer)
    this.#feeds.clear()
  }

  // ---------------------------------------------------------------------------------------------

  #candidates(hex: string): GossipLink[] {
    const out: GossipLink[] = []
    for (const link of this.#d.links()) if (link.canSource(hex)) out.push(link)
    return out
  }

  async #consider(hex: string, feed: FeedId): Promise<void> {
    if (!this.#d.wants(hex)) return
    const first = this.#candidates(hex)
    if (first.length === 0) return
    if (first.length === 1 && !this.#feeds.has(hex)) {
      // One neighbour streams it, as without gossip; remembered (no store read), so that it
      // stays the source when a second one comes.
      this.#feeds.set(hex, {
        feed,
        source: first[0],
        seen: new Set(first),
        timer: undefined,
        target: 0,
        stalled: new Set(),
      })
      return
    }
    const held = await this.#d.held(feed)
    // Decided from the state after the read, in one synchronous step.
    const cands = this.#candidates(hex)
    let g = this.#feeds.get(hex)
    if (this.#closed || !this.#d.wants(hex)) return
    if (cands.length === 0) {
      if (g) this.forget([hex])
      return
    }
    if (!g) {
      g = { feed, source: undefined, seen: new Set(), timer: undefined, target: 0, stalled: new Set() }
      this.#feeds.set(hex, g)
    }
    const told = (l: GossipLink): number => l.remoteSeq(feed) ?? 0
    if (g.source && !cands.includes(g.source)) g.source = undefined
    const fresh = cands.filter((l) => !g.seen.has(l))
    for (const l of fresh) g.seen.add(l)
    if (!g.source) g.source = this.#pick(cands, feed, held)
    else if (told(g.source) <= held && !this.#isAuthor(g.source, feed)) {
      const ahead = fresh.filter((l) => told(l) > held)
      if (ahead.length > 0) g.source = this.#pick(ahead, feed, held)
    }
    this.#apply(g, hex, cands)
    this.#watch(g, hex, cands, held)
  }

  #apply(g: FeedGossip, hex: string, cands: readonly GossipLink[]): void {
    for (const l of cands) l.request(g.feed, hex, l === g.source ? 'stream' : 'notify')
  }

  /** Starts the stall timer when a notifying neighbour is ahead of what is held. */
  #watch(g: FeedGossip, hex: string, cands: readonly GossipLink[], held: number): void {
    if (g.timer || this.#closed) return
    for (const l of g.stalled) if ((l.remoteSeq(g.feed) ?? 0) <= held) g.stalled.delete(l)
    let target = 0
    for (const l of cands) {
      if (l !== g.source && !g.stalled.has(l)) target = Math.max(target, l.remoteSeq(g.feed) ?? 0)
    }
    if (target <= held) return
    g.target = target
    g.timer = setTimeout(() => {
      g.timer = undefined
      void this.#stalled(hex, g).catch(() => {})
    }, this.#d.stallMs)
  }

  async #stalled(hex: string, g: FeedGossip): Promise<void> {
    const held = await this.#d.held(g.feed)
    if (this.#feeds.get(hex) !== g) return
    const cands = this.#candidates(hex)
    if (held < g.target) {
      // The source did not deliver what a neighbour had then: the one furthest ahead takes over.
      let best: GossipLink | undefined
      let bestSeq = held
      for (const l of cands) {
        const seq = l.remoteSeq(g.feed) ?? 0
        if (g.stalled.has(l) && seq > held) continue
        if (l !== g.source && (seq > bestSeq || (seq === bestSeq && best && this.#random() < 0.5))) {
          best = l
          bestSeq = seq
        }
      }
      if (best) {
        if (g.source) g.stalled.add(g.source)
        g.source = best
        this.switches++
        this.#apply(g, hex, cands)
      }
    }
    this.#watch(g, hex, cands, held)
  }

  #isAuthor(link: GossipLink, feed: FeedId): boolean {
    const remote = link.remote
    return remote !== undefined && equalBytes(remote, feed)
  }

  #pick(cands: readonly GossipLink[], feed: FeedId, held: number): GossipLink | undefined {
    const author = cands.find((l) => this.#isAuthor(l, feed))
    if (author) return author
    const ahead = cands.filter((l) => (l.remoteSeq(feed) ?? 0) > held)
    const pool = ahead.length > 0 ? ahead : cands
    return pool[Math.floor(this.#random() * pool.length)]
  }
}
