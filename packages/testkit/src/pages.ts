/**
 * Several pages of one origin, for tests that need what a single entry page cannot give: more
 * than one bundled file (a page and its workers), several tabs sharing storage (two pages of
 * one browser context), fresh storage (a new context), and an origin that is also a Murmur peer
 * (requests to chosen paths, WebSocket upgrades included, are passed to a running peer, as
 * if the peer served the app itself).
 *
 * Pages opened here fit {@link callEntry} from ./browser.ts: each page's HTML imports the entry
 * module and puts its exports on `globalThis.__entry`.
 */
import { createServer, type IncomingMessage, request, type Server } from 'node:http'
import { type AddressInfo, connect, type Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import type { Browser, BrowserContext } from 'playwright-core'
import { type EntryPage, launchChromium, type ServedFile } from './browser.js'

/** The HTML of a page that loads `src` and puts its exports on `globalThis.__entry`. */
export function entryHtml(src = './entry.js'): string {
  return `<!doctype html><meta charset="utf-8"><title>murmur test</title><link rel="icon" href="data:,">
<script type="module">import * as entry from ${JSON.stringify(src)}; globalThis.__entry = entry</script>`
}

/** Options of {@link openSite}. */
export interface SiteOptions {
  /** Files by path (e.g. `'/'`: {@link entryHtml}, `'/entry.js'`, a worker's path). */
  readonly files: Readonly<Record<string, ServedFile>>
  /** Requests to these paths (exact) go to `target` (`http://host:port`), upgrades included. */
  readonly proxy?: { readonly target: string; readonly paths: readonly string[] }
}

/** A served origin and a browser to open its pages in. */
export interface Site {
  readonly browser: Browser
  /** `http://127.0.0.1:<port>` (no trailing slash). */
  readonly origin: string
  /** A new browser context: its own, empty storage (IndexedDB, locks, channels are per context). */
  newContext(): Promise<BrowserContext>
  /**
   * Opens `path` in `context` and waits until its entry's exports are on the page. The result's
   * `close` closes this page only.
   */
  openPage(context: BrowserContext, path?: string): Promise<EntryPage>
  /** Closes the browser and the server; safe to call more than once. */
  close(): Promise<void>
}

/**
 * Serves `opts.files` (and the proxy) on 127.0.0.1 at a random port and launches Chromium.
 * Close the result in a `finally`.
 */
export async function openSite(opts: SiteOptions, timeoutMs = 30_000): Promise<Site> {
  const sockets = new Set<Duplex>()
  const proxied = (req: IncomingMessage): boolean =>
    opts.proxy?.paths.includes(new URL(req.url ?? '/', 'http://x').pathname) === true
  const server: Server = createServer((req, res) => {
    if (proxied(req) && opts.proxy) {
      const out = request(new URL(req.url ?? '/', opts.proxy.target), { method: req.method, headers: req.headers })
      out.on('response', (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers)
        r.pipe(res)
      })
      out.on('error', () => res.writeHead(502).end())
      req.pipe(out)
      return
    }
    const file = opts.files[new URL(req.url ?? '/', 'http://x').pathname]
    if (file === undefined) {
      res.writeHead(404).end()
      return
    }
    res.writeHead(200, { 'content-type': file.type, 'cache-control': 'no-store' }).end(file.body)
  })
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (!proxied(req) || !opts.proxy) {
      socket.destroy()
      return
    }
    const target = new URL(opts.proxy.target)
    const upstream: Socket = connect(Number(target.port), target.hostname, () => {
      const lines = [`${req.method} ${req.url} HTTP/1.1`]
      for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`)
      upstream.write(`${lines.join('\r\n')}\r\n\r\n`)
      if (head.length > 0) upstream.write(head)
      upstream.pipe(socket)
      socket.pipe(upstream)
    })
    for (const s of [socket, upstream]) {
      sockets.add(s)
      s.on('close', () => sockets.delete(s))
      s.on('error', () => {
        socket.destroy()
        upstream.destroy()
      })
    }
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', resolve)
  })
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  let browser: Browser | undefined
  const close = async (): Promise<void> => {
    try {
      await browser?.close()
    } finally {
      browser = undefined
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
    }
  }
  try {
    browser = await launchChromium(timeoutMs)
  } catch (e) {
    await close()
    throw e
  }
  const b = browser
  return {
    browser: b,
    origin,
    newContext: () => b.newContext(),
    async openPage(context, path = '/') {
      const page = await context.newPage()
      page.setDefaultTimeout(timeoutMs)
      const pageErrors: string[] = []
      page.on('pageerror', (e) => pageErrors.push(String(e)))
      page.on('console', (m) => {
        if (m.type() === 'error') pageErrors.push(m.text())
      })
      const closePage = async (): Promise<void> => {
        if (!page.isClosed()) await page.close()
      }
      try {
        await page.goto(`${origin}${path}`)
        await page
          .waitForFunction(() => '__entry' in globalThis, undefined, { timeout: timeoutMs })
          .catch((e: unknown) => {
            throw new Error(`the entry did not load: ${pageErrors.join('; ') || String(e)}`)
          })
      } catch (e) {
        await closePage()
        throw e
      }
      return { browser: b, page, origin, pageErrors, close: closePage }
    },
    close,
  }
}
