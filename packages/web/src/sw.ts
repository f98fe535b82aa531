/**
 * The app's service worker: it serves the built app from a verified cache, so the app loads
 * offline and the bytes that run are the bytes the build listed.
 *
 * How it works. The build (vite.config.ts) writes app-files.json — every file's path, sha-256
 * and size — and bakes the sha-256 of that list (without sw.js itself) into this script as
 * `__APP_FILES_SHA256__`. So every new build is a new sw.js, which the browser notices on its
 * own, and the chain sw.js → list → files is checked end to end:
 * - install: fetch app-files.json, check it against the baked digest, fetch every file and
 *   check its size and sha-256; one mismatch fails the whole install (bytes that do not match
 *   are never cached, and the running version stays in charge).
 * - fetch: same-origin GETs of app files come from the cache; a navigation to a path without a
 *   file extension gets index.html (the app routes itself); everything else (e.g.
 *   /.well-known/murmur.json) never passes through this worker. Every response made from the
 *   cache carries the app's security headers (CSP), whatever the server sent.
 * - activate: caches of other versions are deleted.
 * - releases (the package manager): once the engine (engine/releases.ts) made a verified
 *   release current, its pointer (cache `murmur-current`) names the release's cache and paths;
 *   then every app file comes from that cache instead (the entry page for navigations), and
 *   the precache is only the fallback ("release 0"). The pointer is read again on every
 *   navigation, so a page that switched releases runs the new one on its next load.
 * A new version waits, as browsers do by default, until no tab runs the old one, so a page
 * never loads half of one version and half of another; the page may post
 * `{ type: 'skip-waiting' }` to switch at once (then reload).
 *
 * It is compiled with the DOM types of the web package, so it declares the few service-worker
 * types it uses instead of pulling in the `webworker` lib, which clashes with `dom`.
 */
import { contentTypeOf, SECURITY_HEADERS } from './headers.js'

interface ExtendableEvent extends Event {
  waitUntil(promise: Promise<unknown>): void
}
interface FetchEvent extends ExtendableEvent {
  readonly request: Request
  respondWith(response: Response | Promise<Response>): void
}
interface ServiceWorkerScope {
  readonly registration: { readonly scope: string }
  readonly clients: { claim(): Promise<void> }
  skipWaiting(): Promise<void>
  addEventListener(type: 'install' | 'activate', listener: (event: ExtendableEvent) => void): void
  addEventListener(type: 'fetch', listener: (event: FetchEvent) => void): void
  addEventListener(type: 'message', listener: (event: MessageEvent) => void): void
}
declare const self: ServiceWorkerScope
/** The sha-256 (hex) of the canonical app file list, baked in by the build. */
declare const __APP_FILES_SHA256__: string

/** One line of app-files.json. */
interface AppFile {
  readonly path: string
  readonly sha256: string
  readonly size: number
}

const LIST = 'app-files.json'
const WORKER = 'sw.js'
const PREFIX = 'murmur-app-'
const CACHE = PREFIX + __APP_FILES_SHA256__.slice(0, 16)
const scope = new URL(self.registration.scope)
const INDEX = `${scope.pathname}index.html`

/** Paths (URL pathnames) of the cached app files; rebuilt from the cache when the browser restarts the worker. */
let appPaths: Set<string> | undefined

/** The current release (engine/releases.ts `CurrentPointer`), null when none is set. */
interface Current {
  readonly cache: string
  readonly entry: string
  readonly paths: Set<string>
}
let current: Current | null | undefined

async function loadCurrent(): Promise<Current | null> {
  try {
    const res = await (await caches.open('murmur-current')).match('/__murmur/current')
    const p = res ? ((await res.json()) as { id: string; entry: string; paths: string[] }) : undefined
    current = p ? { cache: `murmur-release-${p.id}`, entry: p.entry, paths: new Set(p.paths) } : null
  } catch {
    current = null // an unreadable pointer: serve release 0
  }
  return current
}

/** A release's file for `pathname`, if the current release has one. */
function pickRelease(c: Current, pathname: string, navigate: boolean): string | undefined {
  if (c.paths.has(pathname)) return pathname
  const name = pathname.slice(pathname.lastIndexOf('/') + 1)
  if (navigate && !name.includes('.') && c.paths.has(c.entry)) return c.entry
  return undefined
}

async function sha256Hex(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes))
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('')
}

