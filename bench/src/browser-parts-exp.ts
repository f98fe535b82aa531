/**
 * Experiment: decode, verify, append and index timed apart in a Chromium page (IndexedDB), per
 * message (browser/sync.entry.ts `parts`). Options: `--n=N`, `--batch=N`, `--runs=N`.
 */
import { fileURLToPath } from 'node:url'
import { callEntry, openEntryPage } from '@murmur/testkit/browser'

const arg = (name: string): string | undefined =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3)
const n = Number(arg('n') ?? 3000)
const runs = Number(arg('runs') ?? 1)
const page = await openEntryPage(fileURLToPath(new URL('./browser/sync.entry.js', import.meta.url)), 30000, {})
try {
  for (let run = 0; run < runs; run++) {
    for (const batch of (arg('batch') ?? '500,2000').split(',').map(Number)) {
      for (const autoIndex of [false, true]) {
        console.log(JSON.stringify(await callEntry(page, 'parts', { n, batch, autoIndex }, 300000)))
      }
    }
  }
} finally {
  await page.close()
}
