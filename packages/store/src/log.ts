/**
 * The log as stored: messages in blocks (see codec.ts), reached three ways — by offset (the
 * arrival log, which views index and refer to), by feed and seq (what replication serves), and
 * by id.
 *
 * - `log`   block offset (u64)            -> block: consecutive messages of one feed
 * - `feed`  author ‖ last seq of a block  -> block offset ‖ first seq of the block
 * - `id`    message id                    -> offset
 *
 * The block holding offset o is the last one keyed at or before o; the block holding seq s of a
 * feed is the first feed row at or after `author ‖ s`. Both are one seek. An append of n
 * messages of one feed costs n id rows and one block and feed row per block — in IndexedDB,
 * where each row is a request, about a third of one row per message each.
 */
import type { CID, FeedId } from '@murmur/core'
import {
  BLOCK_BYTES,
  BLOCK_ENTRIES,
  type BlockEntry,
  blockCount,
  blockEntrySize,
  decodeBlock,
  decodeFeedRef,
  encodeBlock,
  encodeFeedRef,
  key,
  prefixEnd,
  readU64,
  u64,
} from './codec.js'
import { type BatchOp, type Rows, rootKey } from './view.js'

/** What the log needs of a message it stores. */
export interface Appendable {
  readonly id: CID
  readonly bytes: Uint8Array
  readonly value: { readonly seq: number }
}

export class Log {
  readonly #blocks: Rows
  readonly #feeds: Rows
  readonly #ids: Rows

  constructor(blocks: Rows, feeds: Rows, ids: Rows) {
    this.#blocks = blocks
    this.#feeds = feeds
    this.#ids = ids
  }

  /** One past the offset of the last message held (0 when empty). */
  async end(): Promise<number> {
    const [last] = await this.#blocks.iterator({ reverse: true, limit: 1 }).all()
    return last ? readU64(last[0]) + blockCount(last[1]) : 0
  }

