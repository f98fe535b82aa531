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
 *   against the release before `cache.put` (bytes that do not match are never cached), each
 *   with the release's Content-Type, under `/<path>`. A manifest (`/__murmur/release.json`)
 *   written last marks the cache complete.
 * - Current: the Cache Storage entry {@link CURRENT_URL} in {@link CURRENT_CACHE} names the
 *   current release, its entry and its paths; the service worker reads it. Unset means
 *   "release 0", the files the origin served first (sw.ts precache); once a trusted release
 *   with the same entry page bytes is cached, it is adopted as current (same bytes).
 * - Policy: `auto` makes the newest cached release current (the next load runs it), `ask`
 *   offers it (the UI shows "update available"), `stay` only lists it.
 * - A release whose publisher is no longer trusted has its cache deleted (unless it runs).
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

/** What the service worker reads: the current release and its files' URL paths. */
export interface CurrentPointer {
  readonly id: string
  /** URL path of the entry page, e.g. `/index.html`. */
  readonly entry: string
  /** URL paths of every file served from the release cache (not the worker script). */
  readonly paths: readonly string[]
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
  readonly store: Store
  readonly replicator: Replicator
  readonly kv: KeyValue
  /** Cache Storage; without it (Node tests) releases are listed but never cached. */
  readonly caches?: CacheStorage
  /** The serving peer's id, for the default publisher (undefined when unknown). */
  readonly servingId: () => Promise<string | undefined>
  /** Makes the replicator want exactly these feeds whole, without a follow. */
  readonly pin: (ids: readonly FeedIdText[]) => Promise<void>
  readonly people: () => People
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

  async setPolicy(policy: UpgradePolicy): Promise<void> {
    if (!POLICIES.includes(policy)) throw invalid(`The upgrade policy is one of ${POLICIES.join(', ')}.`)
    await this.#save({ ...this.#settings, policy })
    void this.scan()
  }

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
   * Makes release `id` current (an upgrade or a roll-back); the next load runs it.
   * @throws {EngineFailure} `NOT_FOUND` when it is not a fully cached release of a trusted publisher.
   */
  async use(id: MsgIdText): Promise<void> {
    const cid = msgArg(id)
    const k = (await this.#known()).find((r) => r.msg.id.equals(cid))
    if (!k || !(await this.#isCached(k.msg.id.toString())))
      throw new EngineFailure('NOT_FOUND', 'That version is not fully downloaded from a publisher you trust.')
    await this.#setCurrent(k)
    this.#d.changed()
  }

  // -------------------------------------------------------------------------------------------

  async #scan(): Promise<void> {
    const known = await this.#known()
    for (const k of known) await this.#cache(k)
    const current = await this.#current()
    const cached: Known[] = []
    for (const k of known) if (await this.#isCached(k.msg.id.toString())) cached.push(k)
    if (!current) {
      // Release 0 is what the origin served first: adopt the release with the same entry page.
      const first = await this.#precachedEntry()
      const same = first && cached.find((k) => sameBytes(entryDigest(k.content), first))
      const newest = [...cached].sort((a, b) => b.msg.value.ts - a.msg.value.ts)[0]
      if (same) await this.#setCurrent(same)
      else if (newest && this.#settings.policy === 'auto') await this.#setCurrent(newest)
    } else if (this.#settings.policy === 'auto') {
      const cur = known.find((k) => k.msg.id.toString() === current.id)
      const best = cur && cached.filter((k) => newer(k, cur, known)).sort((a, b) => b.msg.value.ts - a.msg.value.ts)[0]
      if (best) await this.#setCurrent(best)
    }
    await this.#dropUntrusted(known)
    this.#d.changed()
  }

  /** Deletes the caches of releases no trusted publisher offers (but never the current one's). */
  async #dropUntrusted(known: readonly Known[]): Promise<void> {
    const caches = this.#d.caches
    if (!caches) return
    const keep = new Set(known.map((k) => releaseCache(k.msg.id.toString())))
    const current = await this.#current()
    if (current) keep.add(releaseCache(current.id))
    for (const name of await caches.keys()) {
      if (
        name.startsWith(releaseCache('')) &&
        !keep.has(name) &&
        !this.#caching.has(name.slice(releaseCache('').length))
      )
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

  async #setCurrent(k: Known): Promise<void> {
    const cache = await this.#d.caches?.open(CURRENT_CACHE)
    await cache?.put(CURRENT_URL, new Response(JSON.stringify(pointerOf(k))))
  }

  /** The sha-256 of the entry page the service worker precached from the origin, if any. */
  async #precachedEntry(): Promise<Uint8Array | undefined> {
    const caches = this.#d.caches
    if (!caches) return undefined
    for (const name of await caches.keys()) {
      if (!name.startsWith('murmur-app-')) continue
      const res = await (await caches.open(name)).match('/index.html')
      if (res) return sha256(new Uint8Array(await res.arrayBuffer()))
    }
    return undefined
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
    paths: k.content.files.filter((f) => f.path !== k.content.worker).map((f) => `/${f.path}`),
  }
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
