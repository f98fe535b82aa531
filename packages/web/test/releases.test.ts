/**
 * engine/releases.ts in Node, on a small in-memory CacheStorage (the engine only opens, lists,
 * matches, puts and deletes; sw.test.ts covers the real one, and the e2e test the whole path):
 * adopting the served build's release, trusted and untrusted publishers, the upgrade policies,
 * two publishers, roll back, pruning of old release caches, and refusing a file whose bytes do
 * not match the release.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  blobId,
  type CID,
  contentOf,
  createMsg,
  createNobleEd25519,
  type FeedId,
  formatFeedId,
  type Keypair,
  keypairFromSeed,
  type Msg,
  type ReleaseContent,
  toHex,
  utf8,
  type VerifiedMsg,
} from '@murmur/core'
import type { PersonRef } from '../src/api.js'
import { EngineFailure } from '../src/engine/errors.js'
import type { KeyValue } from '../src/engine/kv.js'
import {
  CURRENT_CACHE,
  CURRENT_URL,
  type CurrentPointer,
  Releases,
  type ReleasesDeps,
  releaseCache,
  WEB_APP,
} from '../src/engine/releases.js'

const ed = createNobleEd25519()

// --- an in-memory CacheStorage --------------------------------------------------------------

const keyOf = (req: RequestInfo | URL) => (typeof req === 'string' ? req : req instanceof URL ? req.href : req.url)

class MemoryCache {
  readonly entries = new Map<string, { body: Uint8Array; headers: [string, string][] }>()
  async match(req: RequestInfo | URL): Promise<Response | undefined> {
    const e = this.entries.get(keyOf(req))
    return e && new Response(e.body.slice() as Uint8Array<ArrayBuffer>, { headers: e.headers })
  }
  async put(req: RequestInfo | URL, res: Response): Promise<void> {
    this.entries.set(keyOf(req), { body: new Uint8Array(await res.arrayBuffer()), headers: [...res.headers] })
  }
  async delete(req: RequestInfo | URL): Promise<boolean> {
    return this.entries.delete(keyOf(req))
  }
  async keys(): Promise<readonly Request[]> {
    return [...this.entries.keys()].map((k) => new Request(new URL(k, 'http://app.test')))
  }
}

class MemoryCacheStorage {
  readonly caches = new Map<string, MemoryCache>()
  async open(name: string): Promise<MemoryCache> {
    const c = this.caches.get(name) ?? new MemoryCache()
    this.caches.set(name, c)
    return c
  }
  async has(name: string): Promise<boolean> {
    return this.caches.has(name)
  }
  async delete(name: string): Promise<boolean> {
    return this.caches.delete(name)
  }
  async keys(): Promise<string[]> {
    return [...this.caches.keys()]
  }
  async match(req: RequestInfo | URL, opts: { cacheName?: string } = {}): Promise<Response | undefined> {
    const names = opts.cacheName === undefined ? [...this.caches.keys()] : [opts.cacheName]
    for (const n of names) {
      const hit = await this.caches.get(n)?.match(req)
      if (hit) return hit
    }
    return undefined
  }
}

// --- publishers, releases, and the engine's other parts -------------------------------------

class Publisher {
  head: VerifiedMsg | undefined
  constructor(readonly keys: Keypair) {}
  get id(): string {
    return formatFeedId(this.keys.publicKey)
  }
}

async function publisher(n: number): Promise<Publisher> {
  const seed = new Uint8Array(32).fill(n)
  return new Publisher(await keypairFromSeed(ed, seed))
}

/** A build: file path → text. */
type Build = Readonly<Record<string, string>>
const build = (name: string): Build => ({
  'index.html': `<!doctype html><title>${name}</title><script type="module" src="/assets/app-${name}.js"></script>`,
  [`assets/app-${name}.js`]: `console.log(${JSON.stringify(name)})`,
  'sw.js': 'self.addEventListener("fetch", () => {})',
})

/** A world: the feeds and blobs this browser holds, the blobs peers hold, and the engine's caches. */
class World {
  readonly messages: Msg[] = []
  readonly blobs = new Map<string, Uint8Array>()
  readonly peerBlobs = new Map<string, Uint8Array>()
  readonly caches = new MemoryCacheStorage()
  readonly kv = new Map<string, unknown>()
  readonly pinned: string[][] = []
  changes = 0

