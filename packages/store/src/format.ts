/**
 * The store's format on disk, and the way up from older ones.
 *
 * `meta` holds `format` -> u64. Format 2 keeps the log in blocks (codec.ts, log.ts). Format 1
 * had no marker and one row per message: `log` offset -> received ‖ id ‖ bytes, and `feed`
 * author ‖ seq -> offset. It is migrated in place keeping every offset, so the id index and
 * every view row stay valid: each message becomes a block of one. The migration goes in
 * chunks, each one atomic batch that also records how far it got, so a crash midway resumes
 * where it stopped. A format this code does not know is refused, never guessed at.
 */
import { MurmurError } from '@murmur/core'
import { decodeV1LogEntry, encodeBlock, encodeFeedRef, key, readU64, u64 } from './codec.js'
import { decodeStored } from './indexer.js'
import { type BatchOp, type Db, type Rows, rootKey } from './view.js'

/** The format this code writes. */
export const FORMAT = 2

const encoder = new TextEncoder()
const FORMAT_KEY = encoder.encode('format')
/** While migrating from format 1: the first offset not migrated yet. */
const MIGRATING_KEY = encoder.encode('migrating')
const CHUNK = 1000

/** The sublevels the format check looks at. */
export interface FormatRows {
  readonly meta: Rows
  readonly log: Rows
  readonly feeds: Rows
  readonly heads: Rows
}

/**
 * Makes sure `db` holds the current format: marks a new database, migrates a format 1 one.
 * @throws {MurmurError} `CORRUPT` when the database holds a format this code does not know (a
 * newer Murmur wrote it), or format 1 data that does not decode.
 */
export async function openFormat(db: Db, rows: FormatRows): Promise<void> {
  const raw = await rows.meta.get(FORMAT_KEY)
  if (raw) {
    const format = readU64(raw)
    if (format !== FORMAT) {
      throw new MurmurError(
        'CORRUPT',
        `this database holds store format ${format}, which this version of Murmur cannot read (it reads format ${FORMAT})`,
      )
    }
    return
  }
  const resume = await rows.meta.get(MIGRATING_KEY)
  const [held] = await rows.log.keys({ limit: 1 }).all()
  const [head] = await rows.heads.keys({ limit: 1 }).all()
  if (resume || held || head) await migrateFromV1(db, rows, resume ? readU64(resume) : 0)
  await db.batch([
    { type: 'put', key: rootKey(rows.meta, FORMAT_KEY), value: u64(FORMAT) },
    { type: 'del', key: rootKey(rows.meta, MIGRATING_KEY) },
  ])
}

async function migrateFromV1(db: Db, rows: FormatRows, from: number): Promise<void> {
  for (;;) {
    const chunk = await rows.log.iterator({ gte: u64(from), limit: CHUNK }).all()
    if (chunk.length === 0) return
    const ops: BatchOp[] = []
    for (const [k, v] of chunk) {
      const offset = readU64(k)
      const e = decodeV1LogEntry(offset, v)
      const { author, seq } = decodeStored(e.id, e.bytes).value
      ops.push(
        { type: 'put', key: rootKey(rows.log, k), value: encodeBlock(e.received, seq, [e]) },
        { type: 'put', key: rootKey(rows.feeds, key(author, u64(seq))), value: encodeFeedRef(offset, seq) },
      )
      from = offset + 1
    }
    ops.push({ type: 'put', key: rootKey(rows.meta, MIGRATING_KEY), value: u64(from) })
    await db.batch(ops)
  }
}
