/**
 * sodium-native on every core: verification of large batches is split across worker threads,
 * so a peer catching up verifies at the machine's full rate while its main thread decodes and
 * stores. Small batches (a live message or a few) are verified inline, which is faster than a
 * round trip to a thread. Signing and key derivation stay on the calling thread.
 *
 * Items are packed into one transferable buffer per thread (`pk ‖ sig ‖ length ‖ message`), so
 * a batch costs one message each way, not one per item. Items whose key or signature length is
 * wrong never reach a thread (the verdict is false, as in the single-thread backend).
 */
import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'
import { createSodiumEd25519 } from './sodium.js'
import type { Ed25519, VerifyItem } from './types.js'

/** Options of {@link createSodiumPool}. */
export interface SodiumPoolOptions {
  /** Worker threads (default: the number of cores). */
  threads?: number
  /** Batches smaller than this are verified inline (default 64). */
  inlineBelow?: number
}

interface Pending {
  resolve: (verdicts: Uint8Array) => void
  reject: (err: unknown) => void
}

/** The sodium backend with verification spread over worker threads; named `'sodium-pool'`. */
export function createSodiumPool(opts: SodiumPoolOptions = {}): Ed25519 {
  const local = createSodiumEd25519()
  const verifySync = local.verifySync as NonNullable<typeof local.verifySync>
  const threads = Math.max(1, opts.threads ?? availableParallelism())
  const inlineBelow = opts.inlineBelow ?? 64
  const pending = new Map<number, Pending>()
  let nextId = 0
  let workers: Worker[] | undefined

  function start(): Worker[] {
    if (workers) return workers
    workers = Array.from({ length: threads }, () => {
      const w = new Worker(new URL('./sodium-worker.js', import.meta.url))
      w.unref()
      w.on('message', ({ id, verdicts }: { id: number; verdicts: Uint8Array }) => {
        pending.get(id)?.resolve(verdicts)
        pending.delete(id)
      })
      w.on('error', (err) => {
        for (const p of pending.values()) p.reject(err)
        pending.clear()
      })
      return w
    })
    return workers
  }

  function send(worker: Worker, items: readonly VerifyItem[]): Promise<Uint8Array> {
    let size = 0
    for (const it of items) size += 100 + it.message.length
    const buf = new ArrayBuffer(size)
    const bytes = new Uint8Array(buf)
    const view = new DataView(buf)
    let at = 0
    for (const it of items) {
      bytes.set(it.publicKey, at)
      bytes.set(it.signature, at + 32)
      view.setUint32(at + 96, it.message.length)
      bytes.set(it.message, at + 100)
      at += 100 + it.message.length
    }
    const id = nextId++
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject })
      worker.postMessage({ id, buf, count: items.length }, [buf])
    })
  }

  return {
    name: 'sodium-pool',
    publicKey: (seed) => local.publicKey(seed),
    sign: (seed, message) => local.sign(seed, message),
    verifySync,
    async verifyBatch(items) {
      const ok = items.map((it) => it.publicKey.length === 32 && it.signature.length === 64)
      const todo = items.filter((_, i) => ok[i])
      if (todo.length < inlineBelow) return items.map((it, i) => (ok[i] as boolean) && verifySync(it))
      const pool = start()
      const per = Math.ceil(todo.length / pool.length)
      const parts = await Promise.all(
        pool.map((w, i) => (i * per < todo.length ? send(w, todo.slice(i * per, (i + 1) * per)) : new Uint8Array(0))),
      )
      const verdicts = parts.flatMap((p) => Array.from(p, (v) => v === 1))
      let j = 0
      return items.map((_, i) => (ok[i] ? (verdicts[j++] as boolean) : false))
    },
    async close() {
      const ws = workers
      workers = undefined
      if (ws) await Promise.all(ws.map((w) => w.terminate()))
    },
  }
}
