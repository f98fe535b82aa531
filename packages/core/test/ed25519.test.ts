/**
 * The ed25519 layer: every backend (sodium-native, WebCrypto on Node's OpenSSL, noble) against
 * RFC 8032 and Wycheproof, core's strict pre-checks (their blocklists derived from point math),
 * crafted cases where the raw backends disagree, and property tests that the strict verdict
 * never depends on the backend.
 */
import assert from 'node:assert/strict'
import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { etc, verify as nobleCofactoredVerify, Point } from '@noble/ed25519'
import fc from 'fast-check'
import {
  createNobleEd25519,
  createWebCryptoEd25519,
  type Ed25519,
  isCanonicalEncoding,
  isCanonicalScalar,
  isSmallOrderEncoding,
  SMALL_ORDER_ENCODINGS,
  strictPrecheck,
  type VerifyItem,
  verifyStrict,
  verifyStrictSync,
} from '../src/ed25519/index.js'
import { createSodiumEd25519 } from '../src/ed25519/sodium.js'
import { isMurmurError } from '../src/errors.js'
import {
  craftedCases,
  type Ed25519Vectors,
  runChecks,
  torsionPoints,
  type VerifyCase,
} from './browser/ed25519.entry.js'

const hex = (s: string): Uint8Array => etc.hexToBytes(s)
const hx = (b: Uint8Array): string => etc.bytesToHex(b)
const L = Point.CURVE().n
const P = Point.CURVE().p

// The vectors live beside the repo: <root>/../shared/vectors, root = the workspaces package.
function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url))
  for (;;) {
    const pkg = path.join(dir, 'package.json')
    if (existsSync(pkg) && 'workspaces' in JSON.parse(readFileSync(pkg, 'utf8'))) return dir
    const up = path.dirname(dir)
    if (up === dir) throw new Error('no package.json with "workspaces" above this test')
    dir = up
  }
}
const vectorsDir = path.resolve(repoRoot(), '../shared/vectors')
const readJson = (name: string): unknown => JSON.parse(readFileSync(path.join(vectorsDir, name), 'utf8'))

interface RfcVector {
  priv: string
  pub: string
  msg: string
  sig: string
}
interface WycheproofFile {
  numberOfTests: number
  testGroups: { publicKey: { pk: string }; tests: { tcId: number; msg: string; sig: string; result: string }[] }[]
}
const rfc = readJson('rfc8032-ed25519.json') as RfcVector[]
const wycheproof = readJson('wycheproof-ed25519_test.json') as WycheproofFile
const wycheproofCases: VerifyCase[] = wycheproof.testGroups.flatMap((g) =>
  g.tests.map((t) => ({
    id: `wycheproof #${t.tcId}`,
    publicKey: g.publicKey.pk,
    message: t.msg,
    signature: t.sig,
    valid: t.result === 'valid',
  })),
)
const crafted = craftedCases()
const itemOf = (c: VerifyCase): VerifyItem => ({
  publicKey: hex(c.publicKey),
  message: hex(c.message),
  signature: hex(c.signature),
})

const sodium = createSodiumEd25519()
const webcrypto = createWebCryptoEd25519(globalThis.crypto.subtle)
const noble = createNobleEd25519()
const backends: readonly Ed25519[] = [sodium, webcrypto, noble]

const seedArb = fc.uint8Array({ minLength: 32, maxLength: 32 })
const scalarArb = fc.bigInt({ min: 1n, max: L - 1n })

async function strictOnAll(items: readonly VerifyItem[]): Promise<boolean[][]> {
  return Promise.all(backends.map((b) => verifyStrict(b, items)))
}

// --- Outside vectors -------------------------------------------------------------------------

