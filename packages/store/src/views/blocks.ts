/**
 * The blocks view: who blocks whom.
 *
 * Rows, per `contact` message that sets `blocking`: `'b' ‖ author ‖ target` and
 * `'r' ‖ target ‖ author`, both -> [1]; put on block, deleted on unblock. The author's later
 * contact overwrites the earlier row (a feed reaches the log in seq order), so indexing never
 * reads. Nothing is kept in memory: every question is a point read or a range scan.
 */
import type { ContactContent, FeedId } from '@murmur/core'
import type { IndexedMsg, RowWriter } from '../view.js'
import { Edges, StoreView } from './base.js'

// 'b': author blocks target; 'r': target is blocked by author
const EDGES = new Edges(0x62, 0x72)

/** Who blocks whom. */
export class BlocksView extends StoreView {
  readonly name = 'blocks'
  readonly version = 1

  /** Two rows per contact that sets `blocking`; no reads. */
  apply(entries: readonly IndexedMsg[], out: RowWriter): void {
    for (const e of entries) {
      if (e.msg.value.type !== 'contact') continue
      const c = e.msg.value.content as unknown as ContactContent
      if (c.blocking === undefined) continue
      const author = e.msg.value.author
      EDGES.write(out, author, c.target, c.blocking)
    }
  }

  /**
   * The feeds `by` blocks (default `store.me`; none when the store has no `me`).
   * @throws {MurmurError} `TIMEOUT` when indexing does not catch up in time.
   */
  async blocked(by: FeedId | undefined = this.store.me): Promise<FeedId[]> {
    if (!by) return []
    await this.store.indexed()
    return EDGES.from(this.rows, by)
  }

  /**
   * The feeds that block `target`.
   * @throws {MurmurError} `TIMEOUT` when indexing does not catch up in time.
   */
  async blockedBy(target: FeedId): Promise<FeedId[]> {
    await this.store.indexed()
    return EDGES.to(this.rows, target)
  }

  /**
   * True when `by` (default `store.me`) blocks `target`; false when there is no `by`.
   * @throws {MurmurError} `TIMEOUT` when indexing does not catch up in time.
   */
  async isBlocked(target: FeedId, by: FeedId | undefined = this.store.me): Promise<boolean> {
    if (!by) return false
    await this.store.indexed()
    return EDGES.has(this.rows, by, target)
  }
}
