/**
 * Messages, format version 1 (DESIGN.md "Formats").
 *
 * A signed message is the DAG-CBOR array `[msg, sig]` where `msg` is the map
 * `{ author, seq, prev, ts, type, content }` and `sig` is the 64-byte ed25519 signature of
 * `"murmur/msg/v1\0" ‖ encode(msg)`. Because the encoding is canonical and `sig` is always 64
 * bytes, the signed bytes are `0x82 ‖ encode(msg) ‖ 0x58 0x40 ‖ sig`: the signing input is a
 * slice of the message, never a re-encoding. The id is the CIDv1 (dag-cbor, sha2-256) of the
 * signed bytes.
 *
 * Validation is split in two: {@link decodeMsg} does everything but the signature (size,
 * canonical bytes, envelope, content schema, id), synchronously; {@link verifyMsgs} then checks
 * signatures in a batch through a strict ed25519 backend. Only its output carries the
 * {@link Verified} brand that the store demands.
 */
import * as dagCbor from '@ipld/dag-cbor'
import type { CID } from 'multiformats/cid'
import { concatBytes, utf8 } from './bytes.js'
import { decodeCanonical } from './cbor.js'
import type { Ed25519, VerifyItem } from './ed25519/types.js'
import { verifyStrict } from './ed25519/verify.js'
import { MurmurError } from './errors.js'
import { cidOf, DAG_CBOR, defaultSha256, isMurmurCid, type Sha256 } from './hash.js'
import type { FeedId, Keypair } from './keys.js'
import { checkContent, isPlainObject, type KnownContent } from './schema.js'

/** The largest signed message, in bytes. */
export const MAX_MSG_BYTES = 8192

/** The domain prefix of message signatures; no other Murmur signature uses it. */
export const MSG_SIGN_DOMAIN = utf8('murmur/msg/v1\0')

/** The unsigned message: the envelope every feed entry has. */
export interface MsgValue<C = Record<string, unknown> | Uint8Array> {
  author: FeedId
  seq: number
  /** Id of message `seq - 1`; null for seq 1. */
  prev: CID | null
  /** The author's claimed time, in ms since the epoch: shown, never trusted for ordering. */
  ts: number
  /** Content type; `box` when `content` is an encrypted box (bytes). */
  type: string
  content: C
}

/** A decoded, well-formed message whose signature has not been checked yet. */
export interface Msg {
  readonly id: CID
  /** The signed, canonical bytes: what is stored and sent. */
  readonly bytes: Uint8Array
  readonly value: MsgValue
}

declare const verified: unique symbol
/** Marks a value that passed verification; only core's verifiers produce it. */
export type Verified<T> = T & { readonly [verified]: true }
/** A message whose canonical form, schema and signature are all valid. */
export type VerifiedMsg = Verified<Msg>

/** Why a message was rejected. */
export type RejectCode = 'too-large' | 'malformed' | 'non-canonical' | 'bad-envelope' | 'bad-content' | 'bad-signature'

/** The outcome of checking remote data: the value, or why it was rejected. */
export type Result<T> = { ok: true; value: T } | { ok: false; code: RejectCode; reason: string }

const reject = (code: RejectCode, reason: string): { ok: false; code: RejectCode; reason: string } => ({
  ok: false,
  code,
  reason,
})

const ENVELOPE_KEYS = ['author', 'content', 'prev', 'seq', 'ts', 'type'] as const
const TYPE_PATTERN = /^[a-z][a-z0-9._-]{0,31}$/
const SIG_HEADER_0 = 0x58 // byte string, 1-byte length follows
const SIG_HEADER_1 = 0x40 // 64

function checkEnvelope(v: Record<string, unknown>): string | undefined {
  const keys = Object.keys(v)
  if (keys.length !== ENVELOPE_KEYS.length || !ENVELOPE_KEYS.every((k) => Object.hasOwn(v, k))) {
    return `the envelope has keys ${keys.join(',')}; version 1 has exactly ${ENVELOPE_KEYS.join(',')}`
  }
  if (!(v.author instanceof Uint8Array) || v.author.length !== 32) return 'author must be a 32-byte key'
  if (!Number.isSafeInteger(v.seq) || (v.seq as number) < 1) return 'seq must be an integer from 1'
  if (v.seq === 1 ? v.prev !== null : !isMurmurCid(v.prev, DAG_CBOR)) {
    return v.seq === 1 ? 'prev must be null at seq 1' : 'prev must be the id of the previous message'
  }
  if (!Number.isSafeInteger(v.ts) || (v.ts as number) < 0) return 'ts must be a non-negative integer'
  if (typeof v.type !== 'string' || !TYPE_PATTERN.test(v.type)) return 'type must be a short lowercase name'
  if (v.content instanceof Uint8Array) {
    if (v.type !== 'box') return 'content may be bytes only for type box'
  } else if (!isPlainObject(v.content)) {
    return 'content must be a map or bytes'
  } else if (v.type === 'box') {
    return 'a box carries bytes'
  }
  return undefined
}

/**
 * Decodes and checks a signed message, all but its signature: size, canonical DAG-CBOR (one
 * message, one id: re-encoding must give the same bytes), the version-1 envelope, the schema of
 * known content types. Returns the message with its id, or why it was rejected. Never throws.
 */