  /** Publishes `files` as a release of `p` (its blobs held by peers only, unless `local`). */
  async publish(p: Publisher, version: string, files: Build, opts: { ts?: number; local?: boolean } = {}) {
    const list: ReleaseContent['files'] = []
    for (const [path, text] of Object.entries(files)) {
      const bytes = utf8(text)
      const link = blobId(bytes)
      ;(opts.local ? this.blobs : this.peerBlobs).set(link.toString(), bytes)
      list.push({ path, link, size: bytes.length, type: path.endsWith('.html') ? 'text/html' : 'text/javascript' })
    }
    const content: ReleaseContent = {
      app: WEB_APP,
      version,
      files: list,
      entry: 'index.html',
      worker: 'sw.js',
      ...(p.head ? { prev: p.head.id } : {}),
    }
    const h = p.head
    p.head = await createMsg(ed, p.keys, h && { seq: h.value.seq, id: h.id }, {
      type: 'release',
      content,
      ts: opts.ts ?? 1_760_000_000_000 + this.messages.length * 1000,
    })
    this.messages.push(p.head)
    return p.head
  }

  /** What the service worker precached from the origin: `files`, under the name it records. */
  async precache(files: Build): Promise<void> {
    const name = 'murmur-app-0123456789abcdef'
    const cache = await this.caches.open(name)
    for (const [path, text] of Object.entries(files)) await cache.put(`/${path}`, new Response(text))
    await (await this.caches.open('murmur-sw')).put('/__murmur/sw/active', new Response(name))
  }

  releases(serving?: Publisher): Releases {
    const kv: KeyValue = {
      get: async (k) => this.kv.get(k),
      put: async (k, v) => {
        this.kv.set(k, structuredClone(v))
      },
      close: () => undefined,
    }
    const deps: ReleasesDeps = {
      store: {
        messages: (author: FeedId) => this.#feed(author),
        blobs: { get: async (cid: CID) => this.blobs.get(cid.toString()) },
      },
      replicator: {
        fetchBlob: async (cid: CID) => {
          const bytes = this.peerBlobs.get(cid.toString())
          if (!bytes) throw new Error('no peer has it')
          return bytes
        },
      },
      kv,
      caches: this.caches as unknown as CacheStorage,
      servingId: async () => serving?.id,
      pin: async (ids) => {
        this.pinned.push([...ids])
      },
      people: () => ({
        ref: async (id: FeedId): Promise<PersonRef> =>
          ({ id: formatFeedId(id), nameSource: 'none', fingerprint: '' }) as unknown as PersonRef,
      }),
      changed: () => {
        this.changes++
      },
    }
    return new Releases(deps)
  }

  async *#feed(author: FeedId): AsyncGenerator<Msg> {
    for (const m of this.messages) if (toHex(m.value.author) === toHex(author)) yield m
  }

  async pointer(): Promise<CurrentPointer | undefined> {
    const res = await this.caches.match(CURRENT_URL, { cacheName: CURRENT_CACHE })
    return res && ((await res.json()) as CurrentPointer)
  }

  /** The ids of the release caches that exist. */
  releaseCaches(): string[] {
    return [...this.caches.caches.keys()]
      .filter((n) => n.startsWith(releaseCache('')))
      .map((n) => n.slice(releaseCache('').length))
      .sort()
  }
}

/** Starts `r` and waits for its first scan (and the one that follows it, if any). */
async function started(r: Releases): Promise<Releases> {
  await r.start()
  await r.scan()
  return r
}

const idOf = (m: Msg) => m.id.toString()
const sorted = (...ms: Msg[]) => ms.map(idOf).sort()

// --- tests ----------------------------------------------------------------------------------

test('the served build’s release from the trusted publisher is adopted: cached, verified, current', async () => {
  const w = new World()
  const p = await publisher(1)
  const one = build('one')
  const r1 = await w.publish(p, '1.0.0', one)
  await w.precache(one)
  const r = await started(w.releases(p))

  assert.deepEqual(w.kv.get('releases'), { policy: 'ask', publishers: [p.id] }, 'the serving peer is the publisher')
  assert.deepEqual(w.pinned.at(-1), [p.id], 'its feed is pinned, not followed')
  const pointer = await w.pointer()
  assert.equal(pointer?.id, idOf(r1))
  assert.equal(pointer?.entry, '/index.html')
  assert.equal(pointer?.previous, undefined)
  // The pointer lists every file but the worker, with the hash the service worker checks.
  const sha = (text: string) => toHex(blobId(utf8(text)).multihash.digest)
  assert.deepEqual(
    pointer?.files.map((f) => [f.path, f.sha256, f.size]).sort(),
    Object.entries(one)
      .filter(([path]) => path !== 'sw.js')
      .map(([path, text]) => [`/${path}`, sha(text), utf8(text).length])
      .sort(),
  )
  const cache = await w.caches.open(releaseCache(idOf(r1)))
  const page = await cache.match('/index.html')
  assert.equal(await page?.text(), one['index.html'])
  assert.equal(page?.headers.get('Content-Type'), 'text/html')
  assert.equal(await cache.match('/sw.js'), undefined, 'the browser fetches the worker itself')

  const view = await r.view()
  assert.equal(view.current, idOf(r1))
  assert.deepEqual(
    view.releases.map((v) => [v.version, v.cached, v.current, v.newer]),
    [['1.0.0', true, true, false]],
  )
  assert.equal(view.releases[0]?.workerSha256, sha(one['sw.js'] as string))
  r.close()
})

