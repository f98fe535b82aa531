/**
 * The fresh peer of the replication benchmark, as a process of its own (forked by sync.ts with
 * --expose-gc), so that its peak RSS is its own and not the benchmark's leftovers. It gets a
 * {@link PeerJob} over IPC, and answers with `checkpoint` messages while it syncs (the parent
 * samples the serving process's memory at the same moments) and one `result` (or `error`).
 *
 * Like `murmur sync`: a new identity, a new classic-level store (views indexed as messages
 * arrive), ed25519 verification on every core (the sodium pool), and a Replicator. It first
 * follows every author (not timed), so it wants all of them; then it dials the serving peer and
 * is timed from the dial until every message of the workload is appended.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fromHex, keypairFromSeed } from '@murmur/core'
import { createSodiumPool } from '@murmur/core/sodium-pool'
import { nodeDial } from '@murmur/net/node'
import { type PeerCounters, Replicator } from '@murmur/replicate'
import { Store } from '@murmur/store'
import { ClassicLevel } from 'classic-level'
import { MemorySampler, mb } from './memory.js'
import { nodeSha256 } from './store.js'
import { type LatencyStats, latencyStats, nextAppend, WARM_UP } from './sync-latency.js'
import { ProcSampler } from './sync-proc.js'
import { callServe } from './sync-serve.js'

/** What the parent asks of the fresh peer. */
export interface PeerJob {
  /** The serving peer's WebSocket URL and control socket. */
  readonly url: string
  readonly socket: string
  /** The serving peer's id (hex): followed too, for the latency posts. */
  readonly serve: string
  /** The workload's authors (hex), all followed. */
  readonly authors: readonly string[]
  /** Messages to receive. */
  readonly messages: number
  /** Posts for the latency run. */
  readonly posts: number
  /** How long the sync may take (ms). */
  readonly timeoutMs: number
}

/** What the fresh peer reports. */
export interface PeerResult {
  /** From the dial until every message was appended. */
  readonly syncSeconds: number
  /** From the dial until every view had indexed them too. */
  readonly indexedSeconds: number
  /** CPU seconds of this process (every thread) from the dial until every message was appended. */
  readonly syncCpuSeconds: number
  readonly peakRssMb: number
  /** The peak of anonymous memory (RSS without file-backed pages: binary, libraries, LevelDB tables). */
  readonly peakAnonMb: number
  readonly peakHeapMb: number
  /** The heap after GC, and the RSS split into anonymous and file-backed pages. */
  readonly checkpoints: PeerCheckpoint[]
  readonly counters: PeerCounters
  /** `post` through the serving peer's control socket until stored here. */
  readonly latency: LatencyStats
  /** The control socket's answer alone (the serving peer signed and stored the post). */
  readonly postAnswer: LatencyStats
}

/** The fresh peer's memory at one moment of the run. */
export interface PeerCheckpoint {
  readonly label: string
  readonly heapMb: number
  readonly rssMb: number
  readonly anonMb: number
  readonly fileMb: number
}

/** IPC messages from the fresh peer. */
export type PeerMessage =
  | { readonly type: 'checkpoint'; readonly label: string }
  | { readonly type: 'result'; readonly result: PeerResult }
  | { readonly type: 'error'; readonly message: string }

const log = (s: string) => process.stderr.write(`${s}\n`)

