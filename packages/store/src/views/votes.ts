/**
 * The votes view: who likes what.
 *
 * Rows: `link (36 bytes) ‖ voter (32 bytes)` -> [1] for a like; a vote of 0 deletes the row.
 * A voter's later vote is the later write (a feed reaches the log in seq order), so the row
 * always holds their latest vote, and indexing never reads. Counting is a range scan over the
 * link's prefix.
 */
import type { CID, FeedId, VoteContent } from '@murmur/core'
import { key, prefixEnd } from '../codec.js'
import type { IndexedMsg, RowWriter } from '../view.js'
import { StoreView } from './base.js'

const ONE = new Uint8Array([1])

/** The likes of one message. */
export interface Votes {
  readonly count: number
  readonly voters: FeedId[]
}

/** Likes per message. */
export class VotesView extends StoreView {
  readonly name = 'votes'
  readonly version = 1

  /** One row write per vote; no reads. */
  apply(entries: readonly IndexedMsg[], out: RowWriter): void {
    for (const e of entries) {
      if (e.msg.value.type !== 'vote') continue
      const v = e.msg.value.content as unknown as VoteContent
      const k = key(v.link.bytes, e.msg.value.author)
      if (v.value === 1) out.put(k, ONE)
      else out.del(k)
    }
  }

  /**
   * Who likes `link` (each voter's latest vote), and how many they are.
   * @throws {MurmurError} `TIMEOUT` when indexing does not catch up in time.
   */
  async votes(link: CID): Promise<Votes> {
    await this.store.indexed()
    const prefix = link.bytes
    const voters: FeedId[] = []
    for await (const k of this.rows.keys({ gt: prefix, lt: prefixEnd(prefix) })) voters.push(k.slice(prefix.length))
    return { count: voters.length, voters }
  }

  /**
   * True when `author`'s latest vote on `link` is a like.
   * @throws {MurmurError} `TIMEOUT` when indexing does not catch up in time.
   */
  async likedBy(link: CID, author: FeedId): Promise<boolean> {
    await this.store.indexed()
    return (await this.rows.get(key(link.bytes, author))) !== undefined
  }
}