test('RFC 8032 section 7.1 vectors: publicKey, sign (byte-exact) and verify on every backend', async () => {
  assert.equal(rfc.length, 4)
  const vectors: Ed25519Vectors = {
    sign: rfc.map((v) => ({ seed: v.priv, publicKey: v.pub, message: v.msg, signature: v.sig })),
    verify: rfc.map((v, i) => ({
      id: `rfc8032 #${i}`,
      publicKey: v.pub,
      message: v.msg,
      signature: v.sig,
      valid: true,
    })),
  }
  for (const r of await runChecks(backends, vectors)) {
    assert.deepEqual(
      r.publicKeys,
      rfc.map((v) => v.pub),
      `${r.name} publicKey`,
    )
    assert.deepEqual(
      r.signatures,
      rfc.map((v) => v.sig),
      `${r.name} sign`,
    )
    assert.deepEqual(r.strict, [true, true, true, true], `${r.name} verifyStrict`)
  }
})

test('Wycheproof: all 151 cases through verifyStrict on every backend (88 valid accepted, 63 invalid rejected)', async () => {
  assert.equal(wycheproofCases.length, 151)
  assert.equal(wycheproof.numberOfTests, 151)
  assert.equal(wycheproofCases.filter((c) => c.valid).length, 88)
  const items = wycheproofCases.map(itemOf)
  const expected = wycheproofCases.map((c) => c.valid)
  for (const b of backends) {
    const verdicts = await verifyStrict(b, items)
    for (const [i, c] of wycheproofCases.entries()) assert.equal(verdicts[i], c.valid, `${b.name} ${c.id}`)
    if (b.verifySync) {
      assert.deepEqual(
        items.map((it) => verifyStrictSync(b, it)),
        expected,
        `${b.name} verifyStrictSync`,
      )
    }
  }
})

test('Wycheproof: raw sodium-native reads only 64 bytes of a longer signature; the sodium backend never passes one', async () => {
  const native = createRequire(import.meta.url)('sodium-native') as {
    crypto_sign_verify_detached(sig: Uint8Array, m: Uint8Array, pk: Uint8Array): boolean
  }
  const garbage = wycheproofCases.filter((c) => c.signature.length > 128)
  const acceptedByNative = garbage.filter((c) => {
    const it = itemOf(c)
    return native.crypto_sign_verify_detached(it.signature, it.message, it.publicKey)
  })
  // #33 (2 bytes appended), #34 (pk appended), #37 (0 appended): all "invalid"
  assert.deepEqual(
    acceptedByNative.map((c) => c.id),
    ['wycheproof #33', 'wycheproof #34', 'wycheproof #37'],
  )
  assert.ok(acceptedByNative.every((c) => !c.valid))
  assert.deepEqual(await sodium.verifyBatch(acceptedByNative.map(itemOf)), [false, false, false])
})

test("Wycheproof #151: noble's own (ZIP215, cofactored) verify accepts R = (0, 1) with x's sign bit set; ours does not", async () => {
  const c = wycheproofCases.find((w) => w.id === 'wycheproof #151')
  assert.ok(c && !c.valid)
  const it = itemOf(c)
  assert.equal(nobleCofactoredVerify(it.signature, it.message, it.publicKey), true)
  assert.equal(noble.verifySync?.(it), false)
  assert.equal(isSmallOrderEncoding(it.signature.subarray(0, 32)), true)
  assert.deepEqual(await strictOnAll([it]), [[false], [false], [false]])
})

// --- The pre-check's constants, derived from point math ---------------------------------------

test('small-order blocklist: every entry decodes (leniently) to a point P with [8]P = identity', () => {
  assert.equal(SMALL_ORDER_ENCODINGS.length, 10)
  assert.equal(new Set(SMALL_ORDER_ENCODINGS).size, 10)
  for (const e of SMALL_ORDER_ENCODINGS) {
    const p = Point.fromHex(e, true)
    assert.ok(p.multiply(8n, false).is0(), e)
    assert.ok(isSmallOrderEncoding(hex(e)), e)
  }
})

