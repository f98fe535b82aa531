/**
 * Binary layouts of the store's keys and values, in one place. Keys sort bytewise in every
 * abstract-level backend, so integers are fixed-width big-endian.
 */
import { type CID, cidFromBytes, concatBytes, MurmurError } from '@murmur/core'

/** Bytes in a message id (CIDv1, dag-cbor, sha2-256). */
export const ID_BYTES = 36

/** 8-byte big-endian encoding of a non-negative safe integer (sorts like the number). */
export function u64(n: number): Uint8Array {
  const out = new Uint8Array(8)
  writeU64(out, 0, n)
  return out
}

/** Writes `n` as 8 big-endian bytes at `at`. */
export function writeU64(out: Uint8Array, at: number, n: number): void {
  const hi = Math.floor(n / 0x1_0000_0000)
  const lo = n >>> 0
  out[at] = hi >>> 24
  out[at + 1] = (hi >>> 16) & 255
  out[at + 2] = (hi >>> 8) & 255
  out[at + 3] = hi & 255
  out[at + 4] = lo >>> 24
  out[at + 5] = (lo >>> 16) & 255
  out[at + 6] = (lo >>> 8) & 255
  out[at + 7] = lo & 255
}

/** Reads 8 big-endian bytes at `at`. */
export function readU64(b: Uint8Array, at = 0): number {
  const hi =
    ((b[at] as number) << 24) | ((b[at + 1] as number) << 16) | ((b[at + 2] as number) << 8) | (b[at + 3] as number)
  const lo =
    ((b[at + 4] as number) << 24) | ((b[at + 5] as number) << 16) | ((b[at + 6] as number) << 8) | (b[at + 7] as number)
  return (hi >>> 0) * 0x1_0000_0000 + (lo >>> 0)
}

/** `a ‖ b ‖ …` in one new array: keys are built from parts (core's concatBytes). */
export const key: (...parts: Uint8Array[]) => Uint8Array = concatBytes

/** The key just past every key that starts with `prefix` (for `lt` bounds). */
export function prefixEnd(prefix: Uint8Array): Uint8Array {
  return key(prefix, new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]))
}

/** A message in the log as the store read it back: where it sits, when it came, its id and bytes. */
export interface LogEntry {
  readonly offset: number
  readonly received: number
  readonly id: CID
  readonly bytes: Uint8Array
}

/** A log entry with the seq of its message (known from its block, without decoding it). */
export interface BlockEntry extends LogEntry {
  readonly seq: number
}

/**
 * The log is kept in blocks: consecutive messages of one feed appended in one batch, at
 * consecutive offsets, stored as one row keyed by the offset of the first. In IndexedDB every
 * row costs a request, so a block of n messages costs one row instead of 2n (a log row and a
 * feed-index row each). A block holds at most {@link BLOCK_ENTRIES} messages and about
 * {@link BLOCK_BYTES} (more only for one large message): a point read loads one block, and
 * Chromium stores IndexedDB values above 64 KiB as blobs, far slower.
 *
 * Layout: `received (u64 ms) ‖ seq of the first message (u64)`, then per message
 * `length (u32) ‖ id (36 bytes) ‖ signed message bytes`. The id is kept so indexing never
 * hashes again; every message was verified before it was appended.
 */
export const BLOCK_ENTRIES = 32
/** The size a block is kept under (bytes), unless one message alone is larger. */
export const BLOCK_BYTES = 16 * 1024
const BLOCK_HEADER = 16
const ENTRY_HEADER = 4 + ID_BYTES

/** Bytes `bytes` takes in a block. */
export function blockEntrySize(bytes: Uint8Array): number {
  return ENTRY_HEADER + bytes.length
}

/** A block of messages that follow each other in one feed, from seq `seq` on. */
export function encodeBlock(
  received: number,
  seq: number,
  msgs: readonly { id: CID; bytes: Uint8Array }[],
): Uint8Array {
  let size = BLOCK_HEADER
  for (const m of msgs) {
    if (m.id.bytes.length !== ID_BYTES) throw new MurmurError('INVALID_ARGUMENT', 'message ids are 36 bytes')
    size += ENTRY_HEADER + m.bytes.length
  }
  const out = new Uint8Array(size)
  writeU64(out, 0, received)
  writeU64(out, 8, seq)
  let at = BLOCK_HEADER
  for (const m of msgs) {
    const n = m.bytes.length
    out[at] = n >>> 24
    out[at + 1] = (n >>> 16) & 255
    out[at + 2] = (n >>> 8) & 255
    out[at + 3] = n & 255
    out.set(m.id.bytes, at + 4)
    out.set(m.bytes, at + ENTRY_HEADER)
    at += ENTRY_HEADER + n
  }
  return out
}

/**
 * The entries of the block at offset `start`, those at offsets from `from` (inclusive) to `to`
 * (exclusive) only. Message bytes are views into `value`, not copies.
 * @throws {MurmurError} `CORRUPT` when the block is malformed.
 */
