/**
 * The app's package manager, engine side (DESIGN.md "Web app", service worker as package
 * manager): it reads `release` messages of {@link WEB_APP} from the publishers the person
 * trusts, fetches every file's blob from any peer, checks it, and writes it into a Cache
 * Storage cache of that release, which the service worker (sw.ts) serves once the person's
 * policy lets it become current.
 *
 * How it works
 * - Publishers: a setting; by default the serving peer's id (its `/.well-known/murmur.json`),
 *   read once at first run and kept, so a later origin cannot swap itself in.
 * - Their feeds replicate because they are pinned in the replicator (`Replicator.pin`: wanted
 *   whole, as a follow would be, so the replicator fetches their release blobs on its own), not
 *   followed: whom one takes the app from is nobody else's business, a follow would put the
 *   publisher in the person's public graph and timeline, and it would be a write, which a
 *   restore that waits for the feed's head must not make.
 * - Caching a release: each file's blob comes from the store or from any connected peer
 *   (`fetchBlob`, which hashes before storing); its size and sha-256 are checked once more
 *   against the release before `cache.put` (bytes that do not match are never cached: the
 *   release's cache is deleted), each with the release's Content-Type, under `/<path>`. A
 *   manifest ({@link MANIFEST_URL}) written last marks the cache complete.
 * - Current: the Cache Storage entry {@link CURRENT_URL} in {@link CURRENT_CACHE} names the
 *   current release, its entry, each file's sha-256 and size (the worker hashes every cached
 *   file again against them before serving it) and the release that was current before it.
 *   Unset means "release 0", the files the origin served first (sw.ts precache); once a trusted
 *   release with the same entry page bytes is cached, it is adopted as current (same bytes).
 * - Which releases are cached: the current one, the previous one (so a roll back works
 *   offline), and each trusted publisher's newest release that is newer than the current one
 *   (the offers; without a current release, each one's newest). Every other release's cache is
 *   deleted; {@link Releases.use} caches an older one again from the store or from peers.
 * - Policy: `auto` makes the newest offer current (the next load runs it), `ask` offers it
 *   (the UI shows "update available"), `stay` only lists it.
 */
import { type CID, contentOf, formatFeedId, type Msg, parseFeedId, type ReleaseContent, toHex } from '@murmur/core'
import type { Replicator } from '@murmur/replicate'
import type { Store } from '@murmur/store'
import type { FeedIdText, MsgIdText, ReleasesView, ReleaseView, UpgradePolicy } from '../api.js'
import { feedArg, invalid, msgArg } from './args.js'
import { EngineFailure } from './errors.js'
import type { KeyValue } from './kv.js'
import type { People } from './people.js'

/** The app name of Murmur's web app (what `murmur serve` publishes). */
export const WEB_APP = 'murmur-web'
/** The Cache Storage cache that holds the current-release pointer. */
export const CURRENT_CACHE = 'murmur-current'
/** The pointer's key in {@link CURRENT_CACHE}. */
export const CURRENT_URL = '/__murmur/current'
/** The manifest that marks a release cache complete. */
export const MANIFEST_URL = '/__murmur/release.json'
/** The name of a release's cache. */
export const releaseCache = (id: string) => `murmur-release-${id}`
/** How long one file's blob may take to arrive from peers (ms). */
const FILE_FETCH_MS = 60_000

/** The service worker's records (sw.ts `STATE`, `ACTIVE`): the name of the precache it serves. */
const SW_STATE_CACHE = 'murmur-sw'
const SW_ACTIVE_URL = '/__murmur/sw/active'

/** One file of a {@link CurrentPointer}: what the service worker checks before serving it. */
export interface PointerFile {
  /** URL path, e.g. `/assets/index-1a2b.js`. */
  readonly path: string
  /** sha-256 of its bytes, hex (the digest of the release's blob id). */
  readonly sha256: string
  readonly size: number
}

