/**
 * The replication benchmark: the initial sync of `authors × perAuthor` messages from one
 * `murmur serve` process (the real CLI, spawned) to a fresh peer over WebSocket on loopback,
 * as messages per second and the peak memory of each side; then the latency from `post` on one
 * peer to the message stored on a connected peer.
 *
 * Three processes: this one writes the workload and builds the serving peer's data folder
 * (sync-serve.ts), the serving peer, and the fresh peer (sync-peer.ts, forked so its memory is
 * its own). The serving peer's memory is read from /proc while the fresh peer syncs, at the
 * fresh peer's checkpoints (25/50/75/100 % received), and its kernel high-water mark at the end.
 * Latency is measured twice: posts on the serving peer (over its control socket) until stored
 * on the fresh peer, and two peers of this process over a loopback WebSocket (sync-latency.ts).
 */
import { fork } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { toHex } from '@murmur/core'
import { createSodiumEd25519 } from '@murmur/core/sodium'
import { createSodiumPool } from '@murmur/core/sodium-pool'
import { mb } from './memory.js'
import { type LatencyStats, pairLatency } from './sync-latency.js'
import type { PeerCheckpoint, PeerJob, PeerMessage, PeerResult } from './sync-peer.js'
import { type ProcMemory, ProcSampler, procCpuSeconds } from './sync-proc.js'
import { exitOf, prepareServe, spawnServe } from './sync-serve.js'
import { writeWorkload } from './workload.js'

/** The figures of {@link benchSync}. */
export interface SyncBenchResult {
  messages: number
  authors: number
  /** Messages per second from the dial until every message was appended on the fresh peer. */
  syncPerSec: number
  syncSeconds: number
  /** Until the fresh peer's views had indexed everything too. */
  indexedSeconds: number
  /** CPU seconds (all threads) each side used during the sync, against its wall time. */
  cpu: { freshSeconds: number; serveSeconds: number }
  fresh: {
    peakRssMb: number
    /** Peak RSS without file-backed pages (binary, libraries, LevelDB's mapped tables). */
    peakAnonMb: number
    peakHeapMb: number
    /** The fresh peer's heap after GC and RSS, and the serving peer's RSS at the same moment. */
    checkpoints: (PeerCheckpoint & { serveRssMb: number; serveAnonMb: number; serveFileMb: number })[]
  }
  serve: {
    /** RSS once it was ready, before anyone connected. */
    readyRssMb: number
    /** The kernel's high-water mark (VmHWM) at the end. */
    peakRssMb: number
    peakAnonMb: number
  }
  /** The fresh peer's connection counters (bytes are sealed frame bytes). */
  wire: { received: number; bytesIn: number; bytesOut: number; duplicates: number; invalid: number }
  latency: {
    /** `post` on the serving peer (control socket) until stored on the fresh peer. */
    serveToFresh: LatencyStats
    /** The control socket's answer alone: the serving peer has signed and stored the post. */
    servePostAnswer: LatencyStats
    /** Two peers in one process over a loopback WebSocket: publish until stored. */
    loopbackPair: LatencyStats
  }
}

const log = (s: string) => process.stderr.write(`${s}\n`)
const round2 = (n: number): number => Math.round(n * 100) / 100

/**
 * `MURMUR_BENCH_CPU_PROF=DIR` runs both peers with `--cpu-prof` (profiles written to DIR when
 * they exit), to see where a slow sync spends its time.
 */
/** Node flags of the two peers: as `npm start` runs a peer (scripts/start.mjs), and profiling if asked. */
function nodeArgs(): string[] {
  const dir = process.env.MURMUR_BENCH_CPU_PROF
  return ['--max-semi-space-size=32', ...(dir ? ['--cpu-prof', '--cpu-prof-dir', dir] : [])]
}

/**
 * Runs the replication benchmark.
 * @throws when the serving peer or the fresh peer fails, or the sync does not finish in time.
 */
