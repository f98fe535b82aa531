/**
 * The receiving half of a connection: MSGS frames in, verified messages into the store.
 *
 * Frames wait in a queue (bounded by the credit window: flow.ts) and are taken a batch at a
 * time, in order: decode each message (core `decodeMsg`: size, canonical bytes, envelope,
 * schema), drop those of feeds we did not ask this peer for, verify every signature of the
 * batch (core `verifyMsgs`: each message's own, whatever its source), and append the rest in
 * one `store.appendMany`. Only then is the credit granted back, so a slow store slows the sender.
 *
 * Two stages, each a loop of its own, so they overlap: frames are checked (decoded and verified)
 * as they arrive, while the store appends what was checked before (its write mostly waits on
 * the database). An append takes everything checked by then (up to `batchMessages`) in one
 * `appendMany`, so the slower the store, the larger its batches — which is what the store is
 * fastest at (a feed's messages of one append are stored as one block). The first stage only
 * reads what the second may change (which feeds are welcome, which GETs are out), so the second
 * checks those again and drops, without blame, what became unwelcome meanwhile. Both stages
 * keep frame order, and credit is still granted back only once a frame's messages are appended.
 *
 * What the store refuses is sorted by whose fault it is:
 * - a `prev` that does not name our head is either a fork (the author's fault) or a chain the
 *   peer cannot back: we ask the peer for its message at our head's seq (GET); a different
 *   valid message there yields the fork proof, our own message or none back is the peer's fault;
 * - a gap is the peer's fault (it serves in order, from the seq we told it);
 * - anything of a forked feed is nobody's fault here: the proof is already kept.
 * A feed that a peer cannot serve correctly is no longer asked of that peer.
 *
 * Tails (clock.ts). The store takes a feed it holds nothing of at any seq (a suffix), so the rule
 * lives here: a first message past seq 1 is taken only of a feed we asked this peer for the tail
 * of; from a peer asked for the whole feed it is a broken chain. Two peers asked for a tail at
 * once may start at different seqs, and the first tail to arrive sets where the feed starts here;
 * the other peer's messages then fall before it (dropped without blame: its stream reaches ours)
 * or past our head (without blame too, and the peer is asked once to start again after our head:
 * an UNWANT then a CLOCK, as it only ever raises what it thinks we have). Once a message of the
 * peer's tail chains on what we hold, the peer is held to the usual rules again.
 */
import {
  decodeMsg,
  type Ed25519,
  type FeedId,
  type ForkProof,
  formatFeedId,
  type Msg,
  type Sha256,
  toHex,
  type VerifiedMsg,
  verifyMsgs,
} from '@murmur/core'
import type { Store } from '@murmur/store'
import type { RemoteClock } from './clock.js'
import type { PeerCounters, RejectReason } from './limits.js'

/** Whether a feed's messages are welcome from this peer. */
export type Welcome =
  /** Asked for. */
  | 'yes'
  /** Asked for earlier, not now: late messages are dropped without blame. */
  | 'was'
  /** Never asked for: the peer's fault. */
  | 'no'

/** What the ingest needs from its connection. */
export interface IngestDeps {
  readonly store: Store
  readonly ed: Ed25519
  readonly sha256: Sha256
  readonly remote: RemoteClock
  readonly counters: PeerCounters
  readonly batchMessages: number
  readonly maxRequests: number
  welcome(hex: string): Welcome
  penalize(reason: RejectReason, detail: string): void
  /** A fork was found in a message from this peer (the author's fault). */
  fork(proof: ForkProof): void
  /** Messages from this peer were appended. */
  appended(count: number): void
  /** Sends a GET for `feed`'s message at `seq`. */
  sendGet(feed: FeedId, seq: number): void
  /** This peer cannot serve `feed` correctly: stop asking it. */
  refuseFeed(hex: string, feed: FeedId): void
  /** True while we asked this peer for the tail of `hex` and nothing of it has chained here yet. */
  askedTail(hex: string): boolean
  /** A message of `hex` from this peer chained on what we hold: its tail is settled. */
  tailChained(hex: string): void
  /** This peer's tail of `feed` starts past our head: ask it (once) to start after our head. */
  tailAhead(hex: string, feed: FeedId): void
  /** Bytes of frames handled: credit to grant back (`idle` when the queue is empty). */
  handled(bytes: number, idle: boolean): void
  /** A local failure (the store closed): the connection ends. */
  fail(err: unknown): void
}