export function decodeMsg(bytes: Uint8Array, sha256: Sha256 = defaultSha256): Result<Msg> {
  if (bytes.length > MAX_MSG_BYTES) return reject('too-large', `${bytes.length} bytes, the limit is ${MAX_MSG_BYTES}`)
  // Canonical DAG-CBOR only: decodeCanonical accepts exactly the bytes the encoder would write
  // for what they decode to, in one pass (no re-encoding).
  let decoded: unknown
  try {
    decoded = decodeCanonical(bytes)
  } catch (err) {
    return reject('non-canonical', `not canonical DAG-CBOR: ${(err as Error).message}`)
  }
  if (!Array.isArray(decoded) || decoded.length !== 2) return reject('malformed', 'a message is [msg, sig]')
  const [value, sig] = decoded as [unknown, unknown]
  if (!(sig instanceof Uint8Array) || sig.length !== 64) return reject('malformed', 'sig must be 64 bytes')
  if (!isPlainObject(value)) return reject('malformed', 'msg must be a map')
  const envelope = checkEnvelope(value)
  if (envelope !== undefined) return reject('bad-envelope', envelope)
  if (!(value.content instanceof Uint8Array)) {
    const content = checkContent(value.type as string, value.content as Record<string, unknown>)
    if (content !== undefined) return reject('bad-content', content)
  }
  return { ok: true, value: { id: cidOf(DAG_CBOR, bytes, sha256), bytes, value: value as unknown as MsgValue } }
}

/** The bytes a message's signature signs: the domain prefix and the unsigned message. */
export function signingInput(msg: Msg): Uint8Array {
  return concatBytes(MSG_SIGN_DOMAIN, msg.bytes.subarray(1, msg.bytes.length - 66))
}

/** The signature inside a signed message. */
export function signatureOf(msg: Msg): Uint8Array {
  return msg.bytes.subarray(msg.bytes.length - 64)
}

/** The ed25519 check of `msg`'s own signature, for a batch verifier. */
export function verifyItem(msg: Msg): VerifyItem {
  return { publicKey: msg.value.author, message: signingInput(msg), signature: signatureOf(msg) }
}

/**
 * Checks the signature of every message (each one's own, never only the newest of a batch)
 * with strict RFC 8032 rules. Returns, in order, each message verified or `undefined`.
 */
export async function verifyMsgs(ed: Ed25519, msgs: readonly Msg[]): Promise<(VerifiedMsg | undefined)[]> {
  const verdicts = await verifyStrict(ed, msgs.map(verifyItem))
  return msgs.map((m, i) => (verdicts[i] ? (m as VerifiedMsg) : undefined))
}

/** Decodes and verifies signed messages: each result is a verified message or why not. */
export async function validateMsgs(
  ed: Ed25519,
  list: readonly Uint8Array[],
  sha256: Sha256 = defaultSha256,
): Promise<Result<VerifiedMsg>[]> {
  const decoded = list.map((b) => decodeMsg(b, sha256))
  const wellFormed = decoded.flatMap((r) => (r.ok ? [r.value] : []))
  const checked = await verifyMsgs(ed, wellFormed)
  let j = 0
  return decoded.map((r) => {
    if (!r.ok) return r
    const v = checked[j++]
    return v ? { ok: true as const, value: v } : reject('bad-signature', 'the signature does not verify')
  })
}

/** Where a new message goes: the author's current head, or none for their first message. */
export interface Head {
  readonly seq: number
  readonly id: CID
}

/** Input to {@link createMsg}. */
export type Draft = {
  [T in keyof KnownContent]: { type: T; content: KnownContent[T] }
}[keyof KnownContent] & { ts?: number }

/** A draft of any type, including ones core does not know. */
export interface AnyDraft {
  type: string
  content: Record<string, unknown> | Uint8Array
  ts?: number
}

/**
 * Signs a new message that extends `head` (undefined for a feed's first message).
 * @throws {MurmurError} `INVALID_ARGUMENT` when the draft would not be a valid message (bad
 * content, over 8 KiB): we never sign what others would reject.
 */
export async function createMsg(
  ed: Ed25519,
  keys: Keypair,
  head: Head | undefined,
  draft: Draft | AnyDraft,
  sha256: Sha256 = defaultSha256,
): Promise<VerifiedMsg> {
  const value: MsgValue = {
    author: keys.publicKey,
    seq: head ? head.seq + 1 : 1,
    prev: head ? head.id : null,
    ts: draft.ts ?? Date.now(),
    type: draft.type,
    content: draft.content as Record<string, unknown> | Uint8Array,
  }
  let unsigned: Uint8Array
  try {
    unsigned = dagCbor.encode(value)
  } catch (cause) {
    throw new MurmurError('INVALID_ARGUMENT', `cannot encode the message: ${(cause as Error).message}`, { cause })
  }
  const sig = await ed.sign(keys.seed, concatBytes(MSG_SIGN_DOMAIN, unsigned))
  const bytes = concatBytes(new Uint8Array([0x82]), unsigned, new Uint8Array([SIG_HEADER_0, SIG_HEADER_1]), sig)
  const result = decodeMsg(bytes, sha256)
  if (!result.ok) throw new MurmurError('INVALID_ARGUMENT', `invalid ${draft.type} message: ${result.reason}`)
  // Verify what we signed: a seed that does not match the public key must fail here, not on
  // every peer that receives the message.
  const [checked] = await verifyMsgs(ed, [result.value])
  if (!checked) throw new MurmurError('INVALID_ARGUMENT', 'the secret key does not match the public key')
  return checked
}

/** The content of `msg` typed by its type, when it is that known type. */
export function contentOf<T extends keyof KnownContent>(msg: Msg, type: T): KnownContent[T] | undefined {
  return msg.value.type === type ? (msg.value.content as unknown as KnownContent[T]) : undefined
}
