/**
 * The real-browser test harness of every package: bundle an entry module with esbuild, serve it
 * on 127.0.0.1 (a secure context, so WebCrypto, OPFS and service workers are there), open it in
 * the system Chromium with playwright-core, call the entry's exports from Node, and close
 * everything. Also the size of a bundle, as a page would load it.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { gzipSync } from 'node:zlib'
import { type BuildOptions, build } from 'esbuild'
import { type Browser, chromium, type Page } from 'playwright-core'

/** Where the Debian Chromium lives (the tests never download a browser). */
export const CHROMIUM_PATH = '/usr/bin/chromium'

/** Chromium flags for tests: no sandbox (containers), no GPU, no background traffic. */
export const CHROMIUM_ARGS: readonly string[] = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
]

/** Launches the system Chromium headless with {@link CHROMIUM_ARGS}. */
export function launchChromium(timeoutMs = 30_000): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: [...CHROMIUM_ARGS], timeout: timeoutMs })
}

/** What {@link bundle} may change in esbuild's options (e.g. `define`, `inject`, `minify`). */
export type BundleOptions = Pick<BuildOptions, 'define' | 'inject' | 'minify' | 'alias'>

/**
 * Bundles `entry` (a built .js file, or .ts) and its imports into one browser ESM module.
 * @throws when esbuild fails (the error lists what it could not resolve).
 */
export async function bundle(entry: string, opts: BundleOptions = {}): Promise<string> {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
    ...opts,
  })
  const out = result.outputFiles[0]
  if (out === undefined) throw new Error(`esbuild gave no output for ${entry}`)
  return out.text
}

/** The size of `entry` bundled and minified, raw and gzipped (bytes): what a page would load. */
export async function bundleSize(entry: string, opts: BundleOptions = {}): Promise<{ raw: number; gzip: number }> {
  const code = Buffer.from(await bundle(entry, { ...opts, minify: true }))
  return { raw: code.length, gzip: gzipSync(code, { level: 9 }).length }
}

/** A file to serve: its body and content type. */
export interface ServedFile {
  readonly body: string | Uint8Array
  readonly type: string
}

/** A running loopback HTTP server. */
export interface FileServer {
  /** `http://127.0.0.1:<port>` (no trailing slash). */
  readonly origin: string
  /** Stops the server and drops open connections. */
  close(): Promise<void>
}

/** Serves `files` (path -> file, e.g. `'/'`, `'/entry.js'`) on 127.0.0.1 at a random port. */
export async function serveFiles(files: Readonly<Record<string, ServedFile>>): Promise<FileServer> {
  const server: Server = createServer((req, res) => {
    const file = files[new URL(req.url ?? '/', 'http://x').pathname]
    if (file === undefined) {
      res.writeHead(404).end()
      return
    }
    res.writeHead(200, { 'content-type': file.type, 'cache-control': 'no-store' }).end(file.body)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', resolve)
  })
  const { port } = server.address() as AddressInfo
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

/** A page with an entry module loaded, and what to close. */
export interface EntryPage {
  readonly browser: Browser
  readonly page: Page
  readonly origin: string
  /** Errors the page threw or logged so far (shown when a call fails). */
  readonly pageErrors: string[]
  /** Closes the browser and the server; safe to call more than once. */
  close(): Promise<void>
}

const PAGE_HTML = `<!doctype html><meta charset="utf-8"><title>murmur test</title><link rel="icon" href="data:,">
<script type="module">import * as entry from './entry.js'; globalThis.__entry = entry</script>`

/**
 * Bundles `entry` (with `bundleOptions`), serves it with a blank page, launches Chromium and
 * waits (at most `timeoutMs`) until the module's exports are on the page. Close the result in a
 * `finally`.
 * @throws when bundling, launching or loading fails or takes too long (everything opened so
 *   far is closed first).
 */
export async function openEntryPage(
  entry: string,
  timeoutMs = 30_000,
  bundleOptions: BundleOptions = {},
): Promise<EntryPage> {
  const code = await bundle(entry, bundleOptions)
  const server = await serveFiles({
    '/': { body: PAGE_HTML, type: 'text/html; charset=utf-8' },
    '/entry.js': { body: code, type: 'text/javascript; charset=utf-8' },
  })
  let browser: Browser | undefined
  const pageErrors: string[] = []
  const close = async () => {
    try {
      await browser?.close()
    } finally {
      browser = undefined
      await server.close()
    }
  }
  try {
    browser = await launchChromium(timeoutMs)
    const page = await browser.newPage()
    page.setDefaultTimeout(timeoutMs)
    page.on('pageerror', (e) => pageErrors.push(String(e)))
    page.on('console', (m) => {
      if (m.type() === 'error') pageErrors.push(m.text())
    })
    await page.goto(`${server.origin}/`)
    await page
      .waitForFunction(() => '__entry' in globalThis, undefined, { timeout: timeoutMs })
      .catch((e: unknown) => {
        throw new Error(`the entry did not load: ${pageErrors.join('; ') || String(e)}`)
      })
    return { browser, page, origin: server.origin, pageErrors, close }
  } catch (e) {
    await close()
    throw e
  }
}

/**
 * Calls the entry's export `name` with `arg` inside the page and returns its (awaited, JSON)
 * result, failing after `timeoutMs`.
 * @throws when the call throws in the page or takes too long.
 */
export async function callEntry<T>(entryPage: EntryPage, name: string, arg: unknown, timeoutMs = 60_000): Promise<T> {
  const call = entryPage.page.evaluate(
    ([fn, a]) => {
      const entry = (globalThis as unknown as { __entry: Record<string, (x: unknown) => unknown> }).__entry
      const f = entry[fn as string]
      if (typeof f !== 'function') throw new Error(`the entry has no export ${String(fn)}`)
      return f(a)
    },
    [name, arg] as const,
  )
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${name} took over ${timeoutMs} ms in the page`)), timeoutMs)
  })
  try {
    return (await Promise.race([call, timeout])) as T
  } catch (e) {
    const errors = entryPage.pageErrors
    throw errors.length > 0 ? new Error(`${String(e)}; page errors: ${errors.join('; ')}`, { cause: e }) : e
  } finally {
    clearTimeout(timer)
  }
}