async function runPeer(job: PeerJob, tell: (m: PeerMessage) => void): Promise<PeerResult> {
  const dir = await mkdtemp(join(tmpdir(), 'murmur-fresh-'))
  const ed = createSodiumPool()
  const keys = await keypairFromSeed(ed, globalThis.crypto.getRandomValues(new Uint8Array(32)))
  const db = new ClassicLevel<Uint8Array, Uint8Array>(join(dir, 'db'), { keyEncoding: 'view', valueEncoding: 'view' })
  const store = await Store.open(db, { me: keys.publicKey })
  const heap = new MemorySampler()
  const memory = new ProcSampler(process.pid)
  const checkpoints: PeerCheckpoint[] = []
  const mark = (label: string): void => {
    heap.mark(label) // a full GC first (the parent runs this process with --expose-gc)
    const m = memory.sample()
    checkpoints.push({
      label,
      heapMb: heap.checkpoints.at(-1)?.heapMb ?? 0,
      rssMb: mb(m.rss),
      anonMb: mb(m.anon),
      fileMb: mb(m.file),
    })
    tell({ type: 'checkpoint', label })
  }
  let replicator: Replicator | undefined
  try {
    for (const hex of [job.serve, ...job.authors]) {
      const target = fromHex(hex)
      if (!target) throw new Error(`not a feed id: ${hex}`)
      await store.publish(ed, keys, { type: 'contact', content: { target, following: true } })
    }
    await store.indexed()
    replicator = new Replicator({ store, ed, keys, sha256: nodeSha256 })
    const wanted = (await replicator.wanted()).length
    if (wanted < job.authors.length + 2) throw new Error(`the fresh peer wants ${wanted} feeds, not all authors`)
    mark('before sync')

    log(`fresh peer: syncing ${job.messages} messages from ${job.url}…`)
    const t0 = performance.now()
    const cpu0 = process.cpuUsage()
    const conn = replicator.connect(await nodeDial(job.url, { timeoutMs: 15_000 }), { initiator: true })
    // Checkpoints at 25, 50 and 75 % inside the timed part (each a full GC of a small heap), 100 %
    // after it.
    const quarters = [1, 2, 3].map((q) => Math.ceil((job.messages * q) / 4))
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        off()
        reject(new Error(`the sync did not finish within ${job.timeoutMs / 1000} s (${conn.progress().received})`))
      }, job.timeoutMs)
      const off = conn.onProgress(({ received }) => {
        while (quarters[0] !== undefined && received >= quarters[0]) {
          const q = quarters.shift() as number
          mark(`synced ${Math.round((q / job.messages) * 100)}%`)
        }
        if (received >= job.messages) {
          off()
          clearTimeout(timer)
          resolve()
        }
      })
      void conn.closed.then((info) => {
        off()
        clearTimeout(timer)
        reject(new Error(`the connection closed during the sync: ${info.reason}`))
      })
    })
    const syncSeconds = (performance.now() - t0) / 1000
    const cpu = process.cpuUsage(cpu0)
    const syncCpuSeconds = (cpu.user + cpu.system) / 1e6
    mark('synced 100%')
    await store.indexed(job.timeoutMs)
    const indexedSeconds = (performance.now() - t0) / 1000
    mark('indexed')
    if (store.size !== job.messages + job.authors.length + 1) {
      throw new Error(`the fresh peer holds ${store.size} messages, not ${job.messages} + its own`)
    }
    const counters = conn.counters()

    log(`fresh peer: ${job.posts} posts on the serving peer (control socket)…`)
    const serve = fromHex(job.serve) as Uint8Array
    const latency: number[] = []
    const answer: number[] = []
    for (let i = -WARM_UP; i < job.posts; i++) {
      const t = performance.now()
      const arrived = nextAppend(store, serve)
      await callServe(job.socket, 'post', { positionals: [`latency ${i}`], values: {} })
      const answered = performance.now()
      const at = await arrived
      if (i < 0) continue
      latency.push(at - t)
      answer.push(answered - t)
    }
    memory.sample()
    return {
      syncSeconds,
      indexedSeconds,
      syncCpuSeconds,
      peakRssMb: mb(memory.peakRss),
      peakAnonMb: mb(memory.peakAnon),
      peakHeapMb: mb(heap.peakHeap),
      checkpoints,
      counters,
      latency: latencyStats(latency),
      postAnswer: latencyStats(answer),
    }
  } finally {
    memory.stop()
    heap.stop()
    await replicator?.close()
    await store.close()
    await ed.close?.()
    await rm(dir, { recursive: true, force: true })
  }
}

process.once('message', (job: PeerJob) => {
  const tell = (m: PeerMessage): void => {
    process.send?.(m)
  }
  runPeer(job, tell).then(
    (result) => {
      tell({ type: 'result', result })
      process.disconnect?.()
    },
    (err: unknown) => {
      tell({ type: 'error', message: (err as Error)?.stack ?? String(err) })
      process.disconnect?.()
    },
  )
})