test('small-order blocklist: exactly the 8 torsion points plus the two "x = 0, sign bit set" encodings', () => {
  const torsion = torsionPoints()
  const canonical = new Set(torsion.map((p) => p.toHex()))
  assert.equal(canonical.size, 8, 'the torsion subgroup has 8 distinct points')
  for (const p of torsion) assert.ok(p.isSmallOrder())
  // Every encoding with y < p of a small-order point: the canonical one, and the one with the
  // sign bit flipped where that still decodes leniently (only when x = 0).
  const all = new Set<string>()
  for (const p of torsion) {
    const enc = p.toBytes()
    all.add(hx(enc))
    const flipped = enc.slice()
    flipped[31] = (flipped[31] as number) ^ 0x80
    let q: Point | undefined
    try {
      q = Point.fromBytes(flipped, true)
    } catch {
      q = undefined
    }
    if (q !== undefined) {
      assert.ok(q.isSmallOrder())
      all.add(hx(flipped))
    }
  }
  assert.deepEqual([...all].sort(), [...SMALL_ORDER_ENCODINGS].sort())
  // The two extra ones are exactly the non-canonical x = 0 forms, which RFC 8032 decoding rejects.
  const extra = SMALL_ORDER_ENCODINGS.filter((e) => !canonical.has(e))
  assert.equal(extra.length, 2)
  for (const e of extra) {
    assert.equal(Point.fromHex(e, true).x, 0n)
    assert.throws(() => Point.fromHex(e, false))
  }
})

test('canonical check: the 38 encodings with y in [p, 2^255 - 1] are rejected, y = p - 1 is not', () => {
  let rejected = 0
  for (let y = P; y < 2n ** 255n; y++) {
    for (const sign of [0n, 1n]) {
      const enc = le32(y | (sign << 255n))
      assert.equal(isCanonicalEncoding(enc), false, hx(enc))
      assert.equal(strictPrecheck(enc, validSignature()), false)
      assert.equal(strictPrecheck(validKey(), cat(enc, validSignature().subarray(32))), false)
      rejected++
    }
  }
  assert.equal(rejected, 38)
  for (const y of [P - 1n, P - 2n, 0n, 1n, 2n ** 254n]) {
    assert.equal(isCanonicalEncoding(le32(y)), true)
    assert.equal(isCanonicalEncoding(le32(y | (1n << 255n))), true)
  }
})

test('scalar check: S < L exactly', () => {
  for (const s of [0n, 1n, L - 1n]) assert.equal(isCanonicalScalar(le32(s)), true, String(s))
  for (const s of [L, L + 1n, 2n ** 252n + 2n ** 128n, 2n ** 253n, 2n ** 255n, 2n ** 256n - 1n]) {
    assert.equal(isCanonicalScalar(le32(s)), false, String(s))
  }
  assert.equal(isCanonicalScalar(new Uint8Array(31)), false)
  fc.assert(
    fc.property(fc.bigInt({ min: 0n, max: 2n ** 256n - 1n }), (s) => isCanonicalScalar(le32(s)) === s < L),
    { numRuns: 500 },
  )
  fc.assert(
    fc.property(fc.bigInt({ min: L - 2n ** 130n, max: L + 2n ** 130n }), (s) => isCanonicalScalar(le32(s)) === s < L),
    { numRuns: 500 },
  )
})

test('lengths: only a 32-byte key and a 64-byte signature pass', () => {
  const key = validKey()
  const sig = validSignature()
  assert.equal(strictPrecheck(key, sig), true)
  for (const n of [0, 32, 63, 65, 96, 128])
    assert.equal(strictPrecheck(key, new Uint8Array(n).fill(7)), false, `sig ${n}`)
  for (const n of [0, 31, 33, 64]) assert.equal(strictPrecheck(new Uint8Array(n).fill(7), sig), false, `key ${n}`)
})

