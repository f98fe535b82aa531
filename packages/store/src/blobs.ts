/**
 * Content-addressed blobs (images) beside the feeds, in the store's abstract-level database.
 *
 * A blob is named by its CID (CIDv1, codec raw, sha2-256: core's `blobId`), so anyone may hold
 * and serve it and every receiver checks the bytes against the name before storing them
 * ({@link BlobStore.putVerified}). Layout, in the store's `blob` sublevel (binary keys):
 * - `0x00 ‖ cid` -> the blob's bytes, one value (at most a few MiB: fine for LevelDB and IndexedDB)
 * - `0x01 ‖ cid` -> its size (u64), so `size` and `list` never read the bytes
 * Both are written and deleted in one atomic batch. Browser-safe: abstract-level and core only.
 */
import {
  blobId,
  type CID,
  cidFromBytes,
  defaultSha256,
  isMurmurCid,
  MurmurError,
  matchesCid,
  RAW,
  type Sha256,
} from '@murmur/core'
import { key, readU64, u64 } from './codec.js'
import type { Rows } from './view.js'

/** The default largest blob (5 MiB), as in DESIGN.md's limits. */
export const DEFAULT_MAX_BLOB_BYTES = 5 * 1024 * 1024

/** Options of {@link BlobStore}. */
export interface BlobStoreOptions {
  /** The largest blob taken, in bytes (default {@link DEFAULT_MAX_BLOB_BYTES}). */
  maxBlobBytes?: number
  /** The sha-256 used to name and check blobs (Node passes its native one; default the pure one). */
  sha256?: Sha256
}

const DATA = new Uint8Array([0])
const SIZE = new Uint8Array([1])
const SIZE_END = new Uint8Array([2])

/** Blobs by CID in one sublevel of binary keys and values. */
export class BlobStore {
  /** The largest blob taken, in bytes. */
  readonly maxBlobBytes: number
  readonly #rows: Rows
  readonly #sha256: Sha256

  /**
   * @param rows the sublevel the blobs live in (the store passes its `blob` sublevel).
   * @throws {RangeError} when `maxBlobBytes` is not a non-negative integer.
   */
  constructor(rows: Rows, opts: BlobStoreOptions = {}) {
    const max = opts.maxBlobBytes ?? DEFAULT_MAX_BLOB_BYTES
    if (!Number.isSafeInteger(max) || max < 0) throw new RangeError(`maxBlobBytes must be a byte count, got ${max}`)
    this.maxBlobBytes = max
    this.#rows = rows
    this.#sha256 = opts.sha256 ?? defaultSha256
  }

  /** True when the blob `cid` is held. */
  async has(cid: CID): Promise<boolean> {
    return (await this.#rows.get(key(SIZE, cid.bytes))) !== undefined
  }

  /** The bytes of blob `cid`, if held. */
  async get(cid: CID): Promise<Uint8Array | undefined> {
    const raw = await this.#rows.get(key(DATA, cid.bytes))
    // A plain Uint8Array, whatever the backend returned (Buffer in Node).
    return raw && new Uint8Array(raw.buffer, raw.byteOffset, raw.length)
  }

  /** The size in bytes of blob `cid`, if held (without reading it). */
  async size(cid: CID): Promise<number | undefined> {
    const raw = await this.#rows.get(key(SIZE, cid.bytes))
    return raw && readU64(raw)
  }

  /**
   * Stores `bytes` as a blob and returns its CID (storing a blob already held changes nothing).
   * @throws {MurmurError} `INVALID_ARGUMENT` when `bytes` are larger than {@link maxBlobBytes}.
   */
  async put(bytes: Uint8Array): Promise<CID> {
    if (bytes.length > this.maxBlobBytes) {
      throw new MurmurError(
        'INVALID_ARGUMENT',
        `a blob is at most ${this.maxBlobBytes} bytes here; this one is ${bytes.length} bytes`,
      )
    }
    const cid = blobId(bytes, this.#sha256)
    await this.#write(cid, bytes)
    return cid
  }

  /**
   * Stores `bytes` received as blob `cid` (from a peer) if, and only if, they are that blob:
   * the bytes hash to `cid`, `cid` names a raw blob, and the size is within the limit.
   * Returns false, storing nothing, otherwise: bad remote data is a value, not a throw.
   */
  async putVerified(cid: CID, bytes: Uint8Array): Promise<boolean> {
    // The size check comes first so an oversized blob is never hashed.
    if (bytes.length > this.maxBlobBytes || !isMurmurCid(cid, RAW)) return false
    if (!matchesCid(cid, bytes, this.#sha256)) return false
    await this.#write(cid, bytes)
    return true
  }

  /** Deletes blob `cid` (a no-op when it is not held). */
  async delete(cid: CID): Promise<void> {
    await this.#rows.batch([
      { type: 'del', key: key(DATA, cid.bytes) },
      { type: 'del', key: key(SIZE, cid.bytes) },
    ])
  }

  /** Every blob held, with its size, in CID byte order (the bytes are not read). */
  async *list(): AsyncGenerator<{ cid: CID; size: number }> {
    for await (const [k, v] of this.#rows.iterator({ gt: SIZE, lt: SIZE_END })) {
      yield { cid: cidFromBytes(k.slice(1)), size: readU64(v) }
    }
  }

  async #write(cid: CID, bytes: Uint8Array): Promise<void> {
    await this.#rows.batch([
      { type: 'put', key: key(DATA, cid.bytes), value: bytes },
      { type: 'put', key: key(SIZE, cid.bytes), value: u64(bytes.length) },
    ])
  }
}
