/**
 * The engine: the identity, the store and the network behind the UI, built on the same
 * packages the Node peer runs (core, store, replicate, net). It implements {@link EngineApi};
 * the RPC (rpc.ts) carries calls to it from the page, and only the tab holding the engine lock
 * (hub.ts) ever opens one, so two tabs never write.
 *
 * How it works
 * - The seed and settings live in their own small database (settings.ts); the store opens once
 *   an identity exists. Creating one stores the seed (durably) before anything is signed.
 * - Writes are `store.publish`, which reads the feed's head and appends as one step.
 * - After a restore, writes refuse with `RESTORE_PENDING` until a peer has announced this feed
 *   and the store caught up to it (head.ts), or the person overrode the wait: posting from a
 *   stale copy forks the feed for good.
 * - Reads are the store's views, mapped in reads.ts with one profile cache per call.
 * - Events: appends become one `changed` per ~100 ms (after the views indexed them); network
 *   changes one `network` per ~250 ms; identity changes an `identity` at once.
 */
import {
  type Draft,
  equalBytes,
  formatBackup,
  formatFeedId,
  generateKeypair,
  isPeerUrl,
  isStunUri,
  type Keypair,
  keypairFromSeed,
  parseBackup,
  parseFeedId,
} from '@murmur/core'
import { DEFAULT_MAX_BLOB_BYTES, Store } from '@murmur/store'
import type {
  EngineApi,
  EngineEvent,
  IdentityState,
  MsgIdText,
  NetworkView,
  NewImage,
  PersonRef,
  PostPage,
  Profile,
  ReleasesView,
  ThreadView,
  UpgradePolicy,
} from '../api.js'
import { blobArg, boolArg, invalid, textArg } from './args.js'
import { Batcher } from './batch.js'
import {
  aboutDraft,
  blockDraft,
  checkImage,
  followDraft,
  type PostInput,
  petnameDraft,
  postDraft,
  voteDraft,
} from './drafts.js'
import { EngineFailure } from './errors.js'
import { headKnown } from './head.js'
import { Network, peerUrlArg, servingPeerUrl } from './network.js'
import { People } from './people.js'
import type { EnginePlatform } from './platform.js'
import * as reads from './reads.js'
import { Releases } from './releases.js'
import { loadSeed, loadSettings, type Settings, saveSeed, saveSettings } from './settings.js'

/** How long `blob()` waits for peers to deliver a blob this device does not hold (ms). */
export const BLOB_FETCH_MS = 15_000
const CHANGED_MS = 100
const NETWORK_MS = 250

/** An open identity: its keys, store and network. */
interface Session {
  readonly keys: Keypair
  readonly store: Store
  readonly network: Network
  readonly changed: Batcher<string>
  readonly networkEvents: Batcher<true>
  readonly offAppend: () => void
  readonly releases: Releases
}

/** The engine: one per origin, in the tab that holds the lock. */
export class Engine implements EngineApi {
  readonly #platform: EnginePlatform
  readonly #listeners = new Set<(e: EngineEvent) => void>()
  #settings: Settings
  #session: Session | undefined
  #persisted = false
  /** Identity changes (create, restore) run one at a time. */
  #serial: Promise<unknown> = Promise.resolve()
  #checkingHead = false
  #checkAgain = false
  #closed = false
  readonly #offOnline: () => void

  private constructor(platform: EnginePlatform, settings: Settings) {
    this.#platform = platform
    this.#settings = settings
    // Back online: dial now instead of waiting out the backoff.
    this.#offOnline = platform.onOnline?.(() => this.#session?.network.retryNow()) ?? (() => undefined)
  }

  /**
   * Opens the engine: reads the settings and, when an identity exists, opens its store and
   * starts replicating. Call it only while holding the engine lock (hub.ts).
   */
  static async open(platform: EnginePlatform): Promise<Engine> {
    const engine = new Engine(platform, await loadSettings(platform.kv))
    const seed = await loadSeed(platform.kv)
    if (seed) await engine.#start(seed)
    return engine
  }

  /** Calls `fn` with every event; returns the function that stops it. */
  on(fn: (e: EngineEvent) => void): () => void {
    this.#listeners.add(fn)
    return () => this.#listeners.delete(fn)
  }