test('random points, as A and as R, are never rejected by the pre-check', () => {
  fc.assert(
    fc.property(scalarArb, scalarArb, scalarArb, (a, r, s) => {
      const A = Point.BASE.multiply(a).toBytes()
      const R = Point.BASE.multiply(r).toBytes()
      return strictPrecheck(A, cat(R, le32(s % L)))
    }),
    { numRuns: 100 },
  )
})

test('mixed-order points (random + torsion), as A and as R, are not rejected by the pre-check', () => {
  const torsion = torsionPoints()
  fc.assert(
    fc.property(scalarArb, fc.integer({ min: 1, max: 7 }), fc.integer({ min: 0, max: 7 }), (a, i, j) => {
      const base = Point.BASE.multiply(a)
      const A = base.add(torsion[i] as Point)
      const R = base.add(torsion[j] as Point).toBytes()
      assert.equal(A.isTorsionFree(), false)
      return strictPrecheck(A.toBytes(), cat(R, le32(1n)))
    }),
    { numRuns: 50 },
  )
})

// --- Crafted cases: one per rule, where the raw backends disagree ------------------------------

test('crafted cases: verifyStrict and verifyStrictSync give the intended verdict on every backend', async () => {
  assert.ok(crafted.length > 40)
  const items = crafted.map(itemOf)
  for (const b of backends) {
    const verdicts = await verifyStrict(b, items)
    for (const [i, c] of crafted.entries()) {
      assert.equal(verdicts[i], c.valid, `${b.name}: ${c.id}`)
      if (b.verifySync) assert.equal(verifyStrictSync(b, items[i] as VerifyItem), c.valid, `${b.name} sync: ${c.id}`)
    }
  }
})

test('each pre-check rule rejects its crafted cases before the backend', () => {
  const rule = (c: VerifyCase): string => {
    const it = itemOf(c)
    if (it.signature.length !== 64 || it.publicKey.length !== 32) return 'length'
    if (!isCanonicalScalar(it.signature.subarray(32))) return 'S >= L'
    if (!isCanonicalEncoding(it.publicKey) || !isCanonicalEncoding(it.signature.subarray(0, 32))) return 'non-canonical'
    if (isSmallOrderEncoding(it.publicKey) || isSmallOrderEncoding(it.signature.subarray(0, 32))) return 'small order'
    return 'passes'
  }
  const byId = (prefix: string) => crafted.filter((c) => c.id.startsWith(prefix))
  for (const c of [...byId('signature '), ...byId('key ')]) assert.equal(rule(c), 'length', c.id)
  for (const c of byId('S ')) assert.equal(rule(c), 'S >= L', c.id)
  for (const c of [...byId('A non-canonical'), ...byId('R non-canonical')]) assert.equal(rule(c), 'non-canonical', c.id)
  for (const c of [...byId('A small order'), ...byId('R small order'), ...byId('universal')]) {
    assert.equal(rule(c), 'small order', c.id)
  }
  assert.equal(byId('A small order').length, 10)
  assert.equal(byId('R small order').length, 10)
  for (const c of [...byId('genuine'), ...byId('mixed-order')]) assert.equal(rule(c), 'passes', c.id)
  for (const c of crafted) assert.equal(strictPrecheck(hex(c.publicKey), hex(c.signature)), rule(c) === 'passes', c.id)
})

test('the universal small-order key: the RAW webcrypto (OpenSSL) backend accepts any message, verifyStrict rejects', async () => {
  const identity = hex(SMALL_ORDER_ENCODINGS[0] as string)
  const signature = cat(identity, new Uint8Array(32)) // R = identity, S = 0
  await fc.assert(
    fc.asyncProperty(fc.uint8Array({ maxLength: 200 }), async (message) => {
      const it = { publicKey: identity, message, signature }
      assert.deepEqual(await webcrypto.verifyBatch([it]), [true], 'OpenSSL takes the universal key')
      assert.deepEqual(await noble.verifyBatch([it]), [true], 'so does a cofactorless check without the rule')
      assert.deepEqual(await sodium.verifyBatch([it]), [false], 'libsodium has the rule built in')
      assert.deepEqual(await strictOnAll([it]), [[false], [false], [false]])
    }),
    { numRuns: 30 },
  )
})

