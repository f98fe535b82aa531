/**
 * Feed-chain rules and fork proofs. A feed is a merkle chain: message n+1 names message n by
 * id in `prev`, with the same author. Two valid messages with the same author and seq are a
 * fork: the author signed two histories. A {@link ForkProof} holds both signed messages, so
 * anyone can check the accusation on their own, without trusting whoever relayed it.
 */
import * as dagCbor from '@ipld/dag-cbor'
import { compareBytes, equalBytes } from './bytes.js'
import type { Ed25519 } from './ed25519/types.js'
import { MurmurError } from './errors.js'
import { defaultSha256, type Sha256 } from './hash.js'
import type { FeedId } from './keys.js'
import { decodeMsg, type Head, type Msg, type Result, type VerifiedMsg, verifyMsgs } from './message.js'

/** True when `msg` is the next message after `head` of `author`'s feed. */
export function extendsHead(author: FeedId, head: Head | undefined, msg: Msg): boolean {
  if (!equalBytes(msg.value.author, author)) return false
  if (head === undefined) return msg.value.seq === 1
  return msg.value.seq === head.seq + 1 && msg.value.prev !== null && msg.value.prev.equals(head.id)
}

/** Proof that a feed forked: two different signed messages of one author at one seq. */
export interface ForkProof {
  readonly author: FeedId
  readonly seq: number
  /** The two signed messages, in byte order so every proof of the same fork is identical. */
  readonly a: Uint8Array
  readonly b: Uint8Array
}

/**
 * The fork proof of two verified messages.
 * @throws {MurmurError} `INVALID_ARGUMENT` when they are not two different messages of one
 * author at one seq.
 */
export function makeForkProof(x: VerifiedMsg, y: VerifiedMsg): ForkProof {
  if (!equalBytes(x.value.author, y.value.author) || x.value.seq !== y.value.seq || equalBytes(x.bytes, y.bytes)) {
    throw new MurmurError('INVALID_ARGUMENT', 'a fork is two different messages of one author at one seq')
  }
  const [a, b] = compareBytes(x.bytes, y.bytes) < 0 ? [x.bytes, y.bytes] : [y.bytes, x.bytes]
  return { author: x.value.author, seq: x.value.seq, a, b }
}

/** The bytes of a fork proof (DAG-CBOR `[a, b]`: author and seq are inside the messages). */
export function encodeForkProof(proof: ForkProof): Uint8Array {
  return dagCbor.encode([proof.a, proof.b])
}

/**
 * Checks a fork proof on its own: both messages valid and signed, same author and seq,
 * different bytes. Accepts the encoded form or the object.
 */
export async function verifyForkProof(
  ed: Ed25519,
  proof: ForkProof | Uint8Array,
  sha256: Sha256 = defaultSha256,
): Promise<Result<ForkProof>> {
  let pair: [Uint8Array, Uint8Array]
  if (proof instanceof Uint8Array) {
    let decoded: unknown
    try {
      decoded = dagCbor.decode(proof)
    } catch {
      return { ok: false, code: 'malformed', reason: 'a fork proof is DAG-CBOR [a, b]' }
    }
    if (!Array.isArray(decoded) || decoded.length !== 2 || !decoded.every((x) => x instanceof Uint8Array)) {
      return { ok: false, code: 'malformed', reason: 'a fork proof is [a, b] of two messages' }
    }
    pair = decoded as [Uint8Array, Uint8Array]
  } else {
    pair = [proof.a, proof.b]
  }
  const msgs: Msg[] = []
  for (const bytes of pair) {
    const r = decodeMsg(bytes, sha256)
    if (!r.ok) return r
    msgs.push(r.value)
  }
  const [x, y] = msgs as [Msg, Msg]
  if (!equalBytes(x.value.author, y.value.author) || x.value.seq !== y.value.seq || equalBytes(x.bytes, y.bytes)) {
    return { ok: false, code: 'malformed', reason: 'not two different messages of one author at one seq' }
  }
  const checked = await verifyMsgs(ed, msgs)
  if (!checked[0] || !checked[1])
    return { ok: false, code: 'bad-signature', reason: 'a message of the proof is not signed' }
  return { ok: true, value: makeForkProof(checked[0], checked[1]) }
}