  /** Stops the network and closes the store and the settings database. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#offOnline()
    this.#listeners.clear()
    const s = this.#session
    this.#session = undefined
    if (s) {
      s.releases.close()
      s.offAppend()
      s.changed.close()
      s.networkEvents.close()
      await s.network.close()
      await s.store.close()
    }
    this.#platform.kv.close()
  }

  // --- identity ------------------------------------------------------------------------------

  async identity(): Promise<IdentityState> {
    const s = this.#session
    if (!s) return { kind: 'none' }
    const me = s.keys.publicKey
    // The restore state first, then the feed's: "head known" was noted only once the feed had
    // reached it, so a feed state read after it is at least that far. (Read the other way
    // round, a read issued just before the head arrived could pair "known" with seq 0.)
    const r = this.#settings.restore
    const [ref, state, persisted] = await Promise.all([
      new People(s.store, me).ref(me),
      s.store.feedState(me),
      this.#persistedNow(),
    ])
    return {
      kind: 'ready',
      me: ref,
      backedUp: this.#settings.backedUp,
      ...(r ? { restore: { headKnown: r.headKnown, overridden: r.overridden, seq: state?.seq ?? 0 } } : {}),
      persisted,
      invite: `${this.#platform.origin.replace(/\/+$/, '')}/#/follow/${formatFeedId(me)}`,
    }
  }

  createIdentity(p: { name: string; description?: string; avatar?: NewImage }): Promise<IdentityState> {
    return this.#exclusive(async () => {
      if (this.#session) throw exists()
      const name = textArg(p?.name, 'name').trim()
      const about = { ...(name ? { name } : {}), ...(p.description ? { description: p.description } : {}) }
      if (p.avatar !== undefined) checkImage(p.avatar, DEFAULT_MAX_BLOB_BYTES)
      const keys = await generateKeypair(this.#platform.ed)
      // Checked before the seed is stored: a bad argument must not leave a half-made identity.
      aboutDraft(keys.publicKey, about, undefined)
      await this.#saveSettings({ ...(this.#settings.peers ? { peers: this.#settings.peers } : {}), backedUp: false })
      await saveSeed(this.#platform.kv, keys.seed)
      const s = await this.#start(keys.seed)
      const image = p.avatar ? await s.store.blobs.put(p.avatar.bytes) : undefined
      const draft = aboutDraft(s.keys.publicKey, about, image)
      if (draft) await s.store.publish(this.#platform.ed, s.keys, draft)
      this.#emit({ type: 'identity' })
      return this.identity()
    })
  }

  restoreIdentity(backup: string): Promise<IdentityState> {
    return this.#exclusive(async () => {
      let seed: Uint8Array
      try {
        seed = parseBackup(textArg(backup, 'backup'))
      } catch (err) {
        throw new EngineFailure('BAD_BACKUP', `That is not a working backup: ${(err as Error).message}`)
      }
      const s = this.#session
      if (s) {
        const keys = await keypairFromSeed(this.#platform.ed, seed)
        if (equalBytes(keys.publicKey, s.keys.publicKey)) return this.identity()
        throw exists()
      }
      await this.#saveSettings({ ...this.#settings, backedUp: true, restore: { headKnown: false, overridden: false } })
      await saveSeed(this.#platform.kv, seed)
      await this.#start(seed)
      this.#emit({ type: 'identity' })
      return this.identity()
    })
  }

  async backupText(): Promise<string> {
    return formatBackup(this.#need().keys.seed)
  }

  async markBackedUp(): Promise<void> {
    this.#need()
    if (this.#settings.backedUp) return
    await this.#saveSettings({ ...this.#settings, backedUp: true })
    this.#emit({ type: 'identity' })
  }

  async overrideRestoreWait(): Promise<void> {
    this.#need()
    const r = this.#settings.restore
    if (!r || r.headKnown || r.overridden) return
    await this.#saveSettings({ ...this.#settings, restore: { ...r, overridden: true } })
    this.#emit({ type: 'identity' })
  }

  async updateProfile(p: { name?: string; description?: string; avatar?: NewImage }): Promise<void> {
    const s = this.#writer()
    if (typeof p !== 'object' || p === null) throw new EngineFailure('INVALID_ARGUMENT', 'Nothing to change.')
    if (p.avatar !== undefined) checkImage(p.avatar, s.store.blobs.maxBlobBytes)
    aboutDraft(s.keys.publicKey, p, undefined) // checks the text before a blob is stored
    const image = p.avatar ? await s.store.blobs.put(p.avatar.bytes) : undefined
    const draft = aboutDraft(s.keys.publicKey, p, image)
    if (draft) await this.#publish(s, draft)
  }

  // --- writes --------------------------------------------------------------------------------

  async post(p: PostInput): Promise<MsgIdText> {
    const s = this.#writer()
    const msg = await this.#publish(s, await postDraft(s.store, p))
    return msg.id.toString()
  }

  async like(id: MsgIdText, liked: boolean): Promise<void> {
    const s = this.#writer()
    const draft = voteDraft(id, liked)
    const now = await s.store.views.votes.likedBy(draft.content.link, s.keys.publicKey)
    if (now !== liked) await this.#publish(s, draft)
  }

  async follow(id: string, following: boolean): Promise<void> {
    const s = this.#writer()
    const draft = followDraft(s.keys.publicKey, id, following)
    const now = await s.store.views.graph.isFollowing(s.keys.publicKey, draft.content.target)
    if (now !== following) await this.#publish(s, draft)
  }

  async block(id: string, blocking: boolean): Promise<void> {
    const s = this.#writer()
    const me = s.keys.publicKey
    const target = followDraft(me, id, true).content.target // parses and checks the id
    const [now, following] = await Promise.all([
      s.store.views.blocks.isBlocked(target, me),
      s.store.views.graph.isFollowing(me, target),
    ])
    const draft = blockDraft(me, id, blocking, following)
    if (now !== blocking) await this.#publish(s, draft)
  }

  async setPetname(id: string, petname: string): Promise<void> {
    const s = this.#writer()
    const draft = petnameDraft(s.keys.publicKey, id, petname)
    const now = (await s.store.views.profiles.profile(draft.content.target)).petname ?? ''
    if (now !== draft.content.name) await this.#publish(s, draft)
  }

  // --- reads ---------------------------------------------------------------------------------

  async timeline(opts: { limit?: number; before?: string }): Promise<PostPage> {
    return reads.timeline(this.#read(), opts)
  }

  async postsBy(id: string, opts: { limit?: number; before?: string }): Promise<PostPage> {
    return reads.postsBy(this.#read(), id, opts)
  }

  async thread(id: MsgIdText): Promise<ThreadView> {
    return reads.thread(this.#read(), id)
  }

  async profile(id: string): Promise<Profile> {
    return reads.profile(this.#read(), id)
  }

  async likers(id: MsgIdText): Promise<readonly PersonRef[]> {
    return reads.likers(this.#read(), id)
  }

  async suggestions(): Promise<readonly PersonRef[]> {
    return reads.suggestions(this.#read())
  }

  async blob(id: string): Promise<Uint8Array | undefined> {
    const cid = blobArg(id)
    const s = this.#need()
    const held = await s.store.blobs.get(cid)
    if (held) return held
    try {
      return await s.network.replicator.fetchBlob(cid, { timeoutMs: BLOB_FETCH_MS })
    } catch {
      return undefined // nobody connected has it (or not in time): the UI shows a placeholder
    }
  }

  // --- releases ------------------------------------------------------------------------------

  async releases(): Promise<ReleasesView> {
    return this.#need().releases.view()
  }

  async setUpgradePolicy(policy: UpgradePolicy): Promise<void> {
    await this.#need().releases.setPolicy(policy)
    this.#emit({ type: 'releases' })
  }

  async useRelease(id: MsgIdText): Promise<void> {
    await this.#need().releases.use(id)
  }

  async addPublisher(id: string): Promise<void> {
    await this.#need().releases.addPublisher(id)
    this.#emit({ type: 'releases' })
  }

  async removePublisher(id: string): Promise<void> {
    await this.#need().releases.removePublisher(id)
  }

  // --- network -------------------------------------------------------------------------------

  async network(): Promise<NetworkView> {
    const configured = this.#configured()
    const s = this.#session
    const directLinks = this.#settings.directLinks !== false
    const chosen = { stun: [...(this.#settings.stun ?? [])], trackers: [...(this.#settings.trackers ?? [])] }
    if (!s)
      return {
        online: false,
        peers: [],
        configured,
        feeds: 0,
        messages: 0,
        forks: [],
        rejected: {},
        directLinks,
        ...chosen,
      }
    const state = s.network.state(configured)
    const people = new People(s.store, s.keys.publicKey)
    const forks = await Promise.all(state.forks.map(async (f) => ({ author: await people.ref(f.author), seq: f.seq })))
    return { ...state, configured, forks, directLinks, ...chosen }
  }

  async setConnectivity(c: { stun: string[]; trackers: string[] }): Promise<void> {
    const list = (v: unknown, what: string, ok: (x: unknown) => boolean, example: string): string[] => {
      if (!Array.isArray(v) || v.length > 8) throw invalid(`${what} is a list of at most 8 addresses.`)
      return [
        ...new Set(
          v.map((x) => {
            const t = typeof x === 'string' ? x.trim() : x
            if (!ok(t))
              throw invalid(`Not a ${what.slice(0, -1)}: ${JSON.stringify(String(x).slice(0, 80))} (e.g. ${example}).`)
            return t as string
          }),
        ),
      ]
    }
    const stun = list(c?.stun, 'STUN servers', isStunUri, 'stun:stun.example.org:3478')
    const trackers = list(c?.trackers, 'trackers', isPeerUrl, 'wss://tracker.example.org')
    await this.#saveSettings({ ...this.#settings, stun, trackers })
    this.#session?.network.setConnectivity({ stun, trackers })
    this.#emit({ type: 'network' })
  }

  async setDirectLinks(on: boolean): Promise<void> {
    const value = boolArg(on, 'on')
    await this.#saveSettings({ ...this.#settings, directLinks: value })
    this.#session?.network.rtc?.setEnabled(value)
    this.#emit({ type: 'network' })
  }

  async addPeer(url: string): Promise<void> {
    const u = peerUrlArg(url)
    const list = this.#configured()
    if (list.includes(u)) return
    await this.#setPeers([...list, u])
  }

  async removePeer(url: string): Promise<void> {
    const u = peerUrlArg(url)
    const list = this.#configured()
    if (!list.includes(u)) return
    await this.#setPeers(list.filter((p) => p !== u))
  }

  // -------------------------------------------------------------------------------------------

  /** The peers to dial: as configured, else the serving peer. */
  #configured(): string[] {
    const peers = this.#settings.peers
    if (peers) return [...peers]
    const serving = servingPeerUrl(this.#platform.origin)
    return serving ? [serving] : []
  }

