/**
 * `npm run bench`: every benchmark, printed as a table and written to bench/out/results.json.
 * Options: --quick (a tenth of the messages, for a smoke run).
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createSodiumEd25519 } from '@murmur/core/sodium'
import { createSodiumPool } from '@murmur/core/sodium-pool'
import { measureVerifyRates, rawVerifyRate } from './ed25519.js'
import { benchStore } from './store.js'

const quick = process.argv.includes('--quick')
const out = join(fileURLToPath(new URL('..', import.meta.url)), 'out')

const rates = await measureVerifyRates()
const rawBefore = await rawVerifyRate()
const pool = createSodiumPool()
const store = await benchStore({ single: createSodiumEd25519(), pool }, { authors: 1000, perAuthor: quick ? 10 : 100 })
await pool.close?.()
// The yardstick: the best raw single-core rate seen before and after (the machine is shared).
const raw = Math.max(rawBefore, await rawVerifyRate())

const pct = (n: number) => `${Math.round((n / raw) * 100)}%`
console.log('\n## ed25519 (webcrypto runs on the libuv thread pool, the others on one core)')
for (const r of rates)
  console.log(
    `${r.name.padEnd(10)} verify ${String(r.verifyPerSec).padStart(7)}/s  sign ${String(r.signPerSec).padStart(7)}/s`,
  )
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

await mkdir(out, { recursive: true })
await writeFile(
  join(out, 'results.json'),
  `${JSON.stringify({ date: new Date().toISOString(), quick, rawVerifyPerSec: raw, rates, store }, null, 2)}\n`,
)
