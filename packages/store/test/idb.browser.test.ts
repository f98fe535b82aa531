/**
 * The store on IndexedDB (IdbLevel, whose batch issues every request at once) in a real
 * Chromium: what was appended in batches and published is all there after a reopen, in order,
 * the views answer, and a batch that fails part-way writes nothing.
 */
import assert from 'node:assert/strict'
import path from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { callEntry, openEntryPage } from '@murmur/testkit/browser'
import type { IdbReport } from './browser/idb.entry.js'

const ENTRY = path.join(path.dirname(fileURLToPath(import.meta.url)), 'browser/idb.entry.js')

test('Chromium: the store on IndexedDB keeps batched appends and publishes across a reopen', {
  timeout: 120_000,
}, async () => {
  const page = await openEntryPage(ENTRY, 30_000)
  try {
    const r = await callEntry<IdbReport>(page, 'run', { authors: 7, perAuthor: 30, batch: 23 }, 90_000)
    assert.deepEqual(r.heads, Array(7).fill(30))
    assert.equal(r.logLength, 7 + 7 * 30 + 1, 'the contacts, every post and the published one')
    assert.equal(r.publishedSeq, 8)
    assert.equal(r.follows, 7)
    // Every s30 has the same ts, so offsets break the tie: the last batch held a4..a6 s30; the
    // one before a0..a3 s30, with each feed's messages of a batch stored together (a2 first
    // appears in that batch, a0 and a1 last), so a1 s30 sits above a3's there.
    assert.deepEqual(r.timeline, ['mine', 'a6 s30', 'a5 s30', 'a4 s30', 'a1 s30'])
    assert.equal(r.failedBatchKept, false, 'a failed batch leaves nothing behind')
    assert.deepEqual(page.pageErrors, [])
  } finally {
    await page.close()
  }
})