test('releases of publishers the person does not trust are neither listed nor cached', async () => {
  const w = new World()
  const [p, stranger] = [await publisher(1), await publisher(2)]
  const r1 = await w.publish(p, '1.0.0', build('one'))
  const evil = await w.publish(stranger, '9.9.9', build('evil'))
  await w.precache(build('zero'))
  const r = await started(w.releases(p))
  const view = await r.view()
  assert.deepEqual(
    view.releases.map((v) => v.version),
    ['1.0.0'],
  )
  assert.equal(view.current, undefined, 'the precache matches no trusted release: release 0 runs')
  assert.equal(await w.pointer(), undefined)
  assert.deepEqual(w.releaseCaches(), sorted(r1), 'without a current release, each trusted publisher’s newest')

  // Trusting the stranger later brings its release in; removing it again drops its cache.
  await r.addPublisher(stranger.id)
  await r.scan()
  assert.deepEqual(w.releaseCaches(), sorted(r1, evil))
  await r.removePublisher(stranger.id)
  await r.scan()
  assert.ok(!w.releaseCaches().includes(idOf(evil)), 'an untrusted publisher’s cache is deleted')
  assert.deepEqual(w.pinned.at(-1), [p.id])
  r.close()
})

test('policies: "ask" offers a new release, "stay" only lists it, "auto" makes it current', async () => {
  for (const policy of ['ask', 'stay', 'auto'] as const) {
    const w = new World()
    const p = await publisher(1)
    const r1 = await w.publish(p, '1.0.0', build('one'))
    await w.precache(build('one'))
    const r = await started(w.releases(p))
    await r.setPolicy(policy)
    const r2 = await w.publish(p, '2.0.0', build('two'))
    r.onAppend(r2)
    await r.scan()
    const view = await r.view()
    const two = view.releases.find((v) => v.version === '2.0.0')
    assert.equal(two?.cached, true, policy)
    if (policy === 'auto') {
      assert.equal(view.current, idOf(r2), policy)
      assert.equal((await w.pointer())?.previous, idOf(r1), 'the release it replaced is the previous one')
    } else {
      assert.equal(view.current, idOf(r1), `${policy}: nothing switches by itself`)
      assert.equal(two?.newer, true, policy)
    }
    r.close()
  }
})

test('two publishers offer different releases: both are offered, the person picks', async () => {
  const w = new World()
  const [p, q] = [await publisher(1), await publisher(2)]
  const r1 = await w.publish(p, '1.0.0', build('one'))
  await w.precache(build('one'))
  const r = await started(w.releases(p))
  await r.addPublisher(q.id)
  const fork = await w.publish(q, 'fork-1', build('fork'))
  const r2 = await w.publish(p, '2.0.0', build('two'))
  await r.scan()
  let view = await r.view()
  assert.deepEqual(
    view.releases.filter((v) => v.newer && v.cached).map((v) => v.version),
    ['2.0.0', 'fork-1'],
  )
  assert.equal(view.current, idOf(r1))
  assert.deepEqual(w.releaseCaches(), sorted(r1, fork, r2))

  await r.use(idOf(fork))
  await r.scan()
  view = await r.view()
  assert.equal(view.current, idOf(fork))
  assert.equal((await w.pointer())?.previous, idOf(r1))
  // From the fork, p's 2.0.0 (a later claimed time) is still offered; 1.0.0 is kept for a roll back.
  assert.deepEqual(
    view.releases.filter((v) => v.newer).map((v) => v.version),
    ['2.0.0'],
  )
  assert.deepEqual(w.releaseCaches(), sorted(r1, fork, r2))
  r.close()
})

