/**
 * A verifier thread of the sodium pool (see sodium-pool.ts): receives packed batches, answers
 * with one verdict byte per item. Packed item: `pk (32) ‖ sig (64) ‖ length (u32 BE) ‖ message`.
 */
import { parentPort } from 'node:worker_threads'
import { createSodiumEd25519 } from './sodium.js'

const ed = createSodiumEd25519()
const verify = ed.verifySync as NonNullable<typeof ed.verifySync>

parentPort?.on('message', ({ id, buf, count }: { id: number; buf: ArrayBuffer; count: number }) => {
  const bytes = new Uint8Array(buf)
  const view = new DataView(buf)
  const verdicts = new Uint8Array(count)
  let at = 0
  for (let i = 0; i < count; i++) {
    const publicKey = bytes.subarray(at, at + 32)
    const signature = bytes.subarray(at + 32, at + 96)
    const len = view.getUint32(at + 96)
    const message = bytes.subarray(at + 100, at + 100 + len)
    at += 100 + len
    verdicts[i] = verify({ publicKey, message, signature }) ? 1 : 0
  }
  parentPort?.postMessage({ id, verdicts }, [verdicts.buffer])
})
