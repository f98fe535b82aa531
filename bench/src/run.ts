/**
 * `npm run bench`: every benchmark, printed as a table and written to bench/out/results.json.
 * Options: --quick (a tenth of the messages, for a smoke run); --only=store, --only=sync,
 * --only=web or --only=webrtc.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createSodiumEd25519 } from '@murmur/core/sodium'
import { createSodiumPool } from '@murmur/core/sodium-pool'
import { measureVerifyRates, rawVerifyRate } from './ed25519.js'
import { benchStore } from './store.js'
import { benchSync } from './sync.js'

// The browser benchmarks (web.ts, webrtc.ts) are loaded only when they run: playwright and the
// e2e harness add tens of MB to the heap, which slows the store and sync figures (more to mark).

const quick = process.argv.includes('--quick')
const only = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length)
const out = join(fileURLToPath(new URL('..', import.meta.url)), 'out')

const rates = await measureVerifyRates()
const rawBefore = await rawVerifyRate()
const pool = createSodiumPool()
const store =
  only !== undefined && only !== 'store'
    ? undefined
    : await benchStore({ single: createSodiumEd25519(), pool }, { authors: 1000, perAuthor: quick ? 10 : 100 })
await pool.close?.()
const sync =
  only !== undefined && only !== 'sync'
    ? undefined
    : await benchSync({ authors: 1000, perAuthor: quick ? 10 : 100, posts: quick ? 200 : 1000 })
type WebBench = typeof import('./web.js')
let web:
  | { sync: Awaited<ReturnType<WebBench['benchWebSync']>>; size: Awaited<ReturnType<WebBench['appSize']>> }
  | undefined
if (only === undefined || only === 'web') {
  const dir = await mkdtemp(join(tmpdir(), 'murmur-bench-web-'))
  try {
    const { appSize, benchWebSync } = await import('./web.js')
    const sync = await benchWebSync(createSodiumEd25519(), dir, {
      authors: 100,
      perAuthor: quick ? 10 : 100,
      log: (l) => console.log(l),
    })
    web = { sync, size: await appSize() }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}
const webrtc =
  only === undefined || only === 'webrtc'
    ? await (await import('./webrtc.js')).benchWebRtc({ posts: quick ? 4 : 20, log: (l) => console.log(l) })
    : undefined
// The yardstick: the best raw single-core rate seen before and after (the machine is shared).
const raw = Math.max(rawBefore, await rawVerifyRate())

const pct = (n: number) => `${Math.round((n / raw) * 100)}%`
console.log('\n## ed25519 (webcrypto runs on the libuv thread pool, the others on one core)')
for (const r of rates)
  console.log(
    `${r.name.padEnd(10)} verify ${String(r.verifyPerSec).padStart(7)}/s  sign ${String(r.signPerSec).padStart(7)}/s`,
  )
if (store) {
  console.log(`\n## store: ${store.messages} messages from ${store.authors} authors on classic-level`)
  console.log(`raw verify rate (sodium-native, one core, best of 6 runs): ${raw}/s`)
  console.log(`append with validation, one core:    ${store.appendPerSec}/s (${pct(store.appendPerSec)} of raw verify)`)
  console.log(
    `append with validation, every core: ${store.appendPoolPerSec}/s (${pct(store.appendPoolPerSec)} of raw verify; target >= 60%)`,
  )
  console.log(`indexing all views:                  ${store.indexPerSec}/s (target >= 50000/s)`)
  console.log(`peak RSS ${store.peakRssMb} MB, peak heap ${store.peakHeapMb} MB`)
  for (const c of store.heapCheckpoints)
    console.log(`  heap after GC at ${c.label.padEnd(16)} ${c.heapMb} MB (rss ${c.rssMb} MB)`)
}

if (sync) {
  console.log(
    `\n## sync: ${sync.messages} messages from ${sync.authors} authors, murmur serve -> fresh peer, ws loopback`,
  )
  console.log(`raw verify rate (sodium-native, one core, same run):   ${raw}/s`)
  console.log(
    `initial sync, dial to all appended: ${sync.syncPerSec}/s (${pct(sync.syncPerSec)} of raw verify; target >= 60%) in ${sync.syncSeconds} s`,
  )
  console.log(`  all views indexed on the fresh peer after ${sync.indexedSeconds} s`)
  console.log(
    `  CPU during the sync: fresh peer ${sync.cpu.freshSeconds} s, serve ${sync.cpu.serveSeconds} s (${availableParallelism()} cores)`,
  )
  console.log(
    `fresh peer: peak RSS ${sync.fresh.peakRssMb} MB (anonymous ${sync.fresh.peakAnonMb} MB), peak heap ${sync.fresh.peakHeapMb} MB`,
  )
  console.log(
    `serve:      peak RSS ${sync.serve.peakRssMb} MB (anonymous ${sync.serve.peakAnonMb} MB; ${sync.serve.readyRssMb} MB when ready)`,
  )
  console.log('  (RSS = anonymous + file-backed pages: the node binary, its libraries, mapped LevelDB tables)')
  for (const c of sync.fresh.checkpoints)
    console.log(
      `  ${c.label.padEnd(12)} fresh: heap after GC ${c.heapMb} MB, rss ${c.rssMb} MB (anon ${c.anonMb}, file ${c.fileMb});` +
        ` serve: rss ${c.serveRssMb} MB (anon ${c.serveAnonMb}, file ${c.serveFileMb})`,
    )
  const ms = (l: { medianMs: number; p99Ms: number }) => `median ${l.medianMs} ms, p99 ${l.p99Ms} ms`
  console.log(`post -> stored on a connected peer, ${sync.latency.serveToFresh.posts} posts (target < 50 ms):`)
  console.log(`  serve (control socket) -> fresh peer:  ${ms(sync.latency.serveToFresh)}`)
  console.log(`    serve's answer to the post request:  ${ms(sync.latency.servePostAnswer)}`)
  console.log(`  two peers in one process, ws loopback: ${ms(sync.latency.loopbackPair)}`)
}

if (web) {
  const { sync: ws, size } = web
  console.log(
    `\n## web: a fresh Chromium context syncs ${ws.messages} messages from ${ws.authors} authors into IndexedDB`,
  )
  console.log(`sync, peer added to all held: ${ws.syncPerSec}/s (target >= 2000/s) in ${ws.syncSeconds} s`)
  console.log(`timeline shows the newest post after ${ws.newestShownSeconds} s`)
  console.log(`app JavaScript, gzipped: ${(size.gzip / 1000).toFixed(1)} KB (target <= 150 KB)`)
  for (const f of size.files)
    console.log(`  ${f.path.padEnd(36)} ${(f.gzip / 1000).toFixed(1)} KB (${(f.raw / 1000).toFixed(1)} KB minified)`)
}

if (webrtc) {
  console.log('\n## webrtc: two browsers linked directly, the serving peer stopped')
  console.log(
    `post -> shown in the other browser, ${webrtc.posts} posts: median ${webrtc.medianMs} ms, max ${webrtc.maxMs} ms (target < 2000 ms)`,
  )
  console.log(`direct link live in both browsers ${webrtc.linkMs} ms after they follow each other`)
}

await mkdir(out, { recursive: true })
await writeFile(
  join(out, 'results.json'),
  `${JSON.stringify({ date: new Date().toISOString(), quick, rawVerifyPerSec: raw, rates, store, sync, web, webrtc }, null, 2)}\n`,
)
