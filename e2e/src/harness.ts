/**
 * The end-to-end harness: a real `murmur serve` (the CLI binary, spawned on a temporary data
 * folder, serving the built web app on 127.0.0.1) and the system Chromium with one browser
 * context per person, each its own origin storage (IndexedDB, service worker, Web Locks).
 *
 * Every page's uncaught errors and console errors are collected, so a test can assert that the
 * app ran clean. Nothing leaves loopback.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { createRequire } from 'node:module'
import type { AddressInfo } from 'node:net'
import { connect, createServer, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { launchChromium } from '@murmur/testkit/browser'
import type { Browser, BrowserContext, Page } from 'playwright-core'

const require = createRequire(import.meta.url)
/** The `murmur` binary of @murmur/peer. */
export const MURMUR_BIN = join(dirname(require.resolve('@murmur/peer')), '..', '..', 'bin', 'murmur.js')

/** What `murmur serve --json` printed when it was ready. */
export interface ServeInfo {
  readonly url: string
  readonly ws: string
  readonly id: string
  readonly port: number
}

/** A running always-on peer. */
export interface Peer extends ServeInfo {
  readonly dir: string
  /** Runs another `murmur` command on the same data folder (it reaches the running serve). */
  run(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }>
  /** Stops it (SIGINT) and waits; resolves with its exit code. */
  stop(): Promise<number | null>
  /** Starts it again on the same folder and port. */
  restart(): Promise<void>
  /** Stops it if running and deletes its folder. */
  remove(): Promise<void>
}

/** Runs `murmur ...args` to completion (bounded). */
export function murmur(
  args: readonly string[],
  timeoutMs = 30_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MURMUR_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => {
      stdout += d
    })
    child.stderr.on('data', (d) => {
      stderr += d
    })
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`murmur ${args.join(' ')} timed out; stderr: ${stderr}`))
    }, timeoutMs)
    child.on('exit', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

function spawnServe(
  dir: string,
  port: number,
  extra: readonly string[] = [],
): Promise<{ child: ChildProcess; info: ServeInfo }> {
  return new Promise((resolve, reject) => {
    const args = [MURMUR_BIN, 'serve', '--data', dir, '--port', String(port), '--json', ...extra]
    const child = spawn(process.execPath, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    let err = ''
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`murmur serve not ready in 30 s: ${out} ${err}`))
    }, 30_000)
    child.stdout.on('data', (d) => {
      out += d
      try {
        const info = JSON.parse(out) as ServeInfo
        clearTimeout(timer)
        resolve({ child, info })
      } catch {
        // not the whole JSON object yet
      }
    })
    child.stderr.on('data', (d) => {
      err += d
    })
    child.on('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`murmur serve exited ${code} before it was ready: ${out} ${err}`))
    })
  })
}

function stopChild(child: ChildProcess, timeoutMs = 15_000): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode)
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.once('exit', (code) => {
      clearTimeout(timer)
      resolve(code)
    })
    child.kill('SIGINT')
  })
}

/**
 * Makes a data folder with a fresh identity and starts `murmur serve` on it (port 0 = any);
 * `serveArgs` are added to `serve`'s (e.g. `['--app', dir]`).
 */
export async function startPeer(opts: { port?: number; serveArgs?: readonly string[] } = {}): Promise<Peer> {
  const dir = await mkdtemp(join(tmpdir(), 'murmur-e2e-'))
  const init = await murmur(['init', '--data', dir, '--json'])
  if (init.code !== 0) throw new Error(`murmur init failed: ${init.stderr}`)
  const extra = opts.serveArgs ?? []
  let { child, info } = await spawnServe(dir, opts.port ?? 0, extra)
  const port = info.port
  return {
    ...info,
    dir,
    run: (args) => murmur([...args, '--data', dir]),
    stop: () => stopChild(child),
    async restart() {
      await stopChild(child)
      ;({ child, info } = await spawnServe(dir, port, extra))
    },
    async remove() {
      await stopChild(child)
      await rm(dir, { recursive: true, force: true })
    },
  }
}

/**
 * Where the tests put the screenshots the README shows: the repository's docs/screenshots/ when
 * `MURMUR_SCREENSHOTS=1` (to refresh them after a change of the UI), else a folder in the temp
 * directory, so a test run leaves the working tree as it was.
 */
