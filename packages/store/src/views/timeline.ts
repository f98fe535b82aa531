/**
 * The timeline view: every post in the order people should see it, newest first.
 *
 * Rows: `sortTime (u64) ‖ offset (u64)` -> author (32 bytes), one per post. The sort time is
 * min(received, claimed ts): a post's own `ts` is the author's claim, so a post dated in the
 * future would otherwise pin itself on top forever; a post is never placed later than when
 * this store received it, but an honestly old post replicated late still sorts by its date.
 * The offset makes keys unique and ties stable.
 *
 * A page scans the rows backwards and filters by the author in the row value, so skipped
 * posts cost no message load; only the posts shown are read from the log. The scan is
 * bounded, and the cursor (the last key looked at) lets the next page go on from there.
 */
import { type FeedId, fromBase64url, type Msg, MurmurError, toBase64url, toHex } from '@murmur/core'
import { readU64, writeU64 } from '../codec.js'
import type { IndexedMsg, RowWriter } from '../view.js'
import { StoreView } from './base.js'

/** Posts a timeline page shows when no limit is given. */
export const DEFAULT_PAGE = 20
/** Rows a page looks at, at most, before it returns with a cursor (a bound on query time). */
export const DEFAULT_MAX_SCAN = 10_000

const CURSOR_BYTES = 16

/** Options of {@link TimelineView.page}. */
export interface PageOptions {
  /** Posts per page (default {@link DEFAULT_PAGE}). */
  limit?: number
  /** The `next` cursor of the previous page: continue after it. */
  before?: string
  /**
   * Whose posts: by default `store.me` and the feeds it follows (every feed when the store has
   * no `me`); `'all'` for every feed; or a list of feeds. Feeds `me` blocks are never shown.
   */
  authors?: 'all' | readonly FeedId[]
  /** Rows to look at, at most, before returning (default {@link DEFAULT_MAX_SCAN}). */
  maxScan?: number
}

/** One post on a timeline. */
export interface TimelineItem {
  readonly msg: Msg
  /** When this store received it (ms). */
  readonly received: number
  /** Where it sorts: min(received, claimed ts). */
  readonly sortTime: number
}

/** A timeline page, newest first. */
export interface TimelinePage {
  readonly items: TimelineItem[]
  /** Pass as `before` for the next page; absent when the timeline has no older rows. */
  readonly next?: string
}

/** A page of one author's posts, newest first. */
export interface AuthorPage {
  readonly items: Msg[]
  /** Pass as `before` (a seq) for the next page; absent when no older messages are held. */
  readonly next?: number
}

/** The time a message sorts by: never later than when it was received. */
export function sortTimeOf(e: IndexedMsg): number {
  return Math.min(e.received, e.msg.value.ts)
}

/** Every post, ordered by min(received, ts); queries for "my" timeline and an author's page. */
export class TimelineView extends StoreView {
  readonly name = 'timeline'
  readonly version = 1

  /** One row per post; no reads. */
  apply(entries: readonly IndexedMsg[], out: RowWriter): void {
    for (const e of entries) {
      if (e.msg.value.type !== 'post') continue
      const k = new Uint8Array(16)
      writeU64(k, 0, sortTimeOf(e))
      writeU64(k, 8, e.offset)
      out.put(k, e.msg.value.author.slice())
    }
  }

  /**
   * A page of the timeline, newest first: posts by `store.me` and the feeds it follows (or
   * by `opts.authors`), never by feeds `me` blocks. Waits until the views have indexed the
   * log as it is now.
   * @throws {MurmurError} `INVALID_ARGUMENT` for a cursor this view did not make; `TIMEOUT`
   * when indexing does not catch up in time.
   * @throws {RangeError} when `limit` or `maxScan` is not a positive integer.
   */
  async page(opts: PageOptions = {}): Promise<TimelinePage> {
    const limit = opts.limit ?? DEFAULT_PAGE
    const maxScan = opts.maxScan ?? DEFAULT_MAX_SCAN
    if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError('limit must be a positive integer')
    if (!Number.isSafeInteger(maxScan) || maxScan < 1) throw new RangeError('maxScan must be a positive integer')
    const before = opts.before === undefined ? undefined : parseCursor(opts.before)
    await this.store.indexed()
    const me = this.store.me
    const blocked = new Set((me ? await this.store.views.blocks.blocked(me) : []).map(toHex))
    let allowed: Set<string> | undefined // undefined: every author
    if (Array.isArray(opts.authors)) {
      allowed = new Set(opts.authors.map(toHex))
    } else if (opts.authors === undefined && me) {
      allowed = new Set([toHex(me), ...(await this.store.views.graph.follows(me)).map(toHex)])
    }

    const items: TimelineItem[] = []
    let scanned = 0
    // Leaving the loop early closes the iterator (abstract-level's async iterator does that).
    for await (const [k, author] of this.rows.iterator({ reverse: true, ...(before ? { lt: before } : {}) })) {
      scanned++
      const hex = toHex(author)
      if (!blocked.has(hex) && (allowed === undefined || allowed.has(hex))) {
        const e = await this.store.entry(readU64(k, 8))
        if (e) items.push({ msg: e.msg, received: e.received, sortTime: readU64(k, 0) })
      }
      if (items.length >= limit || scanned >= maxScan) return { items, next: toBase64url(k) }
    }
    return { items }
  }

  /**
   * `author`'s posts newest first, for a profile page, read from the feed itself (no view
   * rows): `before` is a seq, as returned in `next`. Looks at most `maxScan` messages.
   * @throws {RangeError} when `limit` is not a positive integer.
   */
  async byAuthor(
    author: FeedId,
    opts: { limit?: number; before?: number; maxScan?: number } = {},
  ): Promise<AuthorPage> {
    const limit = opts.limit ?? DEFAULT_PAGE
    const maxScan = opts.maxScan ?? DEFAULT_MAX_SCAN
    if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError('limit must be a positive integer')
    if (opts.before !== undefined && opts.before <= 1) return { items: [] }
    const items: Msg[] = []
    let scanned = 0
    const range = opts.before === undefined ? {} : { to: opts.before - 1 }
    for await (const msg of this.store.messages(author, { ...range, reverse: true })) {
      scanned++
      if (msg.value.type === 'post') items.push(msg)
      if (items.length >= limit || scanned >= maxScan) {
        return msg.value.seq > 1 ? { items, next: msg.value.seq } : { items }
      }
    }
    return { items }
  }
}

function parseCursor(text: string): Uint8Array {
  const k = fromBase64url(text)
  if (k === undefined || k.length !== CURSOR_BYTES) {
    throw new MurmurError('INVALID_ARGUMENT', 'not a timeline cursor: pass the `next` of a previous page')
  }
  return k
}
