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
import type { IndexedMsg, RowWriter } from '../view.js'
import { Edges, StoreView } from './base.js'

// 'f': author follows target; 'r': target is followed by author
const EDGES = new Edges(0x66, 0x72)

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
export class GraphView extends StoreView {
  readonly name = 'graph'
  readonly version = 1

  /** Two rows per contact that sets `following`; no reads. */
  apply(entries: readonly IndexedMsg[], out: RowWriter): void {
    for (const e of entries) {
      if (e.msg.value.type !== 'contact') continue
      const c = e.msg.value.content as unknown as ContactContent
      if (c.following === undefined) continue
      const author = e.msg.value.author
      EDGES.write(out, author, c.target, c.following)
    }
  }

  /**
   * The feeds `a` follows.
   * @throws {MurmurError} `TIMEOUT` when indexing does not catch up in time.
   */
  async follows(a: FeedId): Promise<FeedId[]> {
    await this.store.indexed()
    return EDGES.from(this.rows, a)
  }

  /**
   * The feeds that follow `b`.
   * @throws {MurmurError} `TIMEOUT` when indexing does not catch up in time.
   */
  async followers(b: FeedId): Promise<FeedId[]> {
    await this.store.indexed()
    return EDGES.to(this.rows, b)
  }

  /**
   * True when `a` follows `b`.
   * @throws {MurmurError} `TIMEOUT` when indexing does not catch up in time.
   */
  async isFollowing(a: FeedId, b: FeedId): Promise<boolean> {
    await this.store.indexed()
    return EDGES.has(this.rows, a, b)
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
        for (const target of await EDGES.from(this.rows, feed)) {
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
    const mine = (await EDGES.from(this.rows, me)).filter((f) => !blocked.has(toHex(f)))
    const skip = new Set([toHex(me), ...blocked, ...mine.map(toHex)])
    const counts = new Map<string, Suggestion>()
    for (const friend of mine) {
      for (const target of await EDGES.from(this.rows, friend)) {
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
}
