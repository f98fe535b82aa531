/**
 * Clocks: for each feed a side wants, the latest seq it holds and the first 8 bytes of that
 * message's id digest. The seq tells the other side where to start sending; the prefix lets it
 * notice two branches at the same seq (a fork), which a seq alone would hide.
 *
 * A CLOCK entry of seq 0 may ask for only the newest n messages (a *tail*: frames.ts), for a
 * feed far in the asker's graph: a new browser is useful in seconds, not after every far feed's
 * whole history. The sender then starts at the newest n it holds ({@link startOf}); once the
 * asker holds that suffix, its clock names its head and replication goes on from there.
 *
 * {@link RemoteClock} is what one remote told us: the feeds it wants and, per feed, the latest
 * seq it has, raised by its clock entries and by every message sent to it or received from it
 * (so a message is never echoed back to the peer it came from); and, for any feed, the latest
 * seq it *said* it holds (its CLOCK and HAVE entries), which tells a restored device its own
 * feed's head.
 */
import { type CID, type FeedId, toHex } from '@murmur/core'
import type { FeedState, Store } from '@murmur/store'
import type { ClockEntry } from './frames.js'

/** Bytes of the id prefix in a clock entry. */
export const PREFIX_BYTES = 8

const NO_PREFIX = new Uint8Array(PREFIX_BYTES)

/** The first 8 bytes of the sha2-256 digest of a message id. */
export function idPrefix(id: CID): Uint8Array {
  return id.multihash.digest.subarray(0, PREFIX_BYTES)
}

/** The clock entry of `feed` as held here (`seq` 0 when nothing is held). */
export function clockEntry(feed: FeedId, state: FeedState | undefined): ClockEntry {
  return state ? { feed, seq: state.seq, prefix: idPrefix(state.id) } : { feed, seq: 0, prefix: NO_PREFIX }
}

/** True when two id prefixes are equal. */
export function samePrefix(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/** One feed a remote wants, and the latest seq it has of it. */
export interface RemoteFeed {
  readonly feed: FeedId
  /** Latest seq the remote has (said, sent to it, or received from it). */
  has: number
  /** The remote's latest clock entry for the feed (seq and id prefix, or the tail it asks for). */
  said: ClockEntry
  /**
   * True when the remote asked for notes instead of the stream (REQUEST notify: frames.ts):
   * the feed is not served, and a HAVE note goes out when our head passes {@link has}.
   */
  notify: boolean
  /** The latest seq we noted to the remote (0: none). */
  noted: number
}

/**
 * The first seq of a feed held here to `state` to send a remote that wants it: the one after
 * what it has; when it has nothing, the first of the newest `said.tail` it asked for, or else
 * seq 1. Undefined when what is held cannot serve it: only a later suffix, on which it could not
 * chain, or a suffix for a peer that asked for the whole feed (it could never complete it, and
 * it would refuse a first message past seq 1 that it did not ask for).
 */
export function startOf(want: RemoteFeed, state: FeedState): number | undefined {
  if (want.has > 0) return want.has + 1 < state.first ? undefined : want.has + 1
  const tail = want.said.tail
  if (tail !== undefined) return Math.max(state.first, state.seq - tail + 1)
  return state.first === 1 ? 1 : undefined
}

/** What one remote wants of us, what it has, and what it knows we have. */
export class RemoteClock {
  readonly #feeds = new Map<string, RemoteFeed>()
  /** Per feed we want, the latest seq the remote knows we hold (told, or sent by it). */
  readonly #knows = new Map<string, number>()
  /** Per feed, the latest seq the remote said it holds (CLOCK or HAVE; 0: none). */
  readonly #told = new Map<string, number>()

  /** Feeds wanted. */
  get size(): number {
    return this.#feeds.size
  }

  /** The wanted feed with hex id `hex`, if wanted. */
  get(hex: string): RemoteFeed | undefined {
    return this.#feeds.get(hex)
  }

  /**
   * The remote said it holds feed `hex` to `seq` (0: none of it). Returns true when that is news:
   * the first word on the feed, or a higher seq.
   */
  noteTold(hex: string, seq: number): boolean {
    const before = this.#told.get(hex)
    if (before !== undefined && before >= seq) return false
    this.#told.set(hex, seq)
    return true
  }

  /** The latest seq of feed `hex` the remote said it holds; undefined when it said nothing of it. */
  told(hex: string): number | undefined {
    return this.#told.get(hex)
  }

  /** Records a clock entry: the feed is wanted and the remote has at least `entry.seq`. */
  apply(entry: ClockEntry, hex = toHex(entry.feed)): RemoteFeed {
    let f = this.#feeds.get(hex)
    if (!f) {
      f = { feed: entry.feed, has: entry.seq, said: entry, notify: false, noted: 0 }
      this.#feeds.set(hex, f)
      return f
    }
    if (entry.seq > f.has) f.has = entry.seq
    f.said = entry
    return f
  }

  /** The remote no longer wants `hex`. */
  unwant(hex: string): void {
    this.#feeds.delete(hex)
  }

  /** The remote has `feed` at least to `seq`, and knows we do (it sent it to us). */
  noteHas(hex: string, seq: number): void {
    const f = this.#feeds.get(hex)
    if (f && seq > f.has) f.has = seq
    this.noteKnows(hex, seq)
  }

  /**
   * The remote said it holds wanted feed `hex` to `seq` (a HAVE note, or a REQUEST): nothing up
   * to there is sent to it. Unlike {@link noteHas}, it does not know we hold it.
   */
  raiseHas(hex: string, seq: number): void {
    const f = this.#feeds.get(hex)
    if (f && seq > f.has) f.has = seq
  }

  /** The remote knows we hold feed `hex` to `seq` (our clock said so, or it sent it). */
  noteKnows(hex: string, seq: number): void {
    if (seq > (this.#knows.get(hex) ?? 0)) this.#knows.set(hex, seq)
  }

  /** The latest seq of feed `hex` the remote knows we hold. */
  knows(hex: string): number {
    return this.#knows.get(hex) ?? 0
  }

  /** Every wanted feed. */
  values(): IterableIterator<RemoteFeed> {
    return this.#feeds.values()
  }
}

/**
 * True when the remote's clock entry names another message than the one held at its seq: two
 * branches of one feed, a fork whose proof the remote can give us. False when we hold nothing
 * at that seq, or the feed is already forked here.
 */
export async function onAnotherBranch(store: Store, entry: ClockEntry, state: FeedState | undefined): Promise<boolean> {
  if (!state || state.forked || entry.seq === 0 || entry.seq < state.first || entry.seq > state.seq) return false
  if (entry.seq === state.seq) return !samePrefix(entry.prefix, idPrefix(state.id))
  for await (const m of store.messages(entry.feed, { from: entry.seq, to: entry.seq })) {
    return !samePrefix(entry.prefix, idPrefix(m.id))
  }
  return false
}