export const SCREENSHOTS =
  process.env.MURMUR_SCREENSHOTS === '1'
    ? join(dirname(require.resolve('@murmur/peer')), '..', '..', '..', '..', 'docs', 'screenshots')
    : join(tmpdir(), 'murmur-screenshots')

const people: Person[] = []

/**
 * Saves a screenshot of every open person's pages into `dir` (or the temp folder) as
 * `<label>-<n>.png`: call it when a test fails, to see what the app showed.
 */
export async function screenshotAll(label: string, dir = tmpdir()): Promise<string[]> {
  const files: string[] = []
  for (const [i, p] of people.entries()) {
    for (const [j, page] of p.context.pages().entries()) {
      const file = join(dir, `${label}-${i}-${j}.png`)
      await page.screenshot({ path: file, fullPage: true }).then(
        () => files.push(file),
        () => undefined,
      )
    }
  }
  return files
}

/** One person: a browser context (its own storage) and the pages opened in it. */
export interface Person {
  readonly context: BrowserContext
  readonly page: Page
  /** Uncaught exceptions and console errors of every page of this context. */
  readonly errors: string[]
  /** Opens another tab of the same person (same origin storage). */
  newTab(path?: string): Promise<Page>
}

/** Console errors that are the network's, not the app's (e.g. a peer that is down). */
const EXPECTED_CONSOLE = [/WebSocket connection to .* failed/, /Failed to load resource: net::ERR_/]

function watch(page: Page, errors: string[]): void {
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`))
  page.on('console', (m) => {
    if (m.type() === 'error' && !EXPECTED_CONSOLE.some((r) => r.test(m.text()))) errors.push(`console: ${m.text()}`)
  })
}

/** Opens a new person (context) on `url` (the app's origin plus an optional path/fragment). */
export async function openPerson(browser: Browser, url: string): Promise<Person> {
  const context = await browser.newContext({ viewport: { width: 1000, height: 900 } })
  const errors: string[] = []
  context.on('page', (p) => watch(p, errors))
  const page = await context.newPage()
  await page.goto(url)
  const person: Person = {
    context,
    page,
    errors,
    async newTab(path = '/') {
      const p = await context.newPage()
      await p.goto(new URL(path, url).toString())
      return p
    },
  }
  people.push(person)
  context.on('close', () => people.splice(people.indexOf(person), 1))
  return person
}

/** The system Chromium, headless. Close it in a `finally`. */
export function browser(): Promise<Browser> {
  return launchChromium()
}

/** Polls `check` until it returns a value other than undefined, at most `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  for (;;) {
    try {
      const v = await check()
      if (v !== undefined) return v
    } catch (e) {
      last = e
    }
    if (Date.now() > deadline)
      throw new Error(`${what}: not within ${timeoutMs} ms${last ? ` (last error: ${last})` : ''}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

/** A TCP proxy on loopback in front of a peer: cutting it takes one person offline. */
export interface Proxy {
  readonly port: number
  /** The proxied origin, `http://127.0.0.1:<port>`. */
  readonly url: string
  /** Drops every connection and refuses new ones (the person is offline). */
  cut(): Promise<void>
  /** Accepts connections again on the same port. */
  restore(): Promise<void>
  close(): Promise<void>
}

/** Starts a TCP proxy from a free loopback port to `127.0.0.1:targetPort`. */
export async function tcpProxy(targetPort: number): Promise<Proxy> {
  const sockets = new Set<Socket>()
  let server: Server | undefined
  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      const s = createServer((client) => {
        const upstream = connect(targetPort, '127.0.0.1')
        for (const sock of [client, upstream]) {
          sockets.add(sock)
          sock.on('close', () => sockets.delete(sock))
          sock.on('error', () => {
            client.destroy()
            upstream.destroy()
          })
        }
        client.pipe(upstream).pipe(client)
      })
      s.once('error', reject)
      s.listen(port, '127.0.0.1', () => {
        server = s
        resolve((s.address() as AddressInfo).port)
      })
    })
  const stopListening = () =>
    new Promise<void>((resolve) => {
      const s = server
      server = undefined
      for (const sock of sockets) sock.destroy()
      if (!s) return resolve()
      s.close(() => resolve())
    })
  const port = await listen(0)
  return {
    port,
    url: `http://127.0.0.1:${port}/`,
    cut: stopListening,
    restore: async () => {
      await listen(port)
    },
    close: stopListening,
  }
}
