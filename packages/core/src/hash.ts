/**
 * Content addressing: CIDv1 with sha2-256 for messages (codec dag-cbor) and blobs (codec raw).
 * The sha-256 function is passed in where speed matters (Node's native one is faster than the
 * pure one for large blobs); the default is the pure @noble/hashes one, which runs everywhere.
 */
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js'
import { CID } from 'multiformats/cid'
import { create as createDigest, Digest } from 'multiformats/hashes/digest'
import { MurmurError } from './errors.js'

/** A synchronous sha-256: bytes in, 32-byte digest out. */
export type Sha256 = (bytes: Uint8Array) => Uint8Array

/** The pure sha-256 used when no faster one is given. */
export const defaultSha256: Sha256 = (bytes) => nobleSha256(bytes)

/** Multicodec of DAG-CBOR: message ids. */
export const DAG_CBOR = 0x71
/** Multicodec of raw bytes: blob ids. */
export const RAW = 0x55
/** Multihash code of sha2-256. */
export const SHA2_256 = 0x12

export { CID }

/** The CIDv1 (sha2-256) of `bytes` under `codec`. */
export function cidOf(codec: typeof DAG_CBOR | typeof RAW, bytes: Uint8Array, sha256: Sha256 = defaultSha256): CID {
  return CID.createV1(codec, createDigest(SHA2_256, sha256(bytes)))
}

/** The id of a blob: CIDv1, codec raw, sha2-256. */
export function blobId(bytes: Uint8Array, sha256: Sha256 = defaultSha256): CID {
  return cidOf(RAW, bytes, sha256)
}

/**
 * The CID whose binary form is `bytes`. Murmur's own ids (CIDv1, dag-cbor or raw, sha2-256:
 * 36 bytes with a fixed 4-byte prefix) are built directly, several times faster than the
 * general decoder, which every other form goes through.
 * @throws {Error} when `bytes` are not a CID (from multiformats).
 */
export function cidFromBytes(bytes: Uint8Array): CID {
  const codec = bytes[1]
  if (
    bytes.length === 36 &&
    bytes[0] === 1 &&
    (codec === DAG_CBOR || codec === RAW) &&
    bytes[2] === SHA2_256 &&
    bytes[3] === 32
  ) {
    return new CID(1, codec, new Digest(SHA2_256, 32, bytes.subarray(4), bytes.subarray(2)), bytes) as CID
  }
  return CID.decode(bytes)
}

/** True when `cid` is a CIDv1 with sha2-256 (32 bytes) and the given codec. */
export function isMurmurCid(cid: unknown, codec?: number): cid is CID {
  const c = CID.asCID(cid)
  return (
    c !== null &&
    c.version === 1 &&
    c.multihash.code === SHA2_256 &&
    c.multihash.size === 32 &&
    (codec === undefined || c.code === codec)
  )
}

/** True when `bytes` hash to `cid` (blobs and messages: a receiver verifies what it got). */
export function matchesCid(cid: CID, bytes: Uint8Array, sha256: Sha256 = defaultSha256): boolean {
  if (!isMurmurCid(cid)) return false
  const digest = sha256(bytes)
  const want = cid.multihash.digest
  if (digest.length !== want.length) return false
  for (let i = 0; i < digest.length; i++) if (digest[i] !== want[i]) return false
  return true
}

/**
 * Parses a message or blob id from its text form (base32 CIDv1, `b...`).
 * @throws {MurmurError} `INVALID_ARGUMENT` when the text is not a Murmur CID.
 */
export function parseCid(text: string): CID {
  let cid: CID
  try {
    cid = CID.parse(text.trim())
  } catch (cause) {
    throw new MurmurError('INVALID_ARGUMENT', `not a message or blob id: ${JSON.stringify(text.slice(0, 80))}`, {
      cause,
    })
  }
  if (!isMurmurCid(cid)) {
    throw new MurmurError('INVALID_ARGUMENT', 'not a Murmur id: expected a CIDv1 with sha2-256')
  }
  return cid
}
