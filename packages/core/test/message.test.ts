import assert from 'node:assert/strict'
import { test } from 'node:test'
import * as dagCbor from '@ipld/dag-cbor'
import fc from 'fast-check'
import { createSodiumEd25519 } from '../src/ed25519/sodium.js'
import {
  blobId,
  type CID,
  createMsg,
  decodeMsg,
  encodeForkProof,
  extendsHead,
  type Keypair,
  keypairFromSeed,
  MAX_MSG_BYTES,
  type Msg,
  makeForkProof,
  validateMsgs,
  verifyForkProof,
  verifyMsgs,
} from '../src/index.js'

const ed = createSodiumEd25519()
const seed = (n: number) => new Uint8Array(32).fill(n)
const alice = await keypairFromSeed(ed, seed(1))
const bob = await keypairFromSeed(ed, seed(2))
const T = 1_760_000_000_000

async function chain(keys: Keypair, n: number): Promise<Msg[]> {
  const out: Msg[] = []
  for (let i = 0; i < n; i++) {
    const head = out.at(-1)
    out.push(
      await createMsg(ed, keys, head && { seq: head.value.seq, id: head.id }, {
        type: 'post',
        content: { text: `hello ${i}` },
        ts: T + i,
      }),
    )
  }
  return out
}

/** Re-signs `value` as a message without core's encoder guarding it (to build bad ones). */
async function signRaw(keys: Keypair, unsigned: Uint8Array): Promise<Uint8Array> {
  const domain = new TextEncoder().encode('murmur/msg/v1\0')
  const sig = await ed.sign(keys.seed, new Uint8Array([...domain, ...unsigned]))
  return new Uint8Array([0x82, ...unsigned, 0x58, 0x40, ...sig])
}

test('a message is the canonical DAG-CBOR [msg, sig] and decodes to what was written', async () => {
  const [m] = await chain(alice, 1)
  assert.ok(m)
  const [value, sig] = dagCbor.decode(m.bytes) as [Record<string, unknown>, Uint8Array]
  assert.deepEqual(new Uint8Array(dagCbor.encode([value, sig])), new Uint8Array(m.bytes))
  assert.deepEqual(value.author, alice.publicKey)
  assert.equal(value.seq, 1)
  assert.equal(value.prev, null)
  assert.equal(value.type, 'post')
  assert.deepEqual(value.content, { text: 'hello 0' })
  const again = decodeMsg(m.bytes)
  assert.ok(again.ok)
  assert.ok(again.value.id.equals(m.id))
  assert.equal(m.id.code, 0x71)
  assert.equal(m.id.version, 1)
})

test('messages chain by seq and prev, and verify', async () => {
  const msgs = await chain(alice, 3)
  assert.ok(extendsHead(alice.publicKey, undefined, msgs[0] as Msg))
  assert.ok(extendsHead(alice.publicKey, { seq: 1, id: (msgs[0] as Msg).id }, msgs[1] as Msg))
  assert.ok(!extendsHead(alice.publicKey, { seq: 1, id: (msgs[0] as Msg).id }, msgs[2] as Msg))
  assert.ok(!extendsHead(bob.publicKey, undefined, msgs[0] as Msg))
  const results = await validateMsgs(
    ed,
    msgs.map((m) => m.bytes),
  )
  assert.ok(results.every((r) => r.ok))
})

test('non-canonical encodings are rejected: one message, one id', async () => {
  const value = {
    author: alice.publicKey,
    seq: 1,
    prev: null,
    ts: T,
    type: 'post',
    content: { text: 'x' },
  }
  const good = dagCbor.encode(value)
  assert.ok(decodeMsg(await signRaw(alice, good)).ok)

  // Keys in a non-canonical order (DAG-CBOR sorts by length, then bytes): swap "ts" and "seq".
  const reordered = new Uint8Array(good)
  const tsAt = good.findIndex((_, i) => good[i] === 0x62 && good[i + 1] === 0x74 && good[i + 2] === 0x73)
  assert.ok(tsAt > 0)
  const unordered = (() => {
    // Build the map by hand: a6 | "seq" 1 | "ts" T | ... (seq before ts is wrong order)
    const parts: number[] = [0xa6]
    const enc = (x: unknown) => [...dagCbor.encode(x)]
    parts.push(...enc('seq'), ...enc(1), ...enc('ts'), ...enc(T))
    for (const k of ['prev', 'type', 'author', 'content'] as const) parts.push(...enc(k), ...enc(value[k]))
    return new Uint8Array(parts)
  })()
  assert.notDeepEqual(unordered, reordered)
  const r1 = decodeMsg(await signRaw(alice, unordered))
  assert.equal(r1.ok, false)
  assert.equal(!r1.ok && r1.code, 'non-canonical')

  // A non-minimal integer: seq 1 written as 0x18 0x01.
  const seqAt = good.findIndex((_, i) => good[i] === 0x63 && good[i + 1] === 0x73 && good[i + 2] === 0x65)
  const nonMinimal = new Uint8Array([...good.subarray(0, seqAt + 4), 0x18, 0x01, ...good.subarray(seqAt + 5)])
  const r2 = decodeMsg(await signRaw(alice, nonMinimal))
  assert.ok(
    !r2.ok && ['malformed', 'non-canonical'].includes(r2.code),
    'the strict decoder or the re-encoding rejects it',
  )

  // A float where an integer belongs (DAG-CBOR decoders accept it).
  const withFloat = dagCbor.encode({ ...value, ts: T + 0.5 })
  const r3 = decodeMsg(await signRaw(alice, withFloat))
  assert.equal(r3.ok, false)
})

