/**
 * The web app's benchmarks: a fresh browser syncing from its serving peer, and the size of the
 * app's JavaScript.
 *
 * Sync: `authors × perAuthor` messages are written (workload.ts) into the data folder of a real
 * `murmur serve` (sync-serve.ts). A fresh Chromium context runs the app's engine the way the app
 * does — in its Web Worker, with the IndexedDB store, WebCrypto and the browser's WebSocket (the
 * engine test page of @murmur/web, whose origin forwards /murmur to the serving peer). Untimed:
 * it makes an identity and follows every author with no peer configured. Timed from adding the
 * serving peer: until every message is held (messages per second), and until the timeline's
 * first post is the newest post of the workload.
 *
 * Size: the built app (packages/web/dist/app, as `murmur serve` serves it): every .js file,
 * minified as built, gzipped at level 9 — what a first visit downloads.
 */
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import { type Ed25519, type FeedId, formatFeedId } from '@murmur/core'
import { callEntry } from '@murmur/testkit/browser'
import type { PostPage } from '../../packages/web/dist/src/api.js'
import { call, engineSite } from '../../packages/web/dist/test/engine-helpers.js'
import { prepareServe, spawnServe } from './sync-serve.js'
import { writeWorkload } from './workload.js'

const BIN = fileURLToPath(new URL('../../packages/peer/bin/murmur.js', import.meta.url))
const APP = fileURLToPath(new URL('../../packages/web/dist/app', import.meta.url))

/** The figures of {@link benchWebSync}. */
export interface WebSyncResult {
  readonly messages: number
  readonly authors: number
  /** Messages per second from adding the peer until all were held. */
  readonly syncPerSec: number
  readonly syncSeconds: number
  /** From adding the peer until the timeline's first post was the workload's newest. */
  readonly newestShownSeconds: number
}

/** The app's JavaScript, gzipped (bytes). */
export interface AppSize {
  readonly files: { path: string; raw: number; gzip: number }[]
  readonly gzip: number
  readonly raw: number
}

/** Measures the built app's JavaScript. @throws when the app is not built. */
export async function appSize(): Promise<AppSize> {
  const files: AppSize['files'] = []
  const walk = async (dir: string, rel: string): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      if (e.isDirectory()) await walk(join(dir, e.name), `${rel}${e.name}/`)
      else if (e.name.endsWith('.js')) {
        const bytes = await readFile(join(dir, e.name))
        files.push({ path: `${rel}${e.name}`, raw: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length })
      }
    }
  }
  await walk(APP, '')
  return { files, gzip: files.reduce((n, f) => n + f.gzip, 0), raw: files.reduce((n, f) => n + f.raw, 0) }
}

/** Polls `check` every `everyMs` until it returns true; rejects after `timeoutMs`. */
async function until(check: () => Promise<boolean>, timeoutMs: number, what: string, everyMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, everyMs))
  }
}

/** Runs the browser sync benchmark in `dir` (a fresh temporary folder). */
export async function benchWebSync(
  ed: Ed25519,
  dir: string,
  opts: { authors: number; perAuthor: number; log?: (line: string) => void },
): Promise<WebSyncResult> {
  const log = opts.log ?? (() => undefined)
  const file = join(dir, 'workload.bin')
  const w = await writeWorkload(ed, file, { authors: opts.authors, perAuthor: opts.perAuthor })
  const prepared = await prepareServe(ed, join(dir, 'serve'), file)
  // The workload's newest message (the last written: the highest ts) is a post by the last author.
  const newest = { author: formatFeedId(prepared.authors.at(-1) as FeedId), seq: opts.perAuthor }
  const serve = await spawnServe(BIN, join(dir, 'serve'))
  const target = serve.ws.replace(/^ws:/, 'http:').replace(/\/murmur$/, '')
  const site = await engineSite({ peer: target, worker: true })
  try {
    const context = await site.newContext()
    const page = await site.openPage(context)
    await callEntry(page, 'connectWorker', undefined, 30_000)
    const servingUrl = `${site.origin.replace(/^http:/, 'ws:')}/murmur`
    await call(page, 'createIdentity', { name: 'bench' })
    await call(page, 'removePeer', servingUrl)
    for (const a of prepared.authors) await call(page, 'follow', formatFeedId(a), true)
    const own = (await call<{ messages: number }>(page, 'network')).messages
    log(`browser: identity and ${prepared.authors.length} follows made (${own} own messages); syncing…`)

    const t0 = performance.now()
    await call(page, 'addPeer', servingUrl)
    let shownAt: number | undefined
    let heldAt: number | undefined
    await until(
      async () => {
        if (shownAt === undefined) {
          const first = (await call<PostPage>(page, 'timeline', { limit: 1 })).items[0]
          if (first?.author.id === newest.author && first.seq === newest.seq) shownAt = performance.now()
        }
        if (heldAt === undefined) {
          const n = (await call<{ messages: number }>(page, 'network')).messages
          if (n >= own + w.messages) heldAt = performance.now()
        }
        return shownAt !== undefined && heldAt !== undefined
      },
      600_000,
      'the browser sync',
    )
    const syncSeconds = ((heldAt as number) - t0) / 1000
    return {
      messages: w.messages,
      authors: opts.authors,
      syncPerSec: Math.round(w.messages / syncSeconds),
      syncSeconds: Math.round(syncSeconds * 100) / 100,
      newestShownSeconds: Math.round((((shownAt as number) - t0) / 1000) * 100) / 100,
    }
  } finally {
    await site.close()
    await serve.stop()
  }
}