/** The bytes the build hashed: the list without sw.js, each entry's keys in this order. */
const canonical = (files: readonly AppFile[]) =>
  new TextEncoder().encode(JSON.stringify(files.map(({ path, sha256, size }) => ({ path, sha256, size }))))

async function precache(): Promise<void> {
  const res = await fetch(new URL(LIST, scope), { cache: 'no-cache' })
  if (!res.ok) throw new Error(`${LIST}: HTTP ${res.status}`)
  const files = ((await res.json()) as { files: AppFile[] }).files.filter((f) => f.path !== WORKER)
  if ((await sha256Hex(canonical(files))) !== __APP_FILES_SHA256__)
    throw new Error(`${LIST} is not the list this ${WORKER} was built with`)
  const cache = await caches.open(CACHE)
  try {
    await Promise.all(
      files.map(async (file) => {
        const url = new URL(file.path, scope)
        const got = await fetch(url, { cache: 'no-cache' })
        const bytes = new Uint8Array(await got.arrayBuffer())
        if (!got.ok || bytes.length !== file.size || (await sha256Hex(bytes)) !== file.sha256)
          throw new Error(`${file.path} does not match ${LIST}`)
        await cache.put(url, new Response(bytes, { headers: { 'Content-Type': contentTypeOf(file.path) } }))
      }),
    )
  } catch (err) {
    await caches.delete(CACHE) // no half-filled cache of this version stays behind
    throw err
  }
  appPaths = new Set(files.map((f) => new URL(f.path, scope).pathname))
}

async function loadAppPaths(): Promise<Set<string>> {
  const keys = await (await caches.open(CACHE)).keys()
  appPaths = new Set(keys.map((r) => new URL(r.url).pathname))
  return appPaths
}

/** Which cached file answers a request for `pathname`, if any. */
function pick(paths: Set<string>, pathname: string, navigate: boolean): string | undefined {
  if (paths.has(pathname)) return pathname
  const name = pathname.slice(pathname.lastIndexOf('/') + 1)
  if (navigate && !name.includes('.') && paths.has(INDEX)) return INDEX
  return undefined
}

async function fromCache(path: string, request: Request, cacheName = CACHE): Promise<Response> {
  const cached = await (await caches.open(cacheName)).match(new URL(path, scope))
  // A release cache the browser evicted: release 0's copy, else the network still has the app.
  if (!cached) return cacheName === CACHE ? fetch(request) : fromCache(path, request)
  const headers = new Headers(cached.headers)
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) headers.set(name, value)
  return new Response(cached.body, { status: 200, headers })
}

self.addEventListener('install', (event) => event.waitUntil(precache()))

self.addEventListener('activate', (event) =>
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) if (name.startsWith(PREFIX) && name !== CACHE) await caches.delete(name)
      await self.clients.claim()
    })(),
  ),
)

self.addEventListener('fetch', (event) => {
  const { request } = event
  if (request.method !== 'GET') return
  const url = new URL(request.url)
  if (url.origin !== scope.origin || !url.pathname.startsWith(scope.pathname)) return
  const navigate = request.mode === 'navigate'
  if (navigate || current === undefined) {
    // A load (re)reads the pointer: a release chosen in the page runs from the next load on.
    event.respondWith(
      Promise.all([loadCurrent(), appPaths ?? loadAppPaths()]).then(([c, paths]) => {
        const rel = c && pickRelease(c, url.pathname, navigate)
        if (c && rel) return fromCache(rel, request, c.cache)
        const path = pick(paths, url.pathname, navigate)
        return path ? fromCache(path, request) : fetch(request)
      }),
    )
    return
  }
  const rel = current && pickRelease(current, url.pathname, navigate)
  if (current && rel) {
    event.respondWith(fromCache(rel, request, current.cache))
    return
  }
  if (appPaths) {
    // The usual case: decide now, and leave requests that are not ours alone.
    const path = pick(appPaths, url.pathname, navigate)
    if (path) event.respondWith(fromCache(path, request))
    return
  }
  // Just restarted: the set comes from the cache, so this one request waits for it.
  event.respondWith(
    loadAppPaths().then((paths) => {
      const path = pick(paths, url.pathname, navigate)
      return path ? fromCache(path, request) : fetch(request)
    }),
  )
})

self.addEventListener('message', (event) => {
  if ((event.data as { type?: unknown } | null)?.type === 'skip-waiting') void self.skipWaiting()
})
