/**
 * Helpers of the engine tests: the real `murmur` CLI (a serving peer in a temporary data
 * folder, spawned by path: web does not depend on @murmur/peer), the bundled engine pages on
 * one origin that passes `/murmur` and `/.well-known/murmur.json` to that peer, and calls into
 * those pages.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { bundle, callEntry, type EntryPage } from '@murmur/testkit/browser'
import { entryHtml, openSite, type Site } from '@murmur/testkit/pages'
import type { EngineMethod } from '../src/api.js'
import type { CallResult } from './browser/engine.entry.js'

/** The `murmur` CLI of packages/peer (built by `tsc -b`). */
export const MURMUR_BIN = fileURLToPath(new URL('../../../peer/bin/murmur.js', import.meta.url))
const ENTRY = fileURLToPath(new URL('./browser/engine.entry.js', import.meta.url))
const WORKER = fileURLToPath(new URL('../src/engine/worker.js', import.meta.url))

/** Runs `murmur ...args --json` to completion and returns its parsed output. */
export function murmurJson<T>(args: string[], timeoutMs = 30_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MURMUR_BIN, ...args, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] })
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
      if (code !== 0) reject(new Error(`murmur ${args.join(' ')} exited ${code}: ${stderr}`))
      else resolve(JSON.parse(stdout) as T)
    })
  })
}

/** A temporary data folder, removed by `remove`. */
export async function tempData(): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'murmur-web-'))
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) }
}

/** A running `murmur serve`. */
export interface Serving {
  readonly child: ChildProcess
  /** Its feed id. */
  readonly id: string
  /** `http://127.0.0.1:<port>`. */
  readonly origin: string
  /** Stops it (SIGINT, bounded) and returns its exit code. */
  stop(): Promise<number | null>
}

/** Starts `murmur serve --port 0` on `dataDir` and waits until it listens. */
export function serve(dataDir: string, timeoutMs = 30_000): Promise<Serving> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MURMUR_BIN, 'serve', '--port', '0', '--json', '--data', dataDir], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    let err = ''
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`murmur serve not ready in ${timeoutMs} ms: ${out} ${err}`))
    }, timeoutMs)
    const onExit = (code: number | null) => {
      clearTimeout(timer)
      reject(new Error(`murmur serve exited ${code} before it was ready: ${out} ${err}`))
    }
    child.on('exit', onExit)
    child.stderr.on('data', (d) => {
      err += d
    })
    child.stdout.on('data', (d) => {
      out += d
      const url = out.match(/"url": "(http:\/\/[^"]+?)\/?"/)?.[1]
      const id = out.match(/"id": "([^"]+)"/)?.[1]
      if (!url || !id) return
      clearTimeout(timer)
      child.off('exit', onExit)
      resolve({ child, id, origin: url, stop: () => stopChild(child) })
    })
  })
}

function stopChild(child: ChildProcess, timeoutMs = 15_000): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve(child.exitCode)
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.once('exit', (code) => {
      clearTimeout(timer)
      resolve(code)
    })
    child.kill('SIGINT')
  })
}

/**
 * Serves the engine test page (and, with `worker`, the engine worker where `connectEngine`
 * looks for it) on one origin; with `peer`, that origin passes the replication endpoint and
 * the well-known file to it, as a serving peer would serve the app itself.
 */
export async function engineSite(opts: { peer?: string; worker?: boolean } = {}): Promise<Site> {
  const js = 'text/javascript; charset=utf-8'
  const files = {
    '/': { body: entryHtml(), type: 'text/html; charset=utf-8' },
    '/entry.js': { body: await bundle(ENTRY), type: js },
    // rpc.ts starts `new Worker(new URL('./engine/worker.ts', import.meta.url))`: relative to
    // /entry.js in this bundle (Vite rewrites it in the app).
    ...(opts.worker ? { '/engine/worker.ts': { body: await bundle(WORKER), type: js } } : {}),
  }
  return openSite({
    files,
    ...(opts.peer ? { proxy: { target: opts.peer, paths: ['/murmur', '/.well-known/murmur.json'] } } : {}),
  })
}

/** Calls an engine method in `page`; the failure, if any, as a value. */
export function tryCall(page: EntryPage, method: EngineMethod, ...args: unknown[]): Promise<CallResult> {
  return callEntry<CallResult>(page, 'call', { method, args }, 60_000)
}

/**
 * Calls an engine method in `page` and returns its value.
 * @throws when it fails (with its code and message).
 */
export async function call<T>(page: EntryPage, method: EngineMethod, ...args: unknown[]): Promise<T> {
  const r = await tryCall(page, method, ...args)
  if (!r.ok) throw new Error(`${method} failed: ${r.code}: ${r.message}`)
  return r.value as T
}

/** Polls `check` until it returns a value, at most `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = await check()
    if (v !== undefined) return v
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, 100))
  }
}
