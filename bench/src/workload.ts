/**
 * The benchmark workload: `authors` feeds of `perAuthor` messages each, interleaved as a peer
 * would receive them, with a realistic mix (profiles, follows, posts, replies, likes). Written
 * to a file as length-prefixed signed messages so the benchmark can stream it back without
 * holding it in memory.
 */
import { createWriteStream } from 'node:fs'
import { open } from 'node:fs/promises'
import {
  type CID,
  createMsg,
  type Draft,
  type Ed25519,
  type Keypair,
  keypairFromSeed,
  type Sha256,
  type VerifiedMsg,
  validateMsgs,
} from '@murmur/core'

const WORDS =
  'the a murmur feed gossip peer log view hash key kappa merkle node browser offline friends names petname'.split(' ')

function text(rand: () => number): string {
  const n = 12 + Math.floor(rand() * 25)
  return Array.from({ length: n }, () => WORDS[Math.floor(rand() * WORDS.length)]).join(' ')
}

/** A small deterministic PRNG (mulberry32), so every run writes the same workload. */
export function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Writes the workload to `path`; returns the number of messages and bytes. */
export async function writeWorkload(
  ed: Ed25519,
  path: string,
  opts: { authors: number; perAuthor: number; onProgress?: (done: number) => void },
): Promise<{ messages: number; bytes: number; me: Keypair }> {
  const rand = prng(42)
  const keys: Keypair[] = []
  for (let i = 0; i < opts.authors; i++) {
    const seed = new Uint8Array(32)
    new DataView(seed.buffer).setUint32(0, i + 1)
    keys.push(await keypairFromSeed(ed, seed))
  }
  const heads: (VerifiedMsg | undefined)[] = new Array(opts.authors).fill(undefined)
  const recent: CID[] = []
  const out = createWriteStream(path)
  let messages = 0
  let bytes = 0
  const t0 = 1_760_000_000_000
  for (let s = 1; s <= opts.perAuthor; s++) {
    for (let a = 0; a < opts.authors; a++) {
      const k = keys[a] as Keypair
      const pick = (): CID | undefined => recent[Math.floor(rand() * recent.length)]
      let draft: Draft
      const other = keys[Math.floor(rand() * opts.authors)] as Keypair
      const link = pick()
      if (s === 1)
        draft = { type: 'about', content: { target: k.publicKey, name: `author ${a}`, description: text(rand) } }
      else if (s % 10 === 2) draft = { type: 'contact', content: { target: other.publicKey, following: true } }
      else if (s % 10 === 5 && link) draft = { type: 'vote', content: { link, value: 1 } }
      else if (s % 4 === 3 && link) draft = { type: 'post', content: { text: text(rand), root: link, branch: [link] } }
      else draft = { type: 'post', content: { text: text(rand) } }
      const h = heads[a]
      const msg = await createMsg(ed, k, h && { seq: h.value.seq, id: h.id }, {
        ...draft,
        ts: t0 + messages * 1000,
      })
      heads[a] = msg
      if (msg.value.type === 'post') {
        if (recent.length < 1000) recent.push(msg.id)
        else recent[Math.floor(rand() * recent.length)] = msg.id
      }
      const len = new Uint8Array(4)
      new DataView(len.buffer).setUint32(0, msg.bytes.length)
      out.write(len)
      if (!out.write(msg.bytes)) await new Promise<void>((r) => out.once('drain', () => r()))
      messages++
      bytes += msg.bytes.length
      if (messages % 10_000 === 0) opts.onProgress?.(messages)
    }
  }
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())))
  return { messages, bytes, me: keys[0] as Keypair }
}

/** Streams the workload back in chunks of `chunk` messages. */
export async function* readWorkload(path: string, chunk: number): AsyncGenerator<Uint8Array[]> {
  const fh = await open(path)
  try {
    let buf = new Uint8Array(0)
    let batch: Uint8Array[] = []
    const block = new Uint8Array(1 << 20)
    for (;;) {
      const { bytesRead } = await fh.read(block, 0, block.length)
      if (bytesRead === 0) break
      const next = new Uint8Array(buf.length + bytesRead)
      next.set(buf)
      next.set(block.subarray(0, bytesRead), buf.length)
      buf = next
      let at = 0
      while (at + 4 <= buf.length) {
        const len = new DataView(buf.buffer, buf.byteOffset + at, 4).getUint32(0)
        if (at + 4 + len > buf.length) break
        batch.push(buf.slice(at + 4, at + 4 + len))
        at += 4 + len
        if (batch.length === chunk) {
          yield batch
          batch = []
        }
      }
      buf = buf.slice(at)
    }
    if (batch.length) yield batch
  } finally {
    await fh.close()
  }
}

/**
 * Validates a chunk of the workload as a peer validates bytes from the network (core's
 * `validateMsgs`: decode, canonical form, schema, id, signature). Decoding is done before this
 * returns; the signatures are checked by the promise (on worker threads with the pool backend).
 * @throws when a message is invalid: the workload is broken, and figures would be meaningless.
 */
export function validateChunk(ed: Ed25519, chunk: readonly Uint8Array[], sha256: Sha256): Promise<VerifiedMsg[]> {
  return validateMsgs(ed, chunk, sha256).then((results) =>
    results.map((r) => {
      if (!r.ok) throw new Error(`the workload has an invalid message: ${r.reason}`)
      return r.value
    }),
  )
}
