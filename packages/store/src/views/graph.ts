/**
 * The follow graph view.
 *
 * Rows, per `contact` message that sets `following`: `'f' ‖ author ‖ target` and
 * `'r' ‖ target ‖ author`, both -> [1]; put when following, deleted when not. A feed's
 * messages reach the log in seq order, so its latest contact about a target is the last
 * write: "latest wins" falls out of write order, with no read while indexing. Both directions
 * are range scans; distances (hops) and suggestions are computed at query time by walking
 * the rows, never stored, so they are always those of the current graph and blocks.
 */
import { type ContactContent, type FeedId, MurmurError, toHex } from '@murmur/core'
import { key, prefixEnd } from '../codec.js'
import type { Store } from '../store.js'
import type { IndexedMsg, Rows, RowWriter, View } from '../view.js'

const FORWARD = new Uint8Array([0x66]) // 'f': author follows target
const REVERSE = new Uint8Array([0x72]) // 'r': target is followed by author
const ONE = new Uint8Array([1])
const FEED_BYTES = 32

/** Options of {@link GraphView.hops}. */
export interface HopsOptions {
  /** Where distances start (default `store.me`). */
  from?: FeedId
  /** The largest distance to walk (default 2). */
  max?: number
}

/** A feed to follow, with how many of the feeds I follow follow it. */
export interface Suggestion {
  readonly id: FeedId
  readonly count: number
}

/** Who follows whom; distances and suggestions over the follow graph. */
export class GraphView implements View {
  readonly name = 'graph'
  readonly version = 1
  readonly store: Store
  #rows: Rows | undefined

  constructor(store: Store) {
    this.store = store
  }

  /**
   * The view's rows (`'f' ‖ author ‖ target` and `'r' ‖ target ‖ author` -> [1]).
   * @throws {MurmurError} `NOT_OPEN` before the store attached them.
   */
  get rows(): Rows {
    if (!this.#rows) throw new MurmurError('NOT_OPEN', 'the graph view is not attached to a store')
    return this.#rows
  }

  /** Called by the store with this view's key space. */
  attach(rows: Rows): void {
    this.#rows = rows
  }

  /** Two rows per contact that sets `following`; no reads. */
  apply(entries: readonly IndexedMsg[], out: RowWriter): void {
    for (const e of entries) {
      if (e.msg.value.type !== 'contact') continue
      const c = e.msg.value.content as unknown as ContactContent
      if (c.following === undefined) continue
      const author = e.msg.value.author
      if (c.following) {
        out.put(key(FORWARD, author, c.target), ONE)
        out.put(key(REVERSE, c.target, author), ONE)
      } else {
        out.del(key(FORWARD, author, c.target))
        out.del(key(REVERSE, c.target, author))
      }
    }
  }

  /**
   * The feeds `a` follows.
   * @throws {MurmurError} `TIMEOUT` when indexing does not catch up in time.
   */
  async follows(a: FeedId): Promise<FeedId[]> {
    await this.store.indexed()
    return this.#scan(FORWARD, a)
  }

  /**
   * The feeds that follow `b`.
   * @throws {MurmurError} `TIMEOUT` when indexing does not catch up in time.
   */
  async followers(b: FeedId): Promise<FeedId[]> {
    await this.store.indexed()
    return this.#scan(REVERSE, b)
  }

  /**
   * True when `a` follows `b`.
   * @throws {MurmurError} `TIMEOUT` when indexing does not catch up in time.
   */
  async isFollowing(a: FeedId, b: FeedId): Promise<boolean> {
    await this.store.indexed()
    return (await this.rows.get(key(FORWARD, a, b))) !== undefined
  }

  /**
   * Hop distances from `from` (0) over follow edges, up to `max` hops, keyed by hex feed id.
   * A breadth-first walk that never enters (nor walks through) a feed `from` blocks.
   * @throws {MurmurError} `INVALID_ARGUMENT` with neither `from` nor `store.me`; `TIMEOUT`.
   * @throws {RangeError} when `max` is not a non-negative integer.
   */
  async hops(opts: HopsOptions = {}): Promise<Map<string, number>> {
    const from = opts.from ?? this.store.me
    const max = opts.max ?? 2
    if (!from) throw new MurmurError('INVALID_ARGUMENT', 'hops needs `from` or a store opened with `me`')
    if (!Number.isSafeInteger(max) || max < 0) throw new RangeError('max must be a non-negative integer')
    await this.store.indexed()
    const blocked = new Set((await this.store.views.blocks.blocked(from)).map(toHex))
    const dist = new Map<string, number>([[toHex(from), 0]])
    let frontier = [from]
    for (let d = 1; d <= max && frontier.length > 0; d++) {
      const next: FeedId[] = []
      for (const feed of frontier) {
        for (const target of await this.#scan(FORWARD, feed)) {
          const hex = toHex(target)
          if (dist.has(hex) || blocked.has(hex)) continue
          dist.set(hex, d)
          next.push(target)
        }
      }
      frontier = next
    }
    return dist
  }

  /**
   * Feeds followed by the feeds `store.me` follows that `me` neither follows nor blocks, most
   * followed (by my follows) first, then by id.
   * @throws {MurmurError} `INVALID_ARGUMENT` when the store has no `me`; `TIMEOUT`.
   */
  async suggestions(limit = 10): Promise<Suggestion[]> {
    const me = this.store.me
    if (!me) throw new MurmurError('INVALID_ARGUMENT', 'suggestions need a store opened with `me`')
    await this.store.indexed()
    const blocked = new Set((await this.store.views.blocks.blocked(me)).map(toHex))
    const mine = (await this.#scan(FORWARD, me)).filter((f) => !blocked.has(toHex(f)))
    const skip = new Set([toHex(me), ...blocked, ...mine.map(toHex)])
    const counts = new Map<string, Suggestion>()
    for (const friend of mine) {
      for (const target of await this.#scan(FORWARD, friend)) {
        const hex = toHex(target)
        if (skip.has(hex)) continue
        const s = counts.get(hex)
        counts.set(hex, { id: target, count: (s?.count ?? 0) + 1 })
      }
    }
    return [...counts.entries()]
      .sort(([ha, a], [hb, b]) => b.count - a.count || (ha < hb ? -1 : ha > hb ? 1 : 0))
      .slice(0, Math.max(0, limit))
      .map(([, s]) => s)
  }

  async #scan(tag: Uint8Array, feed: FeedId): Promise<FeedId[]> {
    const prefix = key(tag, feed)
    const out: FeedId[] = []
    for await (const k of this.rows.keys({ gt: prefix, lt: prefixEnd(prefix) })) {
      out.push(k.slice(1 + FEED_BYTES))
    }
    return out
  }
}