test('raw backends disagree on the crafted cases; after the pre-check they never do', async () => {
  const results = await runChecks(backends, { sign: [], verify: [...crafted, ...wycheproofCases] })
  const [s, w, n] = results
  assert.ok(s && w && n)
  const cases = [...crafted, ...wycheproofCases]
  const rawDisagree = cases.filter((_, i) => !(s.raw[i] === w.raw[i] && w.raw[i] === n.raw[i])).map((c) => c.id)
  // Exactly the universal key, every small-order or non-canonical A, and the canonical
  // small-order R: OpenSSL accepts them all, noble's raw cofactorless check the decodable ones,
  // libsodium none. Raw backends agree on all of Wycheproof and on the mixed-order cases.
  const expected = cases
    .filter(
      (c) =>
        c.id.startsWith('universal') ||
        c.id.startsWith('A small order') ||
        c.id.startsWith('A non-canonical') ||
        (c.id.startsWith('R small order') &&
          !c.id.startsWith('R small order #8') &&
          !c.id.startsWith('R small order #9')),
    )
    .map((c) => c.id)
  assert.equal(expected.length, 25)
  assert.deepEqual(rawDisagree, expected)
  for (const [i, c] of cases.entries()) {
    assert.equal(s.strict[i], c.valid, c.id)
    assert.equal(w.strict[i], c.valid, c.id)
    assert.equal(n.strict[i], c.valid, c.id)
  }
})

test('mixed-order signatures: cofactored verify (noble default) accepts, every backend agrees on the cofactorless verdict', async () => {
  const mixed = crafted.filter((c) => c.id.startsWith('mixed-order'))
  assert.equal(mixed.length, 5)
  const items = mixed.map(itemOf)
  for (const it of items) assert.equal(nobleCofactoredVerify(it.signature, it.message, it.publicKey), true)
  const expected = mixed.map((c) => c.valid)
  assert.deepEqual(expected, [false, true, false, false, true])
  for (const b of backends) {
    assert.deepEqual(await b.verifyBatch(items), expected, `${b.name} raw`)
    assert.deepEqual(await verifyStrict(b, items), expected, `${b.name} strict`)
  }
})

// --- Property tests across backends -----------------------------------------------------------

test('property: a signature made by any backend is the same on all and verifies on all', async () => {
  await fc.assert(
    fc.asyncProperty(seedArb, fc.uint8Array({ maxLength: 300 }), fc.nat(2), async (seed, message, signer) => {
      const b = backends[signer] as Ed25519
      const signature = await b.sign(seed, message)
      const publicKey = await b.publicKey(seed)
      for (const other of backends) {
        assert.deepEqual(await other.publicKey(seed), publicKey, other.name)
        assert.deepEqual(await other.sign(seed, message), signature, other.name)
      }
      assert.deepEqual(await strictOnAll([{ publicKey, message, signature }]), [[true], [true], [true]])
    }),
    { numRuns: 25 },
  )
})

test('property: flipping any bit of the message, the signature or the key fails on all backends', async () => {
  await fc.assert(
    fc.asyncProperty(
      seedArb,
      fc.uint8Array({ minLength: 1, maxLength: 100 }),
      fc.constantFrom('message', 'signature', 'publicKey'),
      fc.nat(),
      async (seed, message, part, at) => {
        const item = {
          publicKey: await sodium.publicKey(seed),
          message,
          signature: await sodium.sign(seed, message),
        }
        const flipped = item[part as keyof VerifyItem].slice()
        const bit = at % (flipped.length * 8)
        flipped[bit >> 3] = (flipped[bit >> 3] as number) ^ (1 << (bit & 7))
        assert.deepEqual(await strictOnAll([{ ...item, [part]: flipped }]), [[false], [false], [false]])
      },
    ),
    { numRuns: 40 },
  )
})