test('the envelope allows exactly its keys and types', async () => {
  const base = { author: alice.publicKey, seq: 1, prev: null, ts: T, type: 'post', content: { text: 'x' } }
  const cases: [string, Record<string, unknown>][] = [
    ['extra key', { ...base, extra: 1 }],
    ['missing key', { author: base.author, seq: 1, prev: null, ts: T, type: 'post' }],
    ['short author', { ...base, author: new Uint8Array(31) }],
    ['seq 0', { ...base, seq: 0 }],
    ['prev at seq 1', { ...base, prev: blobId(new Uint8Array(1)) }],
    ['no prev at seq 2', { ...base, seq: 2 }],
    ['negative ts', { ...base, ts: -1 }],
    ['uppercase type', { ...base, type: 'Post' }],
    ['bytes content without box', { ...base, content: new Uint8Array(4) }],
    ['box with a map', { ...base, type: 'box' }],
  ]
  for (const [name, v] of cases) {
    const r = decodeMsg(await signRaw(alice, dagCbor.encode(v)))
    assert.equal(r.ok, false, name)
    assert.equal(!r.ok && r.code, 'bad-envelope', name)
  }
  const box = decodeMsg(await signRaw(alice, dagCbor.encode({ ...base, type: 'box', content: new Uint8Array(40) })))
  assert.ok(box.ok, 'a box (encrypted content) passes the envelope')
})

test('known content types are checked; unknown types pass and are kept', async () => {
  const msgLink = (await chain(bob, 1))[0]?.id as CID
  const good = [
    { type: 'post', content: { text: 'hi', root: msgLink, branch: [msgLink], mentions: [bob.publicKey] } },
    {
      type: 'post',
      content: { text: 'pic', blobs: [{ link: blobId(new Uint8Array(3)), type: 'image/png', size: 3, alt: 'a dot' }] },
    },
    { type: 'contact', content: { target: bob.publicKey, following: true } },
    { type: 'about', content: { target: alice.publicKey, name: 'Alice', description: 'hello' } },
    { type: 'vote', content: { link: msgLink, value: 1 } },
    { type: 'peer', content: { urls: ['wss://example.invalid/murmur'] } },
    { type: 'chess-move', content: { move: 'e4', anything: [1, 2, 3] } },
  ]
  for (const d of good) {
    const m = await createMsg(ed, alice, undefined, { ...d, ts: T } as never)
    assert.ok(decodeMsg(m.bytes).ok, d.type)
  }
  const bad = [
    { type: 'post', content: { text: 1 } },
    { type: 'post', content: { text: 'x', branch: [msgLink] } },
    { type: 'post', content: { text: 'x', root: 'not a link' } },
    { type: 'post', content: { text: 'x', blobs: [{ link: msgLink, type: 'image/png', size: 1 }] } },
    { type: 'contact', content: { target: new Uint8Array(5), following: true } },
    { type: 'contact', content: { target: bob.publicKey, following: 'yes' } },
    { type: 'about', content: { target: bob.publicKey, name: 'x'.repeat(101) } },
    { type: 'vote', content: { link: msgLink, value: 5 } },
    { type: 'peer', content: { urls: 'wss://x' } },
  ]
  for (const d of bad) {
    await assert.rejects(
      createMsg(ed, alice, undefined, { ...d, ts: T } as never),
      (e: Error & { code?: string }) => e.code === 'INVALID_ARGUMENT',
      JSON.stringify(d.content, (_k, v) => (v instanceof Uint8Array ? `bytes${v.length}` : v)),
    )
    const r = decodeMsg(
      await signRaw(alice, dagCbor.encode({ author: alice.publicKey, seq: 1, prev: null, ts: T, ...d })),
    )
    assert.equal(!r.ok && r.code, 'bad-content', d.type)
  }
})

