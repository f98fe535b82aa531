/**
 * The app's service worker, a small bootstrap of the package manager (DESIGN.md "Web app"): it
 * serves the app from verified caches, so the app loads offline and the bytes that run are bytes
 * that were listed — by the origin's first app-files.json, then by signed releases.
 *
 * Its bytes depend on nothing but its own code (and src/headers.ts): no digest of the build is
 * baked in. The browser re-fetches sw.js from the origin on its own and installs it whenever its
 * bytes change, so a worker that changed with every build would let the origin replace the app
 * (and this package manager) at every build. Now a new build changes nothing here: new app files
 * reach the person only through a release their policy accepts (engine/releases.ts). Every
 * release names sw.js by its sha-256, so the page can tell a worker no trusted release names
 * (ui/views/updates.ts) — see the README for the risk that remains.
 *
 * How it works
 * - install (the precache, "release 0"): fetch app-files.json, then every file it lists; each
 *   must have the listed size and sha-256, or the install fails (the running version stays in
 *   charge) and nothing of it stays cached. The list is kept in the cache, written last, so a
 *   complete precache holds its own hashes. What this first install trusts: the origin, once.
 *   sw.js, the list and the files all come from it, so the check proves the cache holds one
 *   consistent set of files exactly as listed (no half-deployed or corrupted file), not that the
 *   origin is honest. From then on the origin is only asked again for a new worker script; the
 *   engine adopts the serving peer's signed release of the same entry page as current.
 * - activate: the precache this worker installed becomes the one it serves (recorded in
 *   {@link STATE}, as a restarted worker has no memory), other workers' precaches are deleted.
 *   Release caches are the engine's to prune.
 * - fetch: same-origin GETs of app files come from the current release's cache (the pointer the
 *   engine writes, re-read on every navigation so a switch runs from the next load), else from
 *   the precache; a navigation to a path without a file extension gets the entry page (the app
 *   routes itself); anything else goes to the network untouched. Before serving, the cached bytes
 *   are hashed again and compared with the release's (or list's) sha-256: an entry altered after
 *   it was cached (disk corruption, a buggy or hostile write to Cache Storage) is never served;
 *   a copy with the same hash from another of our caches or the origin is served (and heals the
 *   entry) instead, else a 503 that says why. A writer who can also rewrite the pointer or the
 *   list runs in this origin already; this check is about the bytes, not the origin.
 * - Every response made here carries the app's security headers (CSP), whatever was cached.
 * A new worker waits, as browsers do by default, until no tab runs the old one; the page may
 * post `{ type: 'skip-waiting' }` to switch at once (then reload).
 *
 * It is compiled with the DOM types of the web package, so it declares the few service-worker
 * types it uses instead of pulling in the `webworker` lib, which clashes with `dom`. It must not
 * import engine code: the constants it shares with engine/releases.ts are repeated there.
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

/** What a file must be: one line of app-files.json, or of the release pointer. */
interface Listed {
  readonly path: string
  readonly sha256: string
  readonly size: number
}

/** A set of files served from one cache: the precache or the current release. */
interface Source {
  readonly cache: string
  /** URL path of the entry page. */
  readonly entry: string
  /** Expected hash and size by URL path. */
  readonly files: ReadonlyMap<string, Listed>
}

const LIST = 'app-files.json'
const WORKER = 'sw.js'
const APP_PREFIX = 'murmur-app-'
const RELEASE_PREFIX = 'murmur-release-'
/** This worker's own records: which precache was installed last, and which one it serves. */
const STATE = 'murmur-sw'
const INSTALLED = '/__murmur/sw/installed'
const ACTIVE = '/__murmur/sw/active'
/** Where a precache keeps its verified list (written last: the precache is complete). */
const LIST_KEY = '/__murmur/app-files.json'
/** The engine's current-release pointer (engine/releases.ts CURRENT_CACHE, CURRENT_URL). */
const CURRENT_CACHE = 'murmur-current'
const CURRENT_URL = '/__murmur/current'