interface Queued {
  readonly msgs: Uint8Array[]
  readonly bytes: number
}

/** A batch through the first stage: decoded messages, each with its author (hex) and verdict. */
interface Checked {
  readonly decoded: Msg[]
  readonly hexes: string[]
  readonly verified: (VerifiedMsg | undefined)[]
  readonly bytes: number
}

const requestKey = (hex: string, seq: number): string => `${hex}:${seq}`

/** The receiving half of one connection. */
export class Ingest {
  readonly #d: IngestDeps
  /** Frames not checked yet. */
  readonly #queue: Queued[] = []
  /** Checked, not appended yet. */
  readonly #checked: Checked[] = []
  /** GETs sent and not answered, by `hex:seq`. */
  readonly #requests = new Set<string>()
  /** Feeds whose chain broke at our head: the seq we asked for to tell a fork from a fault. */
  readonly #forkChecks = new Map<string, number>()
  #checking = false
  #appending = false
  #closed = false

  constructor(deps: IngestDeps) {
    this.#d = deps
  }

  /** Queues the messages of a MSGS frame of `bytes` bytes (its credit was taken). */
  push(msgs: Uint8Array[], bytes: number): void {
    if (this.#closed) return
    this.#queue.push({ msgs, bytes })
    if (!this.#checking) void this.#checkLoop()
  }

  /**
   * Asks the peer for `feed`'s message at `seq` (fork evidence). Returns false when too many
   * requests are outstanding.
   */
  request(feed: FeedId, seq: number, hex = toHex(feed)): boolean {
    const key = requestKey(hex, seq)
    if (this.#requests.has(key)) return true
    if (this.#requests.size >= this.#d.maxRequests) return false
    this.#requests.add(key)
    this.#d.sendGet(feed, seq)
    return true
  }

  /** The peer does not hold `feed`'s message at `seq` (a NONE answer). */
  onNone(feed: FeedId, seq: number): void {
    const hex = toHex(feed)
    if (!this.#requests.delete(requestKey(hex, seq))) {
      this.#d.penalize('unwanted', `a NONE for ${formatFeedId(feed)}:${seq} that was not asked for`)
      return
    }
    if (this.#forkChecks.get(hex) === seq) this.#unbacked(hex, feed, 'it cannot show the message its chain builds on')
  }

  /** Stops: queued frames are dropped. */
  close(): void {
    this.#closed = true
    this.#queue.length = 0
    this.#checked.length = 0
  }

  // Each loop checks its queue and clears its flag in one synchronous step after its last
  // await, so an item pushed meanwhile is never left waiting.
  async #checkLoop(): Promise<void> {
    this.#checking = true
    try {
      while (this.#queue.length > 0 && !this.#closed) {
        const checked = await this.#check(this.#take())
        if (this.#closed) return
        this.#checked.push(checked)
        if (!this.#appending) void this.#appendLoop()
      }
    } catch (err) {
      this.#d.fail(err)
    } finally {
      this.#checking = false
    }
  }

  async #appendLoop(): Promise<void> {
    this.#appending = true
    try {
      while (this.#checked.length > 0 && !this.#closed) {
        const batch = this.#takeChecked()
        await this.#append(batch)
        if (this.#closed) return
        const idle = this.#queue.length === 0 && this.#checked.length === 0 && !this.#checking
        this.#d.handled(batch.bytes, idle)
      }
    } catch (err) {
      this.#d.fail(err)
    } finally {
      this.#appending = false
    }
  }

  /** Takes what was checked, in order, up to about `batchMessages` messages, as one batch. */
  #takeChecked(): Checked {
    const first = this.#checked.shift() as Checked
    if (this.#checked.length === 0) return first
    const decoded = [...first.decoded]
    const hexes = [...first.hexes]
    const verified = [...first.verified]
    let bytes = first.bytes
    while (this.#checked.length > 0) {
      const next = this.#checked[0] as Checked
      if (decoded.length + next.decoded.length > this.#d.batchMessages) break
      this.#checked.shift()
      for (const m of next.decoded) decoded.push(m)
      for (const h of next.hexes) hexes.push(h)
      for (const v of next.verified) verified.push(v)
      bytes += next.bytes
    }
    return { decoded, hexes, verified, bytes }
  }

  /** Takes the frames at the head of the queue, up to about `batchMessages` messages. */
  #take(): Queued {
    const msgs: Uint8Array[] = []
    let bytes = 0
    while (this.#queue.length > 0 && msgs.length < this.#d.batchMessages) {
      const q = this.#queue.shift() as Queued
      for (const m of q.msgs) msgs.push(m)
      bytes += q.bytes
    }
    return { msgs, bytes }
  }

  /**
   * The first stage: decodes the batch, drops messages of feeds not asked of this peer, and
   * verifies the signatures of the rest. Touches nothing the second stage relies on.
   */
  async #check(batch: Queued): Promise<Checked> {
    const d = this.#d
    const decoded: Msg[] = []
    const hexes: string[] = []
    const welcomes = new Map<string, Welcome>() // per feed, for this batch
    for (const bytes of batch.msgs) {
      const r = decodeMsg(bytes, d.sha256)
      if (!r.ok) {
        d.penalize(r.code, r.reason)
        continue
      }
      const { author, seq } = r.value.value
      const hex = toHex(author)
      if (!this.#asked(hex, seq)) {
        let welcome = welcomes.get(hex)
        if (welcome === undefined) {
          welcome = this.#forkChecks.has(hex) ? 'was' : d.welcome(hex)
          welcomes.set(hex, welcome)
        }
        if (welcome !== 'yes') {
          if (welcome === 'no') d.penalize('unwanted', `a message of ${formatFeedId(author)}, which was not asked for`)
          continue
        }
      }
      decoded.push(r.value)
      hexes.push(hex)
    }
    const verified = decoded.length === 0 ? [] : await verifyMsgs(d.ed, decoded)
    return { decoded, hexes, verified, bytes: batch.bytes }
  }

  /** The second stage, in frame order: appends what may be appended and sorts out the rest. */
  async #append({ decoded, hexes, verified }: Checked): Promise<void> {
    const d = this.#d
    const good: VerifiedMsg[] = []
    const goodHexes: string[] = []
    const goodAsked: boolean[] = []
    // Per feed in this batch: whether it may start here (held, tail asked, or started earlier).
    const starts = new Map<string, boolean>()
    // Per feed: still welcome (not refused nor put under a fork check while this batch was
    // being verified; one refused in this loop has `starts` false from then on).
    const welcome = new Map<string, boolean>()
    for (let i = 0; i < decoded.length; i++) {
      const v = verified[i]
      const m = decoded[i] as Msg
      const hex = hexes[i] as string
      const asked = this.#asked(hex, m.value.seq)
      let ok = welcome.get(hex)
      if (ok === undefined) {
        ok = !this.#forkChecks.has(hex) && d.welcome(hex) === 'yes'
        welcome.set(hex, ok)
      }
      if (!asked && !ok) continue
      if (!v) {
        d.penalize(
          'bad-signature',
          `${formatFeedId(m.value.author)}:${m.value.seq} has a signature that does not verify`,
        )
        continue
      }
      if (!asked && !(starts.get(hex) ?? (await this.#mayStart(m, hex, starts)))) continue
      // Only now, verified, does it tell us what the peer has (so nothing is echoed back to it).
      d.remote.noteHas(hex, m.value.seq)
      good.push(v)
      goodHexes.push(hex)
      goodAsked.push(asked)
    }
    if (good.length === 0 || this.#closed) return
    const results = await d.store.appendMany(good)
    let appended = 0
    for (let i = 0; i < results.length; i++) {
      const r = results[i]
      const m = good[i] as Msg
      const hex = goodHexes[i] as string
      const wasAsked = goodAsked[i] === true && this.#requests.delete(requestKey(hex, m.value.seq))
      const checking = this.#forkChecks.get(hex) === m.value.seq && wasAsked
      if (checking) this.#forkChecks.delete(hex)
      if (r?.kind === 'appended' || r?.kind === 'duplicate') d.tailChained(hex)
      switch (r?.kind) {
        case 'appended':
          appended++
          break
        case 'duplicate':
          d.counters.duplicates++
          // Our own message at the seq its chain should build on: the chain it sent is unbacked.
          if (checking) this.#unbacked(hex, m.value.author, 'its next message names another message as prev')
          break
        case 'forked':
          d.counters.forks++
          d.fork(r.proof)
          break
        case 'refused':
          if (r.code === 'FEED_FORKED') d.counters.forkedRefused++
          else if (!wasAsked) await this.#notNext(m, hex, r.reason)
          break
      }
    }
    if (appended > 0) d.appended(appended)
  }

  /** True when a GET of ours asked this peer for `hex`'s message at `seq`. */
  #asked(hex: string, seq: number): boolean {
    return this.#requests.size > 0 && this.#requests.has(requestKey(hex, seq))
  }

  /**
   * False when `m` would start a feed we hold nothing of past seq 1 and we did not ask this peer
   * for its tail (the peer's fault: it serves from the seq we told it, 0): counted, and the feed
   * no longer asked of it. Messages after such a one in the same batch are dropped quietly.
   */
  async #mayStart(m: Msg, hex: string, starts: Map<string, boolean>): Promise<boolean> {
    let ok = starts.get(hex)
    if (ok === undefined) {
      const { author, seq } = m.value
      ok = seq === 1 || this.#d.askedTail(hex) || (await this.#d.store.feedState(author)) !== undefined
      starts.set(hex, ok)
      if (!ok) {
        this.#d.penalize(
          'broken-chain',
          `${formatFeedId(author)} starts at seq ${seq}, and no tail of it was asked for`,
        )
        this.#d.refuseFeed(hex, author)
      }
    }
    return ok
  }

  async #notNext(m: Msg, hex: string, reason: string): Promise<void> {
    const { author, seq } = m.value
    // Later messages of a chain under check, or of a feed already refused in this batch.
    if (this.#forkChecks.has(hex) || this.#d.welcome(hex) !== 'yes') return
    const state = await this.#d.store.feedState(author)
    if (state && this.#d.askedTail(hex) && (seq < state.first || seq > state.seq + 1)) {
      // Another peer's tail got here first and set where the feed starts (see the note above).
      this.#d.counters.duplicates++
      if (seq > state.seq + 1) this.#d.tailAhead(hex, author)
      return
    }
    if (state && seq === state.seq + 1 && !state.forked) {
      // `prev` names another message than our head: a fork, or a chain the peer cannot back.
      if (this.request(author, state.seq, hex)) {
        this.#forkChecks.set(hex, state.seq)
        return
      }
    }
    this.#d.penalize('broken-chain', reason)
    this.#d.refuseFeed(hex, author)
  }

  #unbacked(hex: string, feed: FeedId, why: string): void {
    this.#forkChecks.delete(hex)
    this.#d.penalize('broken-chain', `${formatFeedId(feed)}: ${why}`)
    this.#d.refuseFeed(hex, feed)
  }
}
