/**
 * Issue 2's benchmark: 100,000 messages from 1,000 authors appended with full validation
 * (decode, canonical check, schema, id, strict ed25519) into classic-level, then all views
 * indexed, beside the raw single-core ed25519 verify rate of the same run.
 */
import { hash } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { decodeMsg, type Ed25519, type Msg, type Sha256, verifyMsgs } from '@murmur/core'
import { Store } from '@murmur/store'
import { ClassicLevel } from 'classic-level'
import { MemorySampler, mb } from './memory.js'
import { readWorkload, writeWorkload } from './workload.js'

export const nodeSha256: Sha256 = (b) => hash('sha256', b, 'buffer')

export interface StoreBenchResult {
  messages: number
  authors: number
  appendPerSec: number
  indexPerSec: number
  peakRssMb: number
  peakHeapMb: number
  heapCheckpoints: { label: string; rssMb: number; heapMb: number }[]
}

const log = (s: string) => process.stderr.write(`${s}\n`)

/** Runs the store benchmark; `authors × perAuthor` messages. */
export async function benchStore(ed: Ed25519, opts: { authors: number; perAuthor: number }): Promise<StoreBenchResult> {
  const dir = await mkdtemp(join(tmpdir(), 'murmur-bench-'))
  try {
    const file = join(dir, 'workload.bin')
    const total = opts.authors * opts.perAuthor
    log(`writing the workload: ${total} messages from ${opts.authors} authors…`)
    const w = await writeWorkload(ed, file, { ...opts, onProgress: (n) => log(`  ${n}/${total}`) })
    const memory = new MemorySampler()
    memory.mark('start')
    const db = new ClassicLevel(join(dir, 'db'), { keyEncoding: 'view', valueEncoding: 'view' })
    const store = await Store.open(db, { me: w.me.publicKey, autoIndex: false })

    log('appending with validation…')
    const t0 = performance.now()
    let done = 0
    let pending: Promise<unknown> = Promise.resolve()
    for await (const chunk of readWorkload(file, 1000)) {
      const msgs: Msg[] = []
      for (const bytes of chunk) {
        const r = decodeMsg(bytes, nodeSha256)
        if (r.ok) msgs.push(r.value)
      }
      const verified = (await verifyMsgs(ed, msgs)).filter((m) => m !== undefined)
      // The previous chunk's write overlaps this chunk's validation (LevelDB writes off-thread).
      await pending
      pending = store.appendMany(verified)
      done += chunk.length
      if (done % (total / 4) === 0) memory.mark(`appended ${done}`)
    }
    await pending
    const appendSecs = (performance.now() - t0) / 1000
    if (store.size !== total) throw new Error(`appended ${store.size} of ${total}`)

    log('indexing all views…')
    const t1 = performance.now()
    const quarter = setInterval(() => memory.sample(), 20)
    await store.index()
    clearInterval(quarter)
    const indexSecs = (performance.now() - t1) / 1000
    memory.mark('indexed')
    const page = await store.views.timeline.page({ limit: 20 })
    if (page.items.length === 0) throw new Error('the timeline is empty after indexing')
    await store.close()
    memory.stop()
    return {
      messages: total,
      authors: opts.authors,
      appendPerSec: Math.round(total / appendSecs),
      indexPerSec: Math.round(total / indexSecs),
      peakRssMb: mb(memory.peakRss),
      peakHeapMb: mb(memory.peakHeap),
      heapCheckpoints: memory.checkpoints,
    }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}