test('roll back to the previous release, and to a pruned one (cached again)', async () => {
  const w = new World()
  const p = await publisher(1)
  const r1 = await w.publish(p, '1.0.0', build('one'))
  await w.precache(build('one'))
  const r = await started(w.releases(p))
  await r.setPolicy('auto')
  const r2 = await w.publish(p, '2.0.0', build('two'))
  await r.scan()
  const r3 = await w.publish(p, '3.0.0', build('three'))
  await r.scan()
  assert.equal((await w.pointer())?.id, idOf(r3))
  assert.deepEqual(w.releaseCaches(), sorted(r2, r3), 'release 1 is neither current nor previous: pruned')

  await r.setPolicy('stay')
  await r.use(idOf(r2))
  await r.scan()
  assert.deepEqual(await w.pointer().then((c) => [c?.id, c?.previous]), [idOf(r2), idOf(r3)])
  assert.deepEqual(w.releaseCaches(), sorted(r2, r3), '3.0.0 is both previous and the offer')

  await r.use(idOf(r1)) // pruned: cached again from peers, verified
  await r.scan()
  assert.deepEqual(await w.pointer().then((c) => [c?.id, c?.previous]), [idOf(r1), idOf(r2)])
  assert.deepEqual(w.releaseCaches(), sorted(r1, r2, r3), 'current, previous, and 3.0.0 offered')
  assert.equal(
    await (await w.caches.open(releaseCache(idOf(r1)))).match('/index.html').then((x) => x?.text()),
    build('one')['index.html'],
  )
  r.close()
})

test('old release caches are pruned: only the current, the previous and the offers stay', async () => {
  const w = new World()
  const p = await publisher(1)
  const all = [await w.publish(p, '1', build('1'))]
  await w.precache(build('1'))
  const r = await started(w.releases(p))
  await r.setPolicy('auto')
  for (let i = 2; i <= 5; i++) {
    all.push(await w.publish(p, String(i), build(String(i))))
    await r.scan()
    assert.equal((await w.pointer())?.id, idOf(all[i - 1] as Msg))
    assert.deepEqual(w.releaseCaches(), sorted(all[i - 2] as Msg, all[i - 1] as Msg), `after ${i}`)
  }
  // Another engine's leftover cache of a release nobody offers goes too.
  await w.caches.open(releaseCache('bafyleftover'))
  await r.scan()
  assert.deepEqual(w.releaseCaches(), sorted(all[3] as Msg, all[4] as Msg))
  assert.ok(await w.caches.has('murmur-app-0123456789abcdef'), 'the precache is the worker’s: never touched')
  r.close()
})

test('a file whose bytes do not match the release is refused: nothing cached, nothing offered', async () => {
  const w = new World()
  const p = await publisher(1)
  const r1 = await w.publish(p, '1.0.0', build('one'))
  await w.precache(build('one'))
  const r = await started(w.releases(p))
  const r2 = await w.publish(p, '2.0.0', build('two'))
  const content = contentOf(r2, 'release') as ReleaseContent
  const js = content.files.find((f) => f.path.endsWith('.js') && f.path !== 'sw.js')
  assert.ok(js)
  // A peer (or a broken store) hands over other bytes for the app's script.
  w.peerBlobs.set(js.link.toString(), utf8('console.log("evil")'))
  await r.scan()
  const view = await r.view()
  assert.equal(view.releases.find((v) => v.version === '2.0.0')?.cached, false)
  assert.ok(!(await w.caches.has(releaseCache(idOf(r2)))), 'its cache is deleted')
  assert.equal(view.current, idOf(r1))
  await assert.rejects(r.use(idOf(r2)), (e: unknown) => e instanceof EngineFailure && e.code === 'NOT_FOUND')
  assert.equal((await w.pointer())?.id, idOf(r1))

  // The right bytes arrive later: the next scan caches and offers it.
  w.peerBlobs.set(js.link.toString(), utf8(build('two')[js.path] as string))
  await r.scan()
  assert.equal((await r.view()).releases.find((v) => v.version === '2.0.0')?.cached, true)
  r.close()
})

test('a pointer an older engine wrote (no hashes) is rewritten with them', async () => {
  const w = new World()
  const p = await publisher(1)
  const r1 = await w.publish(p, '1.0.0', build('one'), { local: true })
  const old = { id: idOf(r1), entry: '/index.html', paths: ['/index.html'] }
  await (await w.caches.open(CURRENT_CACHE)).put(CURRENT_URL, new Response(JSON.stringify(old)))
  await started(w.releases(p))
  const pointer = await w.pointer()
  assert.equal(pointer?.id, idOf(r1))
  assert.equal(pointer?.files.length, 2)
})