export function decodeBlock(
  start: number,
  value: Uint8Array,
  from = start,
  to = Number.POSITIVE_INFINITY,
): BlockEntry[] {
  if (value.length < BLOCK_HEADER + ENTRY_HEADER) throw new MurmurError('CORRUPT', `log block ${start} is truncated`)
  const received = readU64(value, 0)
  const seq = readU64(value, 8)
  const out: BlockEntry[] = []
  let at = BLOCK_HEADER
  for (let i = 0; at < value.length && start + i < to; i++) {
    const n = readU32(value, at)
    const end = at + ENTRY_HEADER + n
    if (n < 67 || end > value.length) throw new MurmurError('CORRUPT', `log block ${start} is truncated`)
    if (start + i >= from) {
      out.push({
        offset: start + i,
        seq: seq + i,
        received,
        id: cidFromBytes(value.subarray(at + 4, at + ENTRY_HEADER)),
        // A plain Uint8Array view, whatever the backend returned (Buffer in Node).
        bytes: new Uint8Array(value.buffer, value.byteOffset + at + ENTRY_HEADER, n),
      })
    }
    at = end
  }
  return out
}

/** How many messages the block `value` holds. @throws {MurmurError} `CORRUPT` when malformed. */
export function blockCount(value: Uint8Array): number {
  let count = 0
  let at = BLOCK_HEADER
  while (at < value.length) {
    at += ENTRY_HEADER + readU32(value, at)
    count++
  }
  if (at !== value.length || count === 0) throw new MurmurError('CORRUPT', 'a log block is truncated')
  return count
}

function readU32(b: Uint8Array, at: number): number {
  return (
    (((b[at] as number) << 24) |
      ((b[at + 1] as number) << 16) |
      ((b[at + 2] as number) << 8) |
      (b[at + 3] as number)) >>>
    0
  )
}

/**
 * A feed-index row points at a block: key `author ‖ seq of its last message (u64)`, value
 * `offset of the block (u64) ‖ seq of its first message (u64)`. The block holding seq s is the
 * first row at or after `author ‖ s`.
 */
export function encodeFeedRef(start: number, firstSeq: number): Uint8Array {
  const out = new Uint8Array(16)
  writeU64(out, 0, start)
  writeU64(out, 8, firstSeq)
  return out
}

export function decodeFeedRef(b: Uint8Array): { start: number; first: number } {
  if (b.length !== 16) throw new MurmurError('CORRUPT', 'a feed index row has the wrong size')
  return { start: readU64(b, 0), first: readU64(b, 8) }
}

/**
 * A log entry of store format 1, one row per message: `received (u64 ms) ‖ id ‖ bytes`. Read
 * only to migrate such a store (see Store.open).
 */
export function decodeV1LogEntry(offset: number, value: Uint8Array): LogEntry {
  if (value.length < 8 + ID_BYTES + 67) throw new MurmurError('CORRUPT', `log entry ${offset} is truncated`)
  return {
    offset,
    received: readU64(value, 0),
    id: cidFromBytes(value.subarray(8, 8 + ID_BYTES)),
    bytes: new Uint8Array(value.buffer, value.byteOffset + 8 + ID_BYTES, value.length - 8 - ID_BYTES),
  }
}

/** A format 1 log entry (tests build old stores with it). */
export function encodeV1LogEntry(received: number, id: CID, bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + ID_BYTES + bytes.length)
  writeU64(out, 0, received)
  out.set(id.bytes, 8)
  out.set(bytes, 8 + ID_BYTES)
  return out
}

/** What the store knows of one feed. */
export interface FeedState {
  /** Latest seq held. */
  readonly seq: number
  /** Id of the latest message. */
  readonly id: CID
  /** First seq held: a store may keep only a suffix of a feed. */
  readonly first: number
  /** True once a fork proof for this feed is stored: nothing more is taken from it. */
  readonly forked: boolean
}

/** `seq (u64) ‖ first (u64) ‖ forked (1) ‖ id (36)`. */
export function encodeFeedState(s: FeedState): Uint8Array {
  const out = new Uint8Array(17 + ID_BYTES)
  writeU64(out, 0, s.seq)
  writeU64(out, 8, s.first)
  out[16] = s.forked ? 1 : 0
  out.set(s.id.bytes, 17)
  return out
}

export function decodeFeedState(b: Uint8Array): FeedState {
  if (b.length !== 17 + ID_BYTES) throw new MurmurError('CORRUPT', 'a feed head record has the wrong size')
  return { seq: readU64(b, 0), first: readU64(b, 8), forked: b[16] === 1, id: cidFromBytes(b.subarray(17)) }
}

/** A view checkpoint: `version (u64) ‖ offset (u64)`, the next log offset it will read. */
export function encodeCheckpoint(version: number, next: number): Uint8Array {
  return key(u64(version), u64(next))
}

export function decodeCheckpoint(b: Uint8Array): { version: number; next: number } {
  return { version: readU64(b, 0), next: readU64(b, 8) }
}