const scope = new URL(self.registration.scope)
const HEX64 = /^[0-9a-f]{64}$/

/** Loaded on first use after each (re)start; null when there is none. */
let precache: Source | null | undefined
let current: Source | null | undefined

async function sha256Hex(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes))
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('')
}

const matches = async (bytes: Uint8Array<ArrayBuffer>, want: Listed) =>
  bytes.length === want.size && (await sha256Hex(bytes)) === want.sha256

/** The lines of a list or pointer, or undefined when any is malformed. */
function listed(files: unknown): Listed[] | undefined {
  if (!Array.isArray(files)) return undefined
  const ok = files.every(
    (f: Partial<Listed> | null) =>
      typeof f?.path === 'string' &&
      typeof f.sha256 === 'string' &&
      HEX64.test(f.sha256) &&
      Number.isSafeInteger(f.size),
  )
  return ok ? (files as Listed[]) : undefined
}

const urlOf = (path: string) => new URL(path, scope)
/** The files to serve by URL path; never the worker script, which the page may fetch to compare (ui/views/updates.ts). */
const byPath = (files: readonly Listed[]) =>
  new Map(files.map((f) => [urlOf(f.path).pathname, f] as const).filter(([path]) => path !== urlOf(WORKER).pathname))

async function install(): Promise<void> {
  const res = await fetch(urlOf(LIST), { cache: 'no-cache' })
  const list = new Uint8Array(await res.arrayBuffer())
  const files = res.ok ? listed((JSON.parse(new TextDecoder().decode(list)) as { files?: unknown }).files) : undefined
  if (!files) throw new Error(`${LIST}: HTTP ${res.status}, or not a list of files`)
  // Named by the list's hash: a worker installing beside a running one never touches its cache.
  const name = APP_PREFIX + (await sha256Hex(list)).slice(0, 16)
  const existed = await caches.has(name)
  const cache = await caches.open(name)
  try {
    await Promise.all(
      files
        .filter((f) => f.path !== WORKER)
        .map(async (f) => {
          const got = await fetch(urlOf(f.path), { cache: 'no-cache' })
          const bytes = new Uint8Array(await got.arrayBuffer())
          if (!got.ok || !(await matches(bytes, f))) throw new Error(`${f.path} does not match ${LIST}`)
          await cache.put(urlOf(f.path), new Response(bytes, { headers: { 'Content-Type': contentTypeOf(f.path) } }))
        }),
    )
    await cache.put(urlOf(LIST_KEY), new Response(list))
  } catch (err) {
    if (!existed) await caches.delete(name) // no half-filled precache stays behind
    throw err
  }
  await (await caches.open(STATE)).put(INSTALLED, new Response(name))
}

async function activate(): Promise<void> {
  const state = await caches.open(STATE)
  const name = await (await state.match(INSTALLED))?.text()
  if (name) await state.put(ACTIVE, new Response(name))
  precache = undefined
  for (const n of await caches.keys()) if (n.startsWith(APP_PREFIX) && n !== name) await caches.delete(n)
  await self.clients.claim()
}

async function loadPrecache(): Promise<Source | null> {
  try {
    const name = await (await caches.match(ACTIVE, { cacheName: STATE }))?.text()
    const res = name ? await caches.match(urlOf(LIST_KEY), { cacheName: name }) : undefined
    const files = res && listed(((await res.json()) as { files?: unknown }).files)
    precache = name && files ? { cache: name, entry: urlOf('index.html').pathname, files: byPath(files) } : null
  } catch {
    precache = null
  }
  return precache
}

async function loadCurrent(): Promise<Source | null> {
  try {
    const res = await caches.match(CURRENT_URL, { cacheName: CURRENT_CACHE })
    const p = res ? ((await res.json()) as { id?: unknown; entry?: unknown; files?: unknown }) : undefined
    const files = p && listed(p.files)
    // A pointer without hashes (an older engine wrote it) is not served until the engine rewrites it.
    current =
      p && files && typeof p.id === 'string' && typeof p.entry === 'string'
        ? { cache: RELEASE_PREFIX + p.id, entry: p.entry, files: byPath(files) }
        : null
  } catch {
    current = null // an unreadable pointer: serve release 0
  }
  return current
}