/** What the service worker reads: the current release and its files (also each release cache's manifest). */
export interface CurrentPointer {
  readonly id: string
  /** URL path of the entry page, e.g. `/index.html`. */
  readonly entry: string
  /** Every file served from the release cache (not the worker script). */
  readonly files: readonly PointerFile[]
  /** The release that was current before this one (its cache is kept for a roll back). */
  readonly previous?: string
}

interface ReleaseSettings {
  readonly publishers?: readonly string[]
  readonly policy: UpgradePolicy
}

const SETTINGS_KEY = 'releases'
const POLICIES: readonly UpgradePolicy[] = ['auto', 'ask', 'stay']

/** A release message read from a trusted feed. */
interface Known {
  readonly msg: Msg
  readonly content: ReleaseContent
}

/** The parts {@link Releases} works with. */
export interface ReleasesDeps {
  /** Where release messages and their blobs are read. */
  readonly store: Pick<Store, 'messages'> & { readonly blobs: Pick<Store['blobs'], 'get'> }
  /** Fetches a blob from connected peers (hashing it before it is stored). */
  readonly replicator: Pick<Replicator, 'fetchBlob'>
  readonly kv: KeyValue
  /** Cache Storage; without it (Node tests) releases are listed but never cached. */
  readonly caches?: CacheStorage
  /** The serving peer's id, for the default publisher (undefined when unknown). */
  readonly servingId: () => Promise<string | undefined>
  /** Makes the replicator want exactly these feeds whole, without a follow. */
  readonly pin: (ids: readonly FeedIdText[]) => Promise<void>
  readonly people: () => Pick<People, 'ref'>
  /** Called when the list or a cache changed. */
  readonly changed: () => void
}

async function sha256(bytes: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>))
}

const hex = (b: Uint8Array) => toHex(b)
const sameBytes = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i])

/** The releases of the trusted publishers, their caches, and the current one. */
export class Releases {
  readonly #d: ReleasesDeps
  #settings: ReleaseSettings = { policy: 'ask' }
  readonly #caching = new Map<string, Promise<boolean>>()
  /** Releases {@link Releases.use} is switching to. */
  readonly #using = new Set<string>()
  #scanning: Promise<void> | undefined
  #again = false
  #closed = false

  constructor(deps: ReleasesDeps) {
    this.#d = deps
  }

  /** Reads the settings, fills in the default publisher, and looks for releases. */
  async start(): Promise<void> {
    const v = (await this.#d.kv.get(SETTINGS_KEY)) as Partial<ReleaseSettings> | undefined
    const policy = POLICIES.includes(v?.policy as UpgradePolicy) ? (v?.policy as UpgradePolicy) : 'ask'
    const publishers = Array.isArray(v?.publishers) ? v.publishers.filter((p) => typeof p === 'string') : undefined
    this.#settings = { policy, ...(publishers ? { publishers } : {}) }
    if (!publishers) {
      const serving = await this.#d.servingId()
      if (serving) await this.#save({ ...this.#settings, publishers: [serving] })
    }
    await this.#d.pin(this.#settings.publishers ?? [])
    void this.scan()
  }

  /** Stops scanning (the session is closing). */
  close(): void {
    this.#closed = true
  }

  /** Looks for new releases and caches them (one scan at a time; a call during one runs another). */
  scan(): Promise<void> {
    if (this.#scanning) {
      this.#again = true
      return this.#scanning
    }
    this.#scanning = (async () => {
      try {
        do {
          this.#again = false
          await this.#scan()
        } while (this.#again && !this.#closed)
      } catch {
        // The store closed under us (shutting down): nothing to do.
      } finally {
        this.#scanning = undefined
      }
    })()
    return this.#scanning
  }

