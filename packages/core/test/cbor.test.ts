import assert from 'node:assert/strict'
import { test } from 'node:test'
import * as dagCbor from '@ipld/dag-cbor'
import fc from 'fast-check'
import { CID } from 'multiformats/cid'
import { CborError, decodeCanonical } from '../src/cbor.js'
import { blobId, cidOf, DAG_CBOR, equalBytes } from '../src/index.js'

/** What the reference library says: the value, when the bytes are canonical DAG-CBOR, else undefined. */
function reference(bytes: Uint8Array): { ok: true; value: unknown } | { ok: false } {
  try {
    const value = dagCbor.decode(bytes)
    return equalBytes(dagCbor.encode(value), bytes) ? { ok: true, value } : { ok: false }
  } catch {
    return { ok: false }
  }
}

function ours(bytes: Uint8Array): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: decodeCanonical(bytes) }
  } catch (e) {
    assert.ok(e instanceof CborError, `only CborError is thrown, got ${e}`)
    return { ok: false }
  }
}

const cids = [blobId(new Uint8Array([1])), cidOf(DAG_CBOR, new Uint8Array([2]))]
const safeInt = fc.integer({ min: -Number.MAX_SAFE_INTEGER + 1, max: Number.MAX_SAFE_INTEGER })
const leaf = fc.oneof(
  safeInt,
  fc.integer({ min: -300, max: 70000 }),
  fc.double({ noNaN: true, noDefaultInfinity: true }).filter((d) => !Number.isInteger(d)),
  fc.string({ maxLength: 20 }),
  fc.string({ unit: 'binary', maxLength: 10 }),
  fc.uint8Array({ maxLength: 40 }),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom(...cids),
)
const value = fc.letrec((tie) => ({
  node: fc.oneof({ depthSize: 'small' }, leaf, tie('array'), tie('map')),
  array: fc.array(tie('node'), { maxLength: 5 }),
  map: fc.dictionary(fc.string({ maxLength: 8 }), tie('node'), { maxKeys: 6 }),
})).node

test('decodes whatever the DAG-CBOR encoder writes, to the same value', () => {
  fc.assert(
    fc.property(value, (v) => {
      const bytes = dagCbor.encode(v)
      assert.deepEqual(ours(bytes), reference(bytes))
    }),
    { numRuns: 3000 },
  )
})

test('agrees with decode-then-re-encode on mutated bytes (accepts exactly the canonical ones)', () => {
  fc.assert(
    fc.property(value, fc.nat(), fc.integer({ min: 0, max: 255 }), fc.nat({ max: 3 }), (v, pos, byte, op) => {
      const enc = dagCbor.encode(v)
      const at = pos % (enc.length + 1)
      const mutated =
        op === 0
          ? new Uint8Array([...enc.subarray(0, at), byte, ...enc.subarray(at + 1)])
          : op === 1
            ? new Uint8Array([...enc.subarray(0, at), byte, ...enc.subarray(at)])
            : op === 2
              ? new Uint8Array([...enc.subarray(0, at), ...enc.subarray(at + 1)])
              : enc.subarray(0, at)
      const a = ours(mutated)
      const b = reference(mutated)
      // The deliberate differences: we reject integers beyond ±(2^53 − 1) (DAG-CBOR allows 64-bit
      // ones, which JavaScript reads as BigInt) and integral floats (the encoder writes those as
      // floats only beyond ±2^64, where no integer form exists).
      const outside = (x: unknown): boolean =>
        typeof x === 'bigint' || (typeof x === 'number' && Number.isInteger(x) && !Number.isSafeInteger(x))
      if (!a.ok && b.ok && JSON.stringify(b.value, (_k, x) => (outside(x) ? 'OUTSIDE' : x))?.includes('OUTSIDE')) return
      assert.equal(a.ok, b.ok, Buffer.from(mutated).toString('hex'))
      if (a.ok && b.ok) assert.deepEqual(a.value, b.value)
    }),
    { numRuns: 5000 },
  )
})

test('rejects each non-canonical form', () => {
  const bad: [string, string][] = [
    ['1801', 'integer 1 in two bytes'],
    ['190010', 'integer 16 in three bytes'],
    ['5f40ff', 'indefinite bytes'],
    ['a2616201616100', 'keys out of order'],
    ['a2616101616101', 'repeated key'],
    ['a2626161016162', 'longer key first'],
    ['a10101', 'integer key'],
    ['f7', 'undefined'],
    ['f93c00', 'half float'],
    ['fa3fc00000', 'single float'],
    ['fb3ff0000000000000', 'integral float 1.0'],
    ['fb7ff8000000000000', 'NaN'],
    ['c11a00000000', 'tag 1'],
    ['d82a4100', 'tag 42 without a CID'],
    ['0102', 'trailing bytes'],
    ['62c328', 'invalid UTF-8'],
    ['1b0020000000000000', '2^53'],
    ['3b001fffffffffffff', '-(2^53)'],
    ['9a00010000', 'array longer than the input'],
    ['', 'empty'],
  ]
  for (const [hex, why] of bad) assert.throws(() => decodeCanonical(Buffer.from(hex, 'hex')), CborError, why)
  let deep = new Uint8Array(100).fill(0x81)
  deep = new Uint8Array([...deep, 0])
  assert.throws(() => decodeCanonical(deep), /deep/)
})

test('a __proto__ key is data, never a prototype', () => {
  const bytes = Buffer.from('a1695f5f70726f746f5f5fa1617801', 'hex') // {"__proto__": {"x": 1}}
  const v = decodeCanonical(bytes) as Record<string, unknown>
  assert.equal(Object.getPrototypeOf(v), Object.prototype)
  assert.deepEqual(Object.keys(v), ['__proto__'])
  assert.equal((v as { x?: number }).x, undefined)
  assert.ok(CID.asCID(decodeCanonical(dagCbor.encode(cids[0]))))
})