/** Which file of `source` answers a request for `pathname`, if any. */
function pick(source: Source | null, pathname: string, navigate: boolean): Listed | undefined {
  if (!source) return undefined
  const file = source.files.get(pathname)
  if (file) return file
  const name = pathname.slice(pathname.lastIndexOf('/') + 1)
  return navigate && !name.includes('.') ? source.files.get(source.entry) : undefined
}

/** The source and file that answer a request: the current release first, then the precache. */
function choose(pathname: string, navigate: boolean): [Source, Listed] | undefined {
  for (const source of [current ?? null, precache ?? null]) {
    const file = pick(source, pathname, navigate)
    if (source && file) return [source, file]
  }
  return undefined
}

/** The response made from verified bytes, with the app's security headers. */
function respond(bytes: Uint8Array<ArrayBuffer>, type: string): Response {
  return new Response(bytes, { status: 200, headers: { ...SECURITY_HEADERS, 'Content-Type': type } })
}

/** The cached copy in `cacheName` if its bytes are still the listed ones. */
async function verified(cacheName: string, file: Listed): Promise<Response | undefined> {
  const res = await caches.match(urlOf(file.path), { cacheName })
  if (!res) return undefined
  const bytes = new Uint8Array(await res.arrayBuffer())
  return (await matches(bytes, file))
    ? respond(bytes, res.headers.get('Content-Type') ?? contentTypeOf(file.path))
    : undefined
}

async function serve(source: Source, file: Listed): Promise<Response> {
  const res = await verified(source.cache, file)
  if (res) return res
  // Evicted or altered: a copy with the same hash in another of our caches, or from the origin.
  let copy: Response | undefined
  for (const name of await caches.keys()) {
    if (name === source.cache || !(name.startsWith(APP_PREFIX) || name.startsWith(RELEASE_PREFIX))) continue
    copy = await verified(name, file)
    if (copy) break
  }
  if (!copy) {
    const got = await fetch(urlOf(file.path), { cache: 'no-cache' }).catch(() => undefined)
    const bytes = got?.ok ? new Uint8Array(await got.arrayBuffer()) : undefined
    if (bytes && (await matches(bytes, file))) copy = respond(bytes, contentTypeOf(file.path))
  }
  if (!copy)
    return new Response(
      `Murmur: the cached ${file.path} is not the file this version of the app lists (altered or lost), ` +
        'and no verified copy is at hand. It was not run. Reload when online to fetch it again.\n',
      { status: 503, headers: { ...SECURITY_HEADERS, 'Content-Type': 'text/plain; charset=utf-8' } },
    )
  if (await caches.has(source.cache)) await (await caches.open(source.cache)).put(urlOf(file.path), copy.clone())
  return copy
}

self.addEventListener('install', (event) => event.waitUntil(install()))
self.addEventListener('activate', (event) => event.waitUntil(activate()))

self.addEventListener('fetch', (event) => {
  const { request } = event
  if (request.method !== 'GET') return
  const url = new URL(request.url)
  if (url.origin !== scope.origin || !url.pathname.startsWith(scope.pathname)) return
  const navigate = request.mode === 'navigate'
  if (!navigate && current !== undefined && precache !== undefined) {
    // The usual case: decide now, and leave requests that are not ours alone.
    const hit = choose(url.pathname, navigate)
    if (hit) event.respondWith(serve(...hit))
    return
  }
  // A load re-reads the pointer (a release chosen in the page runs from the next load on); a
  // restarted worker reads its state once.
  event.respondWith(
    Promise.all([loadCurrent(), precache ?? loadPrecache()]).then(() => {
      const hit = choose(url.pathname, navigate)
      return hit ? serve(...hit) : fetch(request)
    }),
  )
})

self.addEventListener('message', (event) => {
  if ((event.data as { type?: unknown } | null)?.type === 'skip-waiting') void self.skipWaiting()
})
