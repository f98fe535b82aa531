/**
 * Experiment: a fresh Chromium page syncs 10k messages of 100 authors from a real `murmur serve`
 * over WebSocket into IndexedDB (browser/sync.entry.ts). Options: `--runs=N` (fresh page each),
 * `--trace` (when each verify and append ran), `--profile` (a CDP CPU profile of the last run; `--profile-out=FILE` saves it), `--window=BYTES`, `--batch=N` (the page's
 * replicator limits), `--authors=N --per=N` (the workload), `--verify-workers=N` (a prototype:
 * signatures verified by WebCrypto in N dedicated workers instead of on the page).
 */
import { writeFileSync } from 'node:fs'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { formatFeedId } from '@murmur/core'
import { createSodiumEd25519 } from '@murmur/core/sodium'
import { callEntry, openEntryPage } from '@murmur/testkit/browser'
import { prepareServe, spawnServe } from './sync-serve.js'
import { writeWorkload } from './workload.js'

const arg = (name: string): string | undefined =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3)
const runs = Number(arg('runs') ?? 1)
const profile = process.argv.includes('--profile')
const limits: Record<string, number> = {}
if (arg('window')) limits.window = Number(arg('window'))
if (arg('batch')) limits.batchMessages = Number(arg('batch'))

const ed = await createSodiumEd25519()
const dir = await mkdtemp(join(tmpdir(), 'bsync-'))
const file = join(dir, 'w.bin')
const w = await writeWorkload(ed, file, {
  authors: Number(arg('authors') ?? 100),
  perAuthor: Number(arg('per') ?? 100),
})
const prep = await prepareServe(ed, join(dir, 'serve'), file)
const bin = fileURLToPath(new URL('../../packages/peer/bin/murmur.js', import.meta.url))
const serve = await spawnServe(bin, join(dir, 'serve'))
const entry = fileURLToPath(new URL('./browser/sync.entry.js', import.meta.url))
try {
  for (let run = 0; run < runs; run++) {
    const page = await openEntryPage(entry, 30000, {})
    try {
      const cdp = profile && run === runs - 1 ? await page.page.context().newCDPSession(page.page) : undefined
      if (cdp) {
        await cdp.send('Profiler.enable')
        await cdp.send('Profiler.setSamplingInterval', { interval: 200 })
        await cdp.send('Profiler.start')
      }
      const trace = process.argv.includes('--trace')
      const verifyWorkers = Number(arg('verify-workers') ?? 0)
      const input = {
        url: serve.ws,
        authors: prep.authors.map(formatFeedId),
        messages: w.messages,
        limits,
        trace,
        verifyWorkers,
      }
      const r = await callEntry(page, 'sync', input, 300000)
      console.log(JSON.stringify(r))
      if (cdp) {
        const { profile: p } = (await cdp.send('Profiler.stop')) as { profile: CpuProfile }
        const out = arg('profile-out')
        if (out) writeFileSync(out, JSON.stringify(p))
        printProfile(p)
      }
    } finally {
      await page.close()
    }
  }
} finally {
  await serve.stop()
}
process.exit(0)

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[]
  samples: number[]
  timeDeltas: number[]
}

function printProfile(p: CpuProfile): void {
  const self = new Map<string, number>()
  const byId = new Map(p.nodes.map((n) => [n.id, n]))
  for (let i = 0; i < p.samples.length; i++) {
    const n = byId.get(p.samples[i] as number)
    if (!n) continue
    const k = `${n.callFrame.functionName || '(anon)'} ${n.callFrame.url.split('/').pop()}:${n.callFrame.lineNumber}`
    self.set(k, (self.get(k) ?? 0) + (p.timeDeltas[i] ?? 0))
  }
  const total = [...self.values()].reduce((a, b) => a + b, 0)
  for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 25)) {
    console.log((v / 1000).toFixed(0).padStart(6), 'ms', ((100 * v) / total).toFixed(1).padStart(5), '%', k)
  }
}
