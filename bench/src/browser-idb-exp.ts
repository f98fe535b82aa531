/**
 * Experiment: what one IndexedDB put and one WebCrypto Ed25519 verify cost in this Chromium
 * (browser/idb.entry.ts): main-thread time to issue each, against wall time. `--verify` runs the
 * verify part only.
 */
import { fileURLToPath } from 'node:url'
import { callEntry, openEntryPage } from '@murmur/testkit/browser'

const page = await openEntryPage(fileURLToPath(new URL('./browser/idb.entry.js', import.meta.url)), 30000, {})
try {
  for (let rep = 0; rep < 3; rep++) console.log(JSON.stringify(await callEntry(page, 'verifies', { n: 2000 }, 60000)))
  if (!process.argv.includes('--verify')) {
    const cases = [
      { rows: 20000, txRows: 2000, valueBytes: 8, keyBytes: 40, mode: 'copy' },
      { rows: 20000, txRows: 2000, valueBytes: 400, keyBytes: 12, mode: 'copy' },
      { rows: 20000, txRows: 2000, valueBytes: 8, keyBytes: 40, mode: 'same' },
      { rows: 20000, txRows: 2000, valueBytes: 8, keyBytes: 40, mode: 'ab' },
      { rows: 20000, txRows: 2000, valueBytes: 8, keyBytes: 40, mode: 'abkey' },
      { rows: 20000, txRows: 500, valueBytes: 8, keyBytes: 40, mode: 'copy' },
      { rows: 20000, txRows: 100, valueBytes: 8, keyBytes: 40, mode: 'copy' },
      { rows: 20000, txRows: 2000, valueBytes: 400, keyBytes: 12, mode: 'one' },
      { rows: 20000, txRows: 64, valueBytes: 400, keyBytes: 12, mode: 'one' },
    ]
    for (let rep = 0; rep < 2; rep++) {
      for (const c of cases) console.log(JSON.stringify(await callEntry(page, 'puts', c, 300000)))
    }
  }
} finally {
  await page.close()
}