  async #setPeers(peers: string[]): Promise<void> {
    await this.#saveSettings({ ...this.#settings, peers })
    await this.#session?.network.setPeers(peers)
    this.#emit({ type: 'network' })
  }

  /** Opens the store and the network of the identity with `seed`. */
  async #start(seed: Uint8Array): Promise<Session> {
    const ed = this.#platform.ed
    const keys = await keypairFromSeed(ed, seed)
    const store = await Store.open(this.#platform.openDb(), { me: keys.publicKey })
    const me = keys.publicKey
    const changed = new Batcher<string>(CHANGED_MS, async (authors) => {
      // "Refresh" is only useful once the views show the new messages.
      await store.indexed().catch(() => undefined)
      this.#emit({ type: 'changed', authors })
    })
    const networkEvents = new Batcher<true>(NETWORK_MS, () => this.#emit({ type: 'network' }))
    const network = new Network({
      store,
      ed,
      keys,
      platform: this.#platform,
      onEvent: (e) => {
        networkEvents.add(true)
        // A peer is connected: release files that no one had before may be there now.
        if (e.type === 'ready') void this.#session?.releases.scan()
        void this.#checkHead()
      },
    })
    const releases = new Releases({
      store,
      replicator: network.replicator,
      kv: this.#platform.kv,
      ...(this.#platform.caches ? { caches: this.#platform.caches } : {}),
      servingId: async () => {
        const id = await network.servingId()
        return id && formatFeedId(id)
      },
      pin: (ids) => network.replicator.pin(ids.map((id) => parseFeedId(id))),
      people: () => new People(store, me),
      changed: () => this.#emit({ type: 'releases' }),
    })
    const offAppend = store.onAppend((msg) => {
      releases.onAppend(msg)
      changed.add(formatFeedId(msg.value.author))
      if (equalBytes(msg.value.author, me)) void this.#checkHead()
    })
    const session: Session = { keys, store, network, changed, networkEvents, offAppend, releases }
    this.#session = session
    this.#persisted = await requestPersistence(this.#platform.storage)
    await network.loadForks()
    await network.loadLearned()
    network.rtc?.setEnabled(this.#settings.directLinks !== false)
    network.setConnectivity({ stun: this.#settings.stun ?? [], trackers: this.#settings.trackers ?? [] })
    // Not awaited: the store is usable at once; dialling starts when the serving peer's id is
    // known (or its well-known file timed out).
    void network.setPeers(this.#configured())
    // Not awaited either: the default publisher is known once the serving peer answered.
    void releases.start().catch(() => undefined)
    return session
  }

  /**
   * After a restore: notes (once) when the feed's head is known (head.ts). Called on every
   * network event and own append; a call while one runs makes that one look again, so the
   * last event is never missed.
   */
  async #checkHead(): Promise<void> {
    if (this.#checkingHead) {
      this.#checkAgain = true
      return
    }
    this.#checkingHead = true
    try {
      do {
        this.#checkAgain = false
        const s = this.#session
        const r = this.#settings.restore
        if (!s || !r || r.headKnown) return
        const seq = (await s.store.feedState(s.keys.publicKey))?.seq ?? 0
        if (headKnown(s.network.replicator, s.keys.publicKey, seq) && this.#session === s) {
          await this.#saveSettings({ ...this.#settings, restore: { ...r, headKnown: true } })
          this.#emit({ type: 'identity' })
          return
        }
      } while (this.#checkAgain)
    } catch {
      // The store or settings closed under us (shutting down): nothing to note any more.
    } finally {
      this.#checkingHead = false
    }
  }

  async #persistedNow(): Promise<boolean> {
    try {
      if (this.#platform.storage?.persisted) this.#persisted = await this.#platform.storage.persisted()
    } catch {
      // Keep the last answer.
    }
    return this.#persisted
  }

  async #saveSettings(next: Settings): Promise<void> {
    // The in-memory copy changes first, synchronously, so concurrent calls build on each other;
    // IndexedDB applies the writes in the order their transactions were made.
    this.#settings = next
    await saveSettings(this.#platform.kv, next)
  }

  #publish(s: Session, draft: Draft) {
    return s.store.publish(this.#platform.ed, s.keys, draft)
  }

  /** The open session, or `NO_IDENTITY`. */
  #need(): Session {
    if (this.#closed) throw new EngineFailure('UNAVAILABLE', 'Murmur was closed in this tab: reload it.')
    if (!this.#session) throw new EngineFailure('NO_IDENTITY', 'There is no identity here yet: create or restore one.')
    return this.#session
  }

  #read(): reads.ReadContext {
    const s = this.#need()
    return reads.readContext(s.store, s.keys.publicKey)
  }

  /** The session, if writing is allowed: not while a restore waits for the feed's head. */
  #writer(): Session {
    const s = this.#need()
    const r = this.#settings.restore
    if (r && !r.headKnown && !r.overridden) {
      throw new EngineFailure(
        'RESTORE_PENDING',
        'Your identity was restored, but your latest messages have not arrived from a peer yet. Writing now could ' +
          'break your feed for good: wait until a peer that has your feed is connected, or override the warning.',
      )
    }
    return s
  }

  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#serial.then(fn, fn)
    this.#serial = run.catch(() => undefined)
    return run
  }

  #emit(e: EngineEvent): void {
    for (const fn of this.#listeners) {
      try {
        fn(e)
      } catch (err) {
        // A listener's bug must not break the engine; it surfaces on its own.
        queueMicrotask(() => {
          throw err
        })
      }
    }
  }
}

function exists(): EngineFailure {
  return new EngineFailure(
    'IDENTITY_EXISTS',
    'This browser already has an identity for this site. Each site address keeps its own identity.',
  )
}

/**
 * Asks the browser to keep this origin's storage (identity and data) under storage pressure.
 * A worker may have no `persist()` (it is a window API in some browsers): then reports
 * `persisted()`, and the UI may ask itself.
 */
async function requestPersistence(storage: EnginePlatform['storage']): Promise<boolean> {
  try {
    if (storage?.persist) return await storage.persist()
    if (storage?.persisted) return await storage.persisted()
  } catch {
    // Not allowed here (e.g. an opaque origin): not persisted.
  }
  return false
}
