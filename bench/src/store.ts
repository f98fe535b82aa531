/**
 * Issue 2's benchmark: 100,000 messages from 1,000 authors appended with full validation
 * (decode, canonical check, schema, id, strict ed25519) into classic-level, then all views
 * indexed, beside the raw single-core ed25519 verify rate of the same run.
 */
import { hash } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Ed25519, Sha256, VerifiedMsg } from '@murmur/core'
import { Store } from '@murmur/store'
import { ClassicLevel } from 'classic-level'
import { MemorySampler, mb } from './memory.js'
import { readWorkload, validateChunk, writeWorkload } from './workload.js'

export const nodeSha256: Sha256 = (b) => hash('sha256', b, 'buffer')

export interface StoreBenchResult {
  messages: number
  authors: number
  /** Appends with validation, verification on this thread. */
  appendPerSec: number
  /** Appends with validation, verification on a worker thread per core. */
  appendPoolPerSec: number
  indexPerSec: number
  peakRssMb: number
  peakHeapMb: number
  heapCheckpoints: { label: string; rssMb: number; heapMb: number }[]
}

const log = (s: string) => process.stderr.write(`${s}\n`)

/** Appends the workload at `file` with full validation; returns the seconds it took. */
async function appendAll(ed: Ed25519, store: Store, file: string, onChunk: (done: number) => void): Promise<number> {
  const t0 = performance.now()
  let done = 0
  // A two-stage pipeline: while chunk k is verified (on worker threads with the pool backend),
  // chunk k - 1 is appended; decoding happens on this thread in between.
  let inFlight: Promise<VerifiedMsg[]> | undefined
  for await (const chunk of readWorkload(file, 1000)) {
    const next = validateChunk(ed, chunk, nodeSha256)
    if (inFlight) await store.appendMany(await inFlight)
    inFlight = next
    done += chunk.length
    onChunk(done)
  }
  if (inFlight) await store.appendMany(await inFlight)
  return (performance.now() - t0) / 1000
}

async function openStore(path: string, me: Uint8Array): Promise<Store> {
  return Store.open(new ClassicLevel(path, { keyEncoding: 'view', valueEncoding: 'view' }), { me, autoIndex: false })
}

/**
 * Runs the store benchmark on `authors × perAuthor` messages: appends with validation on one
 * core (`single`) and with verification on every core (`pool`), then indexes all views.
 */
export async function benchStore(
  backends: { single: Ed25519; pool: Ed25519 },
  opts: { authors: number; perAuthor: number },
): Promise<StoreBenchResult> {
  const dir = await mkdtemp(join(tmpdir(), 'murmur-bench-'))
  try {
    const file = join(dir, 'workload.bin')
    const total = opts.authors * opts.perAuthor
    log(`writing the workload: ${total} messages from ${opts.authors} authors…`)
    const w = await writeWorkload(backends.single, file, { ...opts, onProgress: (n) => log(`  ${n}/${total}`) })
    const memory = new MemorySampler()
    memory.mark('start')

    log('appending with validation, one core…')
    const single = await openStore(join(dir, 'db1'), w.me.publicKey)
    const singleSecs = await appendAll(backends.single, single, file, () => memory.sample())
    if (single.size !== total) throw new Error(`appended ${single.size} of ${total}`)
    await single.close()

    log('appending with validation, verification on every core…')
    const store = await openStore(join(dir, 'db2'), w.me.publicKey)
    const poolSecs = await appendAll(backends.pool, store, file, (done) => {
      if (done % (total / 4) === 0) memory.mark(`appended ${done}`)
    })
    if (store.size !== total) throw new Error(`appended ${store.size} of ${total}`)

    log('indexing all views…')
    const t1 = performance.now()
    const sampling = setInterval(() => memory.sample(), 20)
    await store.index()
    clearInterval(sampling)
    const indexSecs = (performance.now() - t1) / 1000
    memory.mark('indexed')
    const page = await store.views.timeline.page({ limit: 20 })
    if (page.items.length === 0) throw new Error('the timeline is empty after indexing')
    await store.close()
    memory.stop()
    return {
      messages: total,
      authors: opts.authors,
      appendPerSec: Math.round(total / singleSecs),
      appendPoolPerSec: Math.round(total / poolSecs),
      indexPerSec: Math.round(total / indexSecs),
      peakRssMb: mb(memory.peakRss),
      peakHeapMb: mb(memory.peakHeap),
      heapCheckpoints: memory.checkpoints,
    }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}