export async function benchSync(opts: { authors: number; perAuthor: number; posts: number }): Promise<SyncBenchResult> {
  const dir = await mkdtemp(join(tmpdir(), 'murmur-sync-'))
  try {
    const file = join(dir, 'workload.bin')
    const total = opts.authors * opts.perAuthor
    log(`sync: writing the workload: ${total} messages from ${opts.authors} authors…`)
    await writeWorkload(createSodiumEd25519(), file, { authors: opts.authors, perAuthor: opts.perAuthor })
    log('sync: building the serving peer’s data folder…')
    const pool = createSodiumPool()
    const serveDir = join(dir, 'serve')
    let prepared: Awaited<ReturnType<typeof prepareServe>>
    try {
      prepared = await prepareServe(pool, serveDir, file)
    } finally {
      await pool.close?.()
    }
    await rm(file)

    const bin = fileURLToPath(new URL('../../bin/murmur.js', import.meta.resolve('@murmur/peer')))
    const serve = await spawnServe(bin, serveDir, nodeArgs())
    const serveMemory = new ProcSampler(serve.pid)
    const ready = serveMemory.sample()
    const serveAt = new Map<string, ProcMemory>()
    const serveCpu = new Map<string, number>()
    let result: PeerResult
    try {
      const job: PeerJob = {
        url: serve.ws,
        socket: serve.socket,
        serve: toHex(prepared.id),
        authors: prepared.authors.map(toHex),
        messages: prepared.messages,
        posts: opts.posts,
        timeoutMs: Math.max(120_000, prepared.messages * 2),
      }
      const child = fork(fileURLToPath(new URL('./sync-peer.js', import.meta.url)), {
        execArgv: ['--expose-gc', ...nodeArgs()],
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      })
      try {
        result = await new Promise<PeerResult>((resolve, reject) => {
          child.on('message', (m: PeerMessage) => {
            if (m.type === 'checkpoint') {
              serveAt.set(m.label, serveMemory.sample())
              serveCpu.set(m.label, procCpuSeconds(serve.pid))
            } else if (m.type === 'result') resolve(m.result)
            else reject(new Error(`the fresh peer failed: ${m.message}`))
          })
          child.once('exit', (code) => reject(new Error(`the fresh peer exited (${code}) without a result`)))
          child.send(job)
        })
        // It exits by itself once it has closed its store; a handle left open is not worth a hang.
        await exitOf(child, 10_000)
      } finally {
        if (child.exitCode === null) child.kill()
      }
      serveMemory.sample()
    } finally {
      serveMemory.stop()
      await serve.stop()
    }

    log(`sync: latency of ${opts.posts} posts between two peers of this process over a loopback WebSocket…`)
    const loopbackPair = await pairLatency(opts.posts)
    const c = result.counters
    return {
      messages: prepared.messages,
      authors: prepared.authors.length,
      syncPerSec: Math.round(prepared.messages / result.syncSeconds),
      syncSeconds: round2(result.syncSeconds),
      indexedSeconds: round2(result.indexedSeconds),
      cpu: {
        freshSeconds: round2(result.syncCpuSeconds),
        serveSeconds: round2((serveCpu.get('synced 100%') ?? 0) - (serveCpu.get('before sync') ?? 0)),
      },
      fresh: {
        peakRssMb: result.peakRssMb,
        peakAnonMb: result.peakAnonMb,
        peakHeapMb: result.peakHeapMb,
        checkpoints: result.checkpoints.map((cp) => {
          const m = serveAt.get(cp.label)
          return { ...cp, serveRssMb: mb(m?.rss ?? 0), serveAnonMb: mb(m?.anon ?? 0), serveFileMb: mb(m?.file ?? 0) }
        }),
      },
      serve: {
        readyRssMb: mb(ready.rss),
        peakRssMb: mb(serveMemory.peakRss),
        peakAnonMb: mb(serveMemory.peakAnon),
      },
      wire: {
        received: c.received,
        bytesIn: c.bytesIn,
        bytesOut: c.bytesOut,
        duplicates: c.duplicates,
        invalid: c.invalid,
      },
      latency: { serveToFresh: result.latency, servePostAnswer: result.postAnswer, loopbackPair },
    }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}