// Values that sit on the edges of the rules, to splice into signatures and keys.
const edgeArb = fc.oneof(
  fc.constantFrom(...SMALL_ORDER_ENCODINGS).map(hex),
  fc.integer({ min: 0, max: 18 }).map((i) => le32(P + BigInt(i))),
  fc.constantFrom(L - 1n, L, L + 1n, 2n ** 253n, 0n).map(le32),
  fc.tuple(scalarArb, fc.integer({ min: 0, max: 7 })).map(([a, i]) =>
    Point.BASE.multiply(a)
      .add(torsionPoints()[i] as Point)
      .toBytes(),
  ),
  fc.uint8Array({ minLength: 32, maxLength: 32 }),
)

test('property: strict verdicts are identical across backends on signatures with edge values spliced in', async () => {
  await fc.assert(
    fc.asyncProperty(
      seedArb,
      fc.uint8Array({ maxLength: 50 }),
      fc.constantFrom('R', 'S', 'A'),
      edgeArb,
      async (seed, message, where, edge) => {
        const publicKey = await sodium.publicKey(seed)
        const signature = await sodium.sign(seed, message)
        const item =
          where === 'A'
            ? { publicKey: edge, message, signature }
            : {
                publicKey,
                message,
                signature: where === 'R' ? cat(edge, signature.subarray(32)) : cat(signature.subarray(0, 32), edge),
              }
        const [s, w, n] = await strictOnAll([item])
        assert.deepEqual(w, s)
        assert.deepEqual(n, s)
      },
    ),
    { numRuns: 60 },
  )
})

test('property: crafted and vector cases shuffled into one batch keep their verdicts and order', async () => {
  const pool = [...crafted, ...wycheproofCases]
  await fc.assert(
    fc.asyncProperty(fc.shuffledSubarray(pool, { minLength: 1, maxLength: 40 }), async (cases) => {
      const expected = cases.map((c) => c.valid)
      for (const verdicts of await strictOnAll(cases.map(itemOf))) assert.deepEqual(verdicts, expected)
    }),
    { numRuns: 10 },
  )
})

// --- verifyStrict plumbing and the backends' edges ---------------------------------------------

test('verifyStrict: only items that pass the pre-check reach the backend, verdicts stay in order', async () => {
  const seen: VerifyItem[][] = []
  const fake: Ed25519 = {
    name: 'fake',
    publicKey: async () => new Uint8Array(32),
    sign: async () => new Uint8Array(64),
    verifyBatch: async (items) => {
      seen.push([...items])
      return items.map((it) => it.message[0] === 1)
    },
  }
  const good = { publicKey: validKey(), signature: validSignature() }
  const bad = { publicKey: validKey(), signature: cat(validSignature(), Uint8Array.of(0)) }
  const items = [
    { ...good, message: Uint8Array.of(1) },
    { ...bad, message: Uint8Array.of(1) },
    { ...good, message: Uint8Array.of(0) },
    { ...good, message: Uint8Array.of(1) },
  ]
  assert.deepEqual(await verifyStrict(fake, items), [true, false, false, true])
  assert.equal(seen.length, 1)
  assert.deepEqual(
    seen[0]?.map((it) => it.message[0]),
    [1, 0, 1],
  )
  assert.deepEqual(await verifyStrict(fake, [items[1] as VerifyItem]), [false])
  assert.equal(seen.length, 1, 'a batch of only rejected items never reaches the backend')
  assert.deepEqual(await verifyStrict(fake, []), [])
  assert.throws(
    () => verifyStrictSync(fake, items[0] as VerifyItem),
    (e) => isMurmurError(e, 'INVALID_ARGUMENT'),
  )
})

