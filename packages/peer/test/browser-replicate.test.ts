/**
 * The same replication code in a real Chromium: a page with a WebCrypto identity and an
 * IndexedDB store dials a real `murmur serve` over the browser's WebSocket, pulls the serving
 * peer's posts, and its own post reaches the serving peer (which hosts the peers that connect).
 */
import assert from 'node:assert/strict'
import path from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { type BundleOptions, bundleSize, callEntry, openEntryPage } from '@murmur/testkit/browser'
import type { ReplicateInput, ReplicateResult } from './browser/replicate.entry.js'
import { murmurJson, start, stop, tempData } from './helpers.js'

const here = path.dirname(fileURLToPath(import.meta.url))
const ENTRY = path.join(here, 'browser/replicate.entry.js')
// No Buffer/process shims and no aliases: the page runs the packages as they are.
const BUNDLE: BundleOptions = {}
const POSTS = ['first from serve', 'second from serve', 'third from serve']

/** Polls `check` until it returns a value, at most `timeoutMs`. */
async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = await check()
    if (v !== undefined) return v
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

test('Chromium replicates with a real murmur serve: pulls its posts, and its own post reaches it', {
  timeout: 60_000,
}, async (t) => {
  const data = await tempData()
  try {
    const { id: serveId } = await murmurJson<{ id: string }>(['init', '--data', data.dir])
    for (const text of POSTS) await murmurJson(['post', text, '--data', data.dir])
    // --app names no folder: no app release on the serving peer's feed, which then holds only the posts.
    const serve = await start(
      ['serve', '--port', '0', '--json', '--app', path.join(data.dir, 'no-app'), '--data', data.dir],
      /"ws": "(ws:\/\/[^"]+)"/,
    )
    try {
      const size = await bundleSize(ENTRY, BUNDLE)
      t.diagnostic(`entry bundle, minified: ${size.raw} bytes, gzipped: ${size.gzip} bytes`)

      const page = await openEntryPage(ENTRY, 20_000, BUNDLE)
      try {
        const input: ReplicateInput = {
          peerId: serveId,
          url: serve.match[1] as string,
          expect: POSTS.length,
          text: 'hello from the browser',
          timeoutMs: 15_000,
        }
        const result = await callEntry<ReplicateResult>(page, 'replicateWith', input, 20_000)
        assert.equal(result.backend, 'webcrypto')
        assert.equal(result.got, POSTS.length)
        // Newest first; each post sorts by its claimed time, and the page posted last.
        assert.deepEqual(result.timeline, [input.text, ...POSTS.toReversed()])
        assert.notEqual(result.myId, serveId)

        // The running serve hosts the page's feed: `log` reaches it through its control socket.
        const log = await eventually(
          async () => {
            const r = await murmurJson<{ seq: number; messages: { type: string; content: { text?: string } }[] }>([
              'log',
              result.myId,
              '--data',
              data.dir,
            ])
            return r.seq >= 2 ? r : undefined
          },
          10_000,
          "the page's post at the serving peer",
        )
        assert.deepEqual(
          log.messages.map((m) => m.type),
          ['contact', 'post'],
        )
        assert.equal(log.messages[1]?.content.text, input.text)

        await callEntry(page, 'stop', undefined, 5_000)
        assert.deepEqual(page.pageErrors, [])
      } finally {
        await page.close()
      }
    } finally {
      assert.equal(await stop(serve.child), 0, 'serve shuts down cleanly')
    }
  } finally {
    await data.remove()
  }
})
