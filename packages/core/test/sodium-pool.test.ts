import assert from 'node:assert/strict'
import { test } from 'node:test'
import { createSodiumEd25519 } from '../src/ed25519/sodium.js'
import { createSodiumPool } from '../src/ed25519/sodium-pool.js'
import type { VerifyItem } from '../src/index.js'

test('the sodium pool gives the same verdicts as sodium on one thread, inline and on workers', async () => {
  const single = createSodiumEd25519()
  const pool = createSodiumPool({ threads: 2, inlineBelow: 16 })
  try {
    const seed = new Uint8Array(32).fill(9)
    const publicKey = await single.publicKey(seed)
    assert.deepEqual(await pool.publicKey(seed), publicKey)
    const items: VerifyItem[] = []
    for (let i = 0; i < 300; i++) {
      const message = new Uint8Array(10 + (i % 50)).fill(i & 255)
      const signature = await pool.sign(seed, message)
      if (i % 7 === 0) signature[5] = (signature[5] as number) ^ 1 // forged
      if (i % 11 === 0)
        items.push({ publicKey, message, signature: new Uint8Array([...signature, 0]) }) // 65 bytes
      else if (i % 13 === 0) items.push({ publicKey: publicKey.subarray(0, 31), message, signature })
      else items.push({ publicKey, message, signature })
    }
    const expected = await single.verifyBatch(items)
    assert.ok(expected.some((v) => v) && expected.some((v) => !v))
    assert.deepEqual(await pool.verifyBatch(items), expected, 'on worker threads')
    assert.deepEqual(await pool.verifyBatch(items.slice(0, 10)), expected.slice(0, 10), 'inline')
    assert.deepEqual(await pool.verifyBatch([]), [])
  } finally {
    await pool.close?.()
  }
})
