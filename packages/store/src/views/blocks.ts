/**
 * The blocks view: who blocks whom.
 *
 * Rows, per `contact` message that sets `blocking`: `'b' ‖ author ‖ target` and
 * `'r' ‖ target ‖ author`, both -> [1]; put on block, deleted on unblock. The author's later
 * contact overwrites the earlier row (a feed reaches the log in seq order), so indexing never
 * reads. Nothing is kept in memory: every question is a point read or a range scan.
 */
import { type ContactContent, type FeedId, MurmurError } from '@murmur/core'
import { key, prefixEnd } from '../codec.js'
import type { Store } from '../store.js'
import type { IndexedMsg, Rows, RowWriter, View } from '../view.js'

const FORWARD = new Uint8Array([0x62]) // 'b': author blocks target
const REVERSE = new Uint8Array([0x72]) // 'r': target is blocked by author
const ONE = new Uint8Array([1])
const FEED_BYTES = 32

/** Who blocks whom. */
export class BlocksView implements View {
  readonly name = 'blocks'
  readonly version = 1
  readonly store: Store
  #rows: Rows | undefined

  constructor(store: Store) {
    this.store = store
  }

  /**
   * The view's rows (`'b' ‖ author ‖ target` and `'r' ‖ target ‖ author` -> [1]).
   * @throws {MurmurError} `NOT_OPEN` before the store attached them.
   */
  get rows(): Rows {
    if (!this.#rows) throw new MurmurError('NOT_OPEN', 'the blocks view is not attached to a store')
    return this.#rows
  }

  /** Called by the store with this view's key space. */
  attach(rows: Rows): void {
    this.#rows = rows
  }

  /** Two rows per contact that sets `blocking`; no reads. */
  apply(entries: readonly IndexedMsg[], out: RowWriter): void {
    for (const e of entries) {
      if (e.msg.value.type !== 'contact') continue
      const c = e.msg.value.content as unknown as ContactContent
      if (c.blocking === undefined) continue
      const author = e.msg.value.author
      if (c.blocking) {
        out.put(key(FORWARD, author, c.target), ONE)
        out.put(key(REVERSE, c.target, author), ONE)
      } else {
        out.del(key(FORWARD, author, c.target))
        out.del(key(REVERSE, c.target, author))
      }
    }
  }

  /**
   * The feeds `by` blocks (default `store.me`; none when the store has no `me`).
   * @throws {MurmurError} `TIMEOUT` when indexing does not catch up in time.
   */
  async blocked(by: FeedId | undefined = this.store.me): Promise<FeedId[]> {
    if (!by) return []
    await this.store.indexed()
    return this.#scan(FORWARD, by)
  }

  /**
   * The feeds that block `target`.
   * @throws {MurmurError} `TIMEOUT` when indexing does not catch up in time.
   */
  async blockedBy(target: FeedId): Promise<FeedId[]> {
    await this.store.indexed()
    return this.#scan(REVERSE, target)
  }

  /**
   * True when `by` (default `store.me`) blocks `target`; false when there is no `by`.
   * @throws {MurmurError} `TIMEOUT` when indexing does not catch up in time.
   */
  async isBlocked(target: FeedId, by: FeedId | undefined = this.store.me): Promise<boolean> {
    if (!by) return false
    await this.store.indexed()
    return (await this.rows.get(key(FORWARD, by, target))) !== undefined
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