test('every backend refuses a seed that is not 32 bytes', async () => {
  for (const b of backends) {
    for (const n of [0, 31, 33, 64]) {
      await assert.rejects(
        b.sign(new Uint8Array(n), Uint8Array.of(1)),
        (e) => isMurmurError(e, 'INVALID_ARGUMENT'),
        b.name,
      )
      await assert.rejects(b.publicKey(new Uint8Array(n)), (e) => isMurmurError(e, 'INVALID_ARGUMENT'), b.name)
    }
  }
})

test('webcrypto: a key that fails to import is a false verdict, imports are cached and bounded', async () => {
  const imports: string[] = []
  const subtle = {
    importKey: async (_format: string, data: Uint8Array) => {
      imports.push(hx(data))
      if (data[0] === 0xee) throw new DOMException('bad key', 'DataError')
      return { type: 'public' } as CryptoKey
    },
    verify: async (_alg: unknown, _key: CryptoKey, signature: Uint8Array) => {
      if (signature.length !== 64) throw new DOMException('bad signature', 'OperationError')
      return true
    },
  } as unknown as SubtleCrypto
  const wc = createWebCryptoEd25519(subtle, { keyCacheSize: 2 })
  const key = (b: number) => new Uint8Array(32).fill(b)
  const it = (k: Uint8Array, sigLength = 64) => ({
    publicKey: k,
    message: Uint8Array.of(),
    signature: new Uint8Array(sigLength),
  })
  assert.deepEqual(await wc.verifyBatch([it(key(0xee)), it(key(1)), it(key(1), 63), it(key(1).subarray(1))]), [
    false,
    true,
    false,
    false,
  ])
  assert.deepEqual(imports, [hx(key(0xee)), hx(key(1))], 'one import per key, none for a 31-byte key')
  await wc.verifyBatch([it(key(1)), it(key(2)), it(key(3))]) // 3 evicts the least recently used: 1
  await wc.verifyBatch([it(key(3)), it(key(1))])
  assert.deepEqual(imports.slice(2), [hx(key(2)), hx(key(3)), hx(key(1))])
  assert.throws(
    () => createWebCryptoEd25519(subtle, { keyCacheSize: 0 }),
    (e) => isMurmurError(e, 'INVALID_ARGUMENT'),
  )
  // The real one: keys Node cannot import or cannot decode are false too, never a throw.
  const real = [it(new Uint8Array(31)), it(key(2)), it(hex(`${'ff'.repeat(31)}7f`))]
  assert.deepEqual(await webcrypto.verifyBatch(real), [false, false, false])
})

test('sodium and webcrypto: a cached signing key follows a seed array rewritten in place', async () => {
  for (const b of [createSodiumEd25519(), createWebCryptoEd25519(globalThis.crypto.subtle)]) {
    const seed = hex((rfc[0] as RfcVector).priv)
    const message = hex((rfc[0] as RfcVector).msg)
    assert.equal(hx(await b.sign(seed, message)), (rfc[0] as RfcVector).sig, b.name)
    assert.equal(hx(await b.sign(seed, message)), (rfc[0] as RfcVector).sig, `${b.name} cached`)
    seed.set(hex((rfc[1] as RfcVector).priv))
    const other = hex((rfc[1] as RfcVector).msg)
    assert.equal(hx(await b.sign(seed, other)), (rfc[1] as RfcVector).sig, `${b.name} after the rewrite`)
  }
})

// --- helpers ----------------------------------------------------------------------------------

function le32(n: bigint): Uint8Array {
  const out = new Uint8Array(32)
  for (let i = 0; i < 32; i++) out[i] = Number((n >> BigInt(8 * i)) & 0xffn)
  return out
}

function cat(...parts: Uint8Array[]): Uint8Array {
  return etc.concatBytes(...parts)
}

function validKey(): Uint8Array {
  return hex((rfc[0] as RfcVector).pub)
}

function validSignature(): Uint8Array {
  return hex((rfc[0] as RfcVector).sig)
}
