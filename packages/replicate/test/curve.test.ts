import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { test } from 'node:test'
import { toHex } from '@murmur/core'
import curve, { type CurveKeyPair } from '../src/curve.js'

// The real curve gives Buffers in Node: compare bytes, not classes.
const hexPair = (k: CurveKeyPair) => ({ publicKey: toHex(k.publicKey), secretKey: toHex(k.secretKey) })

test('the handshake curve gives the bytes of noise-curve-ed on sodium-native', () => {
  const real = createRequire(import.meta.url)('noise-curve-ed') as typeof curve
  for (const name of ['DHLEN', 'PKLEN', 'SCALARLEN', 'SKLEN', 'ALG'] as const) assert.equal(curve[name], real[name])
  const pairs = [1, 2, 3].map((i) => {
    const seed = new Uint8Array(32).fill(i)
    const ours = curve.generateKeyPair(seed)
    assert.deepEqual(hexPair(ours), hexPair(real.generateKeyPair(seed)), `keypair of seed ${i}`)
    return ours
  })
  const random = curve.generateKeyPair()
  assert.deepEqual(hexPair(random), hexPair(real.generateKeyPair(random.secretKey)))
  for (const a of [...pairs, random]) {
    for (const b of pairs) assert.equal(toHex(curve.dh(b.publicKey, a)), toHex(real.dh(b.publicKey, a)))
  }
  // Both refuse a small-order point (here the identity) and a non-canonical encoding (y = p).
  const identity = Uint8Array.of(1, ...new Uint8Array(31))
  const yIsP = Uint8Array.of(0xed, ...new Uint8Array(30).fill(0xff), 0x7f)
  for (const bad of [identity, yIsP]) {
    assert.throws(() => real.dh(bad, random))
    assert.throws(() => curve.dh(bad, random))
  }
})