test('messages over 8 KiB are refused', async () => {
  await assert.rejects(
    createMsg(ed, alice, undefined, { type: 'post', content: { text: 'x'.repeat(MAX_MSG_BYTES) } }),
    (e: Error & { code?: string }) => e.code === 'INVALID_ARGUMENT',
  )
  const r = decodeMsg(new Uint8Array(MAX_MSG_BYTES + 1))
  assert.equal(!r.ok && r.code, 'too-large')
})

test('garbage never throws', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
      const r = decodeMsg(bytes)
      assert.equal(typeof r.ok, 'boolean')
    }),
    { numRuns: 2000 },
  )
})

test('property: decode(encode(x)) = x for any post', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.string({ maxLength: 300 }),
      fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
      fc.option(fc.string({ maxLength: 50 }), { nil: undefined }),
      async (text, ts, cw) => {
        const content = cw === undefined ? { text } : { text, cw }
        const m = await createMsg(ed, alice, undefined, { type: 'post', content, ts })
        const r = decodeMsg(m.bytes)
        assert.ok(r.ok)
        assert.deepEqual(r.value.value.content, content)
        assert.equal(r.value.value.ts, ts)
        assert.ok(r.value.id.equals(m.id))
      },
    ),
    { numRuns: 200 },
  )
})

test('property: flipping any bit of a signed message makes it fail', async () => {
  const msgs = await chain(alice, 2)
  const m = msgs[1] as Msg
  await fc.assert(
    fc.asyncProperty(fc.nat({ max: m.bytes.length * 8 - 1 }), async (bit) => {
      const bytes = new Uint8Array(m.bytes)
      bytes[bit >> 3] = (bytes[bit >> 3] as number) ^ (1 << (bit & 7))
      const [r] = await validateMsgs(ed, [bytes])
      assert.equal(r?.ok, false)
    }),
    { numRuns: 500 },
  )
  // And exhaustively, every byte position once.
  const flips = Array.from({ length: m.bytes.length }, (_, i) => {
    const b = new Uint8Array(m.bytes)
    b[i] = (b[i] as number) ^ 0x01
    return b
  })
  const results = await validateMsgs(ed, flips)
  assert.ok(results.every((r) => !r.ok))
})

test('a message signed by another key does not verify', async () => {
  const [m] = await chain(alice, 1)
  assert.ok(m)
  const forged = decodeMsg(await signRaw(bob, m.bytes.subarray(1, m.bytes.length - 66)))
  assert.ok(forged.ok, 'well-formed')
  const [v] = await verifyMsgs(ed, [forged.value])
  assert.equal(v, undefined)
})

test('fork proofs: two messages at one seq convict the author; anyone can check', async () => {
  const a = await createMsg(ed, alice, undefined, { type: 'post', content: { text: 'one' }, ts: T })
  const b = await createMsg(ed, alice, undefined, { type: 'post', content: { text: 'two' }, ts: T })
  const proof = makeForkProof(a, b)
  assert.deepEqual(makeForkProof(b, a), proof, 'the same fork gives the same proof')
  const checked = await verifyForkProof(ed, encodeForkProof(proof))
  assert.ok(checked.ok)
  assert.equal(checked.value.seq, 1)
  assert.deepEqual(checked.value.author, alice.publicKey)
  assert.throws(() => makeForkProof(a, a), { code: 'INVALID_ARGUMENT' })
  const c = await createMsg(ed, bob, undefined, { type: 'post', content: { text: 'two' }, ts: T })
  assert.throws(() => makeForkProof(a, c), { code: 'INVALID_ARGUMENT' })
  // Tampered: one message's bytes changed.
  const tampered = new Uint8Array(proof.b)
  tampered[tampered.length - 1] = (tampered[tampered.length - 1] as number) ^ 1
  const bad = await verifyForkProof(ed, { ...proof, b: tampered })
  assert.equal(bad.ok, false)
  assert.equal((await verifyForkProof(ed, new Uint8Array([1, 2, 3]))).ok, false)
  // Not a fork: different seqs.
  const [, second] = await chain(alice, 2)
  assert.equal((await verifyForkProof(ed, { ...proof, b: (second as Msg).bytes })).ok, false)
})
