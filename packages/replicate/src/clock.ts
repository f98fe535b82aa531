/**
 * Clocks: for each feed a side wants, the latest seq it holds and the first 8 bytes of that
 * message's id digest. The seq tells the other side where to start sending; the prefix lets it
 * notice two branches at the same seq (a fork), which a seq alone would hide.
 *
 * {@link RemoteClock} is what one remote told us: the feeds it wants and, per feed, the latest
 * seq it has, raised by its clock entries and by every message sent to it or received from it
 * (so a message is never echoed back to the peer it came from).
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
  /** The remote's latest clock entry for the feed (seq and id prefix, as it said them). */
  said: ClockEntry
}

/** What one remote wants of us, what it has, and what it knows we have. */
export class RemoteClock {
  readonly #feeds = new Map<string, RemoteFeed>()
  /** Per feed we want, the latest seq the remote knows we hold (told, or sent by it). */
  readonly #knows = new Map<string, number>()

  /** Feeds wanted. */
  get size(): number {
    return this.#feeds.size
  }

  /** The wanted feed with hex id `hex`, if wanted. */
  get(hex: string): RemoteFeed | undefined {
    return this.#feeds.get(hex)
  }

  /** Records a clock entry: the feed is wanted and the remote has at least `entry.seq`. */
  apply(entry: ClockEntry, hex = toHex(entry.feed)): RemoteFeed {
    let f = this.#feeds.get(hex)
    if (!f) {
      f = { feed: entry.feed, has: entry.seq, said: entry }
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
