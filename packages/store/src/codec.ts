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

/**
 * A log entry: `received (u64 ms) ‖ id (36 bytes) ‖ signed message bytes`. The id is kept so
 * indexing never hashes again; the message was verified before it was appended.
 */
export interface LogEntry {
  readonly offset: number
  readonly received: number
  readonly id: CID
  readonly bytes: Uint8Array
}

export function encodeLogEntry(received: number, id: CID, bytes: Uint8Array): Uint8Array {
  if (id.bytes.length !== ID_BYTES) throw new MurmurError('INVALID_ARGUMENT', 'message ids are 36 bytes')
  const out = new Uint8Array(8 + ID_BYTES + bytes.length)
  writeU64(out, 0, received)
  out.set(id.bytes, 8)
  out.set(bytes, 8 + ID_BYTES)
  return out
}

export function decodeLogEntry(offset: number, value: Uint8Array): LogEntry {
  if (value.length < 8 + ID_BYTES + 67) throw new MurmurError('CORRUPT', `log entry ${offset} is truncated`)
  return {
    offset,
    received: readU64(value, 0),
    id: cidFromBytes(value.subarray(8, 8 + ID_BYTES)),
    // A plain Uint8Array view, whatever the backend returned (Buffer in Node).
    bytes: new Uint8Array(value.buffer, value.byteOffset + 8 + ID_BYTES, value.length - 8 - ID_BYTES),
  }
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