  /**
   * Adds to `ops` the rows that put `msgs` — consecutive messages of `author`, in seq order —
   * at offsets from `start` on, in blocks.
   */
  write(ops: BatchOp[], author: FeedId, start: number, received: number, msgs: readonly Appendable[]): void {
    let i = 0
    while (i < msgs.length) {
      // As many as fit in one block (at least one).
      let j = i + 1
      let size = blockEntrySize((msgs[i] as Appendable).bytes)
      while (j < msgs.length && j - i < BLOCK_ENTRIES) {
        size += blockEntrySize((msgs[j] as Appendable).bytes)
        if (size > BLOCK_BYTES) break
        j++
      }
      const part = msgs.slice(i, j)
      const at = start + i
      const first = (part[0] as Appendable).value.seq
      const last = (part[part.length - 1] as Appendable).value.seq
      ops.push(
        { type: 'put', key: rootKey(this.#blocks, u64(at)), value: encodeBlock(received, first, part) },
        { type: 'put', key: rootKey(this.#feeds, key(author, u64(last))), value: encodeFeedRef(at, first) },
      )
      for (const [k, m] of part.entries()) {
        ops.push({ type: 'put', key: rootKey(this.#ids, m.id.bytes), value: u64(at + k) })
      }
      i = j
    }
  }

  /** The entry at `offset`, if held. */
  async entry(offset: number): Promise<BlockEntry | undefined> {
    const [hit] = await this.#blocks.iterator({ lte: u64(offset), reverse: true, limit: 1 }).all()
    return hit ? decodeBlock(readU64(hit[0]), hit[1], offset, offset + 1)[0] : undefined
  }

  /** The entry of the message with id `id`, if held. */
  async byId(id: CID): Promise<BlockEntry | undefined> {
    const at = await this.#ids.get(id.bytes)
    return at ? this.entry(readU64(at)) : undefined
  }

  /** The entry of `author`'s message at `seq`, if held. */
  async at(author: FeedId, seq: number): Promise<BlockEntry | undefined> {
    const [hit] = await this.#feeds.iterator({ gte: key(author, u64(seq)), lt: prefixEnd(author), limit: 1 }).all()
    if (!hit) return undefined
    const { start, first } = decodeFeedRef(hit[1])
    if (seq < first) return undefined
    const raw = await this.#blocks.get(u64(start))
    return raw ? decodeBlock(start, raw, start + seq - first, start + seq - first + 1)[0] : undefined
  }

  /** Up to `max` entries from offset `from` on, below offset `end`, in log order. */
  async read(from: number, end: number, max: number): Promise<BlockEntry[]> {
    // Offsets have no gaps, so the entries wanted are exactly those below `stop`, and every
    // block holds at least one: the range read is bounded by `max` rows.
    const stop = Math.min(end, from + max)
    if (from >= stop) return []
    const rows = await this.#blocks.iterator({ gte: u64(await this.#blockStart(from)), lt: u64(stop) }).all()
    const out: BlockEntry[] = []
    for (const [k, v] of rows) for (const e of decodeBlock(readU64(k), v, from, stop)) out.push(e)
    return out
  }

  /** Every entry from offset `from` on, in log order (streamed, never all in memory). */
  async *entries(from: number): AsyncGenerator<BlockEntry> {
    for await (const [k, v] of this.#blocks.iterator({ gte: u64(await this.#blockStart(from)) })) {
      yield* decodeBlock(readU64(k), v, from)
    }
  }

  /** `author`'s entries from seq `from` to `to` (inclusive), in seq order or reversed. */
  async *feed(author: FeedId, from: number, to: number, reverse: boolean): AsyncGenerator<BlockEntry> {
    if (to < from) return
    let upper: { lt: Uint8Array } | { lte: Uint8Array } = { lt: prefixEnd(author) }
    if (reverse) {
      // Going down from the block that holds `to`, not from the feed's head.
      const [top] = await this.#feeds.keys({ gte: key(author, u64(to)), lt: prefixEnd(author), limit: 1 }).all()
      if (top) upper = { lte: top }
    }
    for await (const [k, v] of this.#feeds.iterator({ gte: key(author, u64(from)), ...upper, reverse })) {
      const { start, first } = decodeFeedRef(v)
      const last = readU64(k, k.length - 8)
      if (first > to) {
        if (reverse) continue
        return
      }
      const raw = await this.#blocks.get(u64(start))
      if (!raw) return // the log always holds what the feed index names; stop rather than skip a seq
      const lo = start + Math.max(from, first) - first
      const hi = start + Math.min(to, last) - first + 1
      const entries = decodeBlock(start, raw, lo, hi)
      if (reverse) entries.reverse()
      yield* entries
    }
  }

  /**
   * Up to `limit` of `author`'s entries from seq `from` to `to`, in seq order: one range read of
   * the feed index and one batched read of the blocks it names.
   */
  async feedEntries(author: FeedId, from: number, to: number, limit: number): Promise<BlockEntry[]> {
    if (limit < 1 || to < from) return []
    // A feed row covers at least one seq, so this many rows are always enough.
    const rows = await this.#feeds
      .iterator({ gte: key(author, u64(from)), lt: prefixEnd(author), limit: Math.min(limit, to - from + 1) })
      .all()
    // Per block: its offset and the offsets wanted from it, [lo, hi).
    const picked: { block: number; lo: number; hi: number }[] = []
    let count = 0
    for (const [k, v] of rows) {
      const { start, first } = decodeFeedRef(v)
      if (first > to || count >= limit) break
      const lo = Math.max(from, first)
      const hi = Math.min(to, readU64(k, k.length - 8), lo + limit - count - 1)
      picked.push({ block: start, lo: start + lo - first, hi: start + hi - first + 1 })
      count += hi - lo + 1
    }
    if (picked.length === 0) return []
    const blocks = await this.#blocks.getMany(picked.map((p) => u64(p.block)))
    const out: BlockEntry[] = []
    for (let i = 0; i < picked.length; i++) {
      const raw = blocks[i]
      if (!raw) break // the log always holds what the feed index names; stop rather than skip a seq
      const { block, lo, hi } = picked[i] as { block: number; lo: number; hi: number }
      for (const e of decodeBlock(block, raw, lo, hi)) out.push(e)
    }
    return out
  }

  /** The offset of the block that holds `offset` (or `offset` itself, when none does). */
  async #blockStart(offset: number): Promise<number> {
    if (offset === 0) return 0
    const [hit] = await this.#blocks.keys({ lte: u64(offset), reverse: true, limit: 1 }).all()
    return hit ? readU64(hit) : offset
  }
}