  /** Called for every appended message: a release of a trusted publisher starts a scan. */
  onAppend(msg: Msg): void {
    if (msg.value.type !== 'release') return
    if (!this.#trusted().has(hex(msg.value.author))) return
    void this.scan()
  }

  /** The releases of the trusted publishers, newest first, with the person's choices. */
  async view(): Promise<ReleasesView> {
    const known = await this.#known()
    const current = await this.#current()
    const people = this.#d.people()
    const cur = current ? known.find((k) => k.msg.id.toString() === current.id) : undefined
    const views: ReleaseView[] = []
    for (const k of known) {
      const id = k.msg.id.toString()
      views.push({
        id,
        app: k.content.app,
        version: k.content.version,
        publisher: await people.ref(k.msg.value.author),
        ts: k.msg.value.ts,
        ...(k.content.notes ? { notes: k.content.notes } : {}),
        ...(k.content.prev ? { prev: k.content.prev.toString() } : {}),
        cached: await this.#isCached(id),
        current: id === current?.id,
        newer: cur ? newer(k, cur, known) : false,
        ...(k.content.worker ? { workerSha256: workerDigest(k.content) } : {}),
      })
    }
    views.sort((a, b) => b.ts - a.ts)
    return {
      ...(current ? { current: current.id } : {}),
      releases: views,
      policy: this.#settings.policy,
      publishers: await Promise.all((this.#settings.publishers ?? []).map((p) => people.ref(parseFeedId(p)))),
    }
  }

  /**
   * Sets the upgrade policy and applies it.
   * @throws {EngineFailure} `INVALID_ARGUMENT` for a policy other than `auto`, `ask` or `stay`.
   */
  async setPolicy(policy: UpgradePolicy): Promise<void> {
    if (!POLICIES.includes(policy)) throw invalid(`The upgrade policy is one of ${POLICIES.join(', ')}.`)
    await this.#save({ ...this.#settings, policy })
    void this.scan()
  }

  /**
   * Trusts `id`'s releases too (and replicates its feed, without a follow).
   * @throws {EngineFailure} `INVALID_ARGUMENT` when `id` is not a feed id.
   */
  async addPublisher(id: FeedIdText): Promise<void> {
    const text = formatFeedId(feedArg(id))
    const list = this.#settings.publishers ?? []
    if (list.includes(text)) return
    await this.#save({ ...this.#settings, publishers: [...list, text] })
    await this.#d.pin(this.#settings.publishers ?? [])
    void this.scan()
  }

  /** Stops trusting `id` (and stops replicating its feed unless it is followed). */
  async removePublisher(id: FeedIdText): Promise<void> {
    const text = formatFeedId(feedArg(id))
    await this.#save({ ...this.#settings, publishers: (this.#settings.publishers ?? []).filter((p) => p !== text) })
    await this.#d.pin(this.#settings.publishers ?? [])
    void this.scan()
  }

  /**
   * Makes release `id` current (an upgrade or a roll-back); the next load runs it. A release
   * whose cache was pruned is cached again first (from the store, or from peers).
   * @throws {EngineFailure} `NOT_FOUND` when it is not a release of a trusted publisher, or its
   * files could not all be fetched and verified.
   */
  async use(id: MsgIdText): Promise<void> {
    const cid = msgArg(id)
    const k = (await this.#known()).find((r) => r.msg.id.equals(cid))
    this.#using.add(cid.toString()) // a scan running meanwhile must not prune it between caching and pointing at it
    try {
      if (!k || !(await this.#cache(k)))
        throw new EngineFailure('NOT_FOUND', 'That version is not fully downloaded from a publisher you trust.')
      await this.#setCurrent(k)
    } finally {
      this.#using.delete(cid.toString())
    }
    this.#d.changed()
    void this.scan() // the offers and the caches to keep follow the new current release
  }

  // -------------------------------------------------------------------------------------------

  async #scan(): Promise<void> {
    const known = await this.#known()
    const pointer = await this.#current()
    let cur = pointer && known.find((k) => k.msg.id.toString() === pointer.id)
    if (!pointer) {
      // Release 0 is what the origin served first: adopt a release with the same entry page.
      const first = await this.#precachedEntry()
      const same = first && newestFirst(known.filter((k) => sameBytes(entryDigest(k.content), first)))[0]
      if (same && (await this.#cache(same))) {
        await this.#setCurrent(same)
        cur = same
      }
    } else if (cur) {
      await this.#cache(cur) // the browser may have evicted it (the worker serves release 0 meanwhile)
      if (!Array.isArray(pointer.files)) await this.#setCurrent(cur) // an older engine's pointer: add the hashes
    }
    const offers = newestOfEach(cur ? known.filter((k) => newer(k, cur, known)) : known)
    const cached: Known[] = []
    for (const k of offers) if (await this.#cache(k)) cached.push(k)
    const best = newestFirst(cached)[0]
    if (best && this.#settings.policy === 'auto') await this.#setCurrent(best)
    await this.#prune(known, offers)
    this.#d.changed()
  }

  /**
   * Deletes the release caches that are not worth keeping: all but the current release's (even
   * when its publisher is no longer trusted: it runs), the previous one's (if still trusted) and
   * the `offers`; never one being filled or switched to. The worker's precache is not a release cache.
   */
  async #prune(known: readonly Known[], offers: readonly Known[]): Promise<void> {
    const caches = this.#d.caches
    if (!caches) return
    const current = await this.#current()
    const keep = new Set(offers.map((k) => k.msg.id.toString()))
    if (current) keep.add(current.id)
    if (current?.previous && known.some((k) => k.msg.id.toString() === current.previous)) keep.add(current.previous)
    const prefix = releaseCache('')
    for (const name of await caches.keys()) {
      const id = name.slice(prefix.length)
      if (name.startsWith(prefix) && !keep.has(id) && !this.#caching.has(id) && !this.#using.has(id))
        await caches.delete(name)
    }
  }

  /** Every release of {@link WEB_APP} on a trusted publisher's feed held here. */
  async #known(): Promise<Known[]> {
    const out: Known[] = []
    for (const p of this.#settings.publishers ?? []) {
      for await (const msg of this.#d.store.messages(parseFeedId(p))) {
        const content = contentOf(msg, 'release')
        if (content?.app === WEB_APP) out.push({ msg, content })
      }
    }
    return out
  }

  #trusted(): Set<string> {
    return new Set((this.#settings.publishers ?? []).map((p) => hex(parseFeedId(p))))
  }

  async #isCached(id: string): Promise<boolean> {
    const caches = this.#d.caches
    if (!caches || !(await caches.has(releaseCache(id)))) return false
    return (await (await caches.open(releaseCache(id))).match(MANIFEST_URL)) !== undefined
  }

  /** Fetches, checks and caches every file of `k`; true when complete. */
  #cache(k: Known): Promise<boolean> {
    const id = k.msg.id.toString()
    let run = this.#caching.get(id)
    if (!run) {
      run = this.#fill(k).finally(() => this.#caching.delete(id))
      this.#caching.set(id, run)
    }
    return run
  }

  async #fill(k: Known): Promise<boolean> {
    const caches = this.#d.caches
    const id = k.msg.id.toString()
    if (!caches || (await this.#isCached(id))) return Boolean(caches)
    const cache = await caches.open(releaseCache(id))
    try {
      for (const f of k.content.files) {
        if (f.path === k.content.worker) continue // the browser fetches the worker itself
        const bytes = (await this.#d.store.blobs.get(f.link)) ?? (await this.#fetch(f.link))
        // Checked here once more, whatever the store or a peer did: only the signed bytes run.
        if (bytes.length !== f.size || !sameBytes(await sha256(bytes), f.link.multihash.digest)) {
          await caches.delete(releaseCache(id))
          return false
        }
        await cache.put(
          `/${f.path}`,
          new Response(bytes as Uint8Array<ArrayBuffer>, { headers: { 'Content-Type': f.type } }),
        )
      }
      await cache.put(MANIFEST_URL, new Response(JSON.stringify(pointerOf(k))))
      return true
    } catch {
      return false // nobody had a file in time: the next scan tries again
    }
  }

  #fetch(link: CID): Promise<Uint8Array> {
    return this.#d.replicator.fetchBlob(link, { timeoutMs: FILE_FETCH_MS })
  }

  async #current(): Promise<CurrentPointer | undefined> {
    const caches = this.#d.caches
    if (!caches) return undefined
    const res = await (await caches.open(CURRENT_CACHE)).match(CURRENT_URL)
    return res ? ((await res.json()) as CurrentPointer) : undefined
  }

  /** Makes `k` current; the release current until now becomes the previous one. */
  async #setCurrent(k: Known): Promise<void> {
    const caches = this.#d.caches
    if (!caches) return
    const before = await this.#current()
    const id = k.msg.id.toString()
    const previous = before && before.id !== id ? before.id : before?.previous
    const pointer: CurrentPointer = { ...pointerOf(k), ...(previous ? { previous } : {}) }
    await (await caches.open(CURRENT_CACHE)).put(CURRENT_URL, new Response(JSON.stringify(pointer)))
  }

  /** The sha-256 of the entry page the service worker precached from the origin, if any. */
  async #precachedEntry(): Promise<Uint8Array | undefined> {
    const caches = this.#d.caches
    const name = await (await caches?.match(SW_ACTIVE_URL, { cacheName: SW_STATE_CACHE }))?.text()
    const res = name ? await caches?.match('/index.html', { cacheName: name }) : undefined
    return res ? sha256(new Uint8Array(await res.arrayBuffer())) : undefined
  }

  async #save(next: ReleaseSettings): Promise<void> {
    this.#settings = next
    await this.#d.kv.put(SETTINGS_KEY, next)
  }
}

function pointerOf(k: Known): CurrentPointer {
  return {
    id: k.msg.id.toString(),
    entry: `/${k.content.entry}`,
    files: k.content.files
      .filter((f) => f.path !== k.content.worker)
      .map((f) => ({ path: `/${f.path}`, sha256: hex(f.link.multihash.digest), size: f.size })),
  }
}

/** Newest first by the publishers' claimed times. */
const newestFirst = (ks: readonly Known[]) => [...ks].sort((a, b) => b.msg.value.ts - a.msg.value.ts)

/** Each publisher's latest release among `ks` (the highest seq on its feed). */
function newestOfEach(ks: readonly Known[]): Known[] {
  const by = new Map<string, Known>()
  for (const k of ks) {
    const p = hex(k.msg.value.author)
    const had = by.get(p)
    if (!had || k.msg.value.seq > had.msg.value.seq) by.set(p, k)
  }
  return [...by.values()]
}

function entryDigest(c: ReleaseContent): Uint8Array {
  return c.files.find((f) => f.path === c.entry)?.link.multihash.digest ?? new Uint8Array()
}

function workerDigest(c: ReleaseContent): string {
  const f = c.files.find((x) => x.path === c.worker)
  return f ? hex(f.link.multihash.digest) : ''
}

/**
 * True when `a` is newer than `cur`: its `prev` chain reaches `cur` (the same publisher's later
 * release), or it is another publisher's release with a later claimed time; never when its
 * entry page is the same bytes (the same build).
 */
function newer(a: Known, cur: Known, known: readonly Known[]): boolean {
  if (a.msg.id.equals(cur.msg.id)) return false
  // The same build published again (by another publisher, or re-signed) is no update.
  if (sameBytes(entryDigest(a.content), entryDigest(cur.content))) return false
  if (hex(a.msg.value.author) !== hex(cur.msg.value.author)) return a.msg.value.ts > cur.msg.value.ts
  const byId = new Map(known.map((k) => [k.msg.id.toString(), k]))
  const seen = new Set<string>()
  for (let p = a.content.prev; p && !seen.has(p.toString()); p = byId.get(p.toString())?.content.prev) {
    if (p.equals(cur.msg.id)) return true
    seen.add(p.toString())
  }
  return false
}
