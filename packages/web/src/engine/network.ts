/**
 * The engine's network: one {@link Replicator} (the same one the Node peer runs), a {@link Mesh}
 * (@murmur/net's connection manager) that keeps the WebSocket connections to always-on peers,
 * and {@link RtcPeers}, the direct WebRTC links to other browsers.
 *
 * - Configured peers are always kept connected. By default the one peer is the serving peer —
 *   the origin the app came from, at `/murmur` — whose feed id is read from its
 *   `/.well-known/murmur.json` and required of the connection (`expectedRemote`), so a peer that
 *   answers on that URL cannot pretend to be it. Other URLs are cross-origin: their id is
 *   whoever answers (the handshake still authenticates).
 * - Learned peers: always-on peers that connected peers tell about (PEERS frames). The mesh
 *   connects to a random few ({@link LEARNED_TARGET} in all, configured ones counting), at a
 *   bounded rate, and never to private or loopback addresses unless the app itself was served
 *   from one (a LAN or a test). They are remembered ({@link LEARNED_KEY}), so when the serving
 *   peer is gone for good the app still knows where else to go.
 */
import {
  type Ed25519,
  type FeedId,
  formatFeedId,
  isPeerUrl,
  isStunUri,
  type Keypair,
  parseFeedId,
  toHex,
} from '@murmur/core'
import { dial, hostScope, Mesh, type MeshLink, type MeshPeerStatus, meshLink, type WsChannel } from '@murmur/net'
import { type Connection, Replicator, type ReplicatorEvent, type ReplicatorOptions } from '@murmur/replicate'
import type { Store } from '@murmur/store'
import type { PeerView } from '../api.js'
import { invalid } from './args.js'
import type { EnginePlatform } from './platform.js'
import { RtcPeers } from './rtc.js'

/**
 * How much of a feed two hops away (followed by someone I follow) a browser fetches when it
 * holds none of it: the newest posts are what suggestions and threads show, and a new browser
 * is useful in seconds instead of downloading years of strangers' history.
 */
export const FAR_FEED_TAIL = 100

/** The longest wait between two dials of a peer (ms). */
export const RETRY_MAX_MS = 10_000

/** Always-on peers to be connected to, configured ones counting (more are dialled when fewer are up). */
export const LEARNED_TARGET = 3

/** Where the learned peers' addresses are kept (the engine's key-value store), at most {@link LEARNED_MAX}. */
export const LEARNED_KEY = 'learned-peers'
export const LEARNED_MAX = 32

/**
 * The one place the replicator's options are built. A browser keeps all of the feeds it
 * follows (and its own) and only the newest {@link FAR_FEED_TAIL} messages of 2-hop feeds
 * (DESIGN.md, Storage).
 */
export function replicatorOptions(store: Store, ed: Ed25519, keys: Keypair): ReplicatorOptions {
  return { store, ed, keys, tail: { fromHops: 2, messages: FAR_FEED_TAIL } }
}

/** The serving peer's replication URL for a page served from `origin`, if it is http(s). */
export function servingPeerUrl(origin: string): string | undefined {
  let u: URL
  try {
    u = new URL(origin)
  } catch {
    return undefined
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return undefined
  return `${u.protocol === 'https:' ? 'wss:' : 'ws:'}//${u.host}/murmur`
}

/**
 * A peer address as typed or pasted: `ws://` and `wss://` URLs as they are, and a page URL
 * (`https://host/`) as that peer's WebSocket (`wss://host/murmur`), as the CLI takes them.
 * @throws {EngineFailure} `INVALID_ARGUMENT` when it is not such a URL.
 */
export function peerUrlArg(text: unknown): string {
  if (typeof text !== 'string') throw invalid('A peer address is a URL like wss://host/murmur.')
  let u: URL
  try {
    u = new URL(text.trim())
  } catch {
    throw invalid(`That is not a peer address: ${JSON.stringify(text.slice(0, 80))} (expected wss://host/murmur).`)
  }
  if (u.protocol === 'http:' || u.protocol === 'https:') {
    u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:'
    if (u.pathname === '/' || u.pathname === '') u.pathname = '/murmur'
  }
  if (u.protocol !== 'ws:' && u.protocol !== 'wss:') {
    throw invalid(`A peer address starts with wss://, ws://, https:// or http://, not ${u.protocol}`)
  }
  u.hash = ''
  return u.toString()
}

/** The network as numbers, before people are named (engine.ts makes the NetworkView). */
export interface NetworkState {
  readonly online: boolean
  readonly peers: PeerView[]
  readonly feeds: number
  readonly messages: number
  readonly sync?: { received: number; expected: number }
  readonly forks: { author: FeedId; seq: number }[]
  readonly rejected: Record<string, number>
}

/** Options of {@link Network}. */
export interface NetworkOptions {
  readonly store: Store
  readonly ed: Ed25519
  readonly keys: Keypair
  readonly platform: EnginePlatform
  /** Called on every change of connections, progress, wants or forks (the engine throttles). */
  readonly onEvent: (e: ReplicatorEvent | { type: 'dialer' }) => void
}

const WELL_KNOWN_TIMEOUT_MS = 5000

/** The replicator and the dialers of the configured peers. */
export class Network {
  readonly replicator: Replicator
  readonly #opts: NetworkOptions
  readonly #servingUrl: string | undefined
  readonly #mesh: Mesh
  #configured: readonly string[] = []
  /** The live connection of each dialled URL. */
  readonly #conns = new Map<string, Connection>()
  readonly #lastClose = new Map<string, string>()
  #savingLearned: Promise<void> = Promise.resolve()
  /** STUN servers and trackers: the serving peer's own, and the ones the person added. */
  #served: Connectivity = { stun: [], trackers: [] }
  #chosen: Connectivity = { stun: [], trackers: [] }
  readonly #forks = new Map<string, { author: FeedId; seq: number }>()
  readonly #off: () => void
  /** Direct links to other browsers, when the page can make them. */
  readonly rtc: RtcPeers | undefined
  #servingId: FeedId | undefined
  #servingFetch: Promise<void> | undefined
  #peersChange: Promise<void> = Promise.resolve()
  #closed = false

  constructor(opts: NetworkOptions) {
    this.#opts = opts
    this.#servingUrl = servingPeerUrl(opts.platform.origin)
    this.replicator = new Replicator(replicatorOptions(opts.store, opts.ed, opts.keys))
    this.#off = this.replicator.subscribe((e) => {
      if (e.type === 'fork') this.#forks.set(toHex(e.fork.author), { author: e.fork.author, seq: e.fork.seq })
      opts.onEvent(e)
    })
    this.rtc = opts.platform.rtc
      ? new RtcPeers({ replicator: this.replicator, me: opts.keys.publicKey, bridge: opts.platform.rtc })
      : undefined
    const origin = hostOf(opts.platform.origin)
    this.#mesh = new Mesh({
      dial: (url, signal) => this.#dial(url, signal),
      target: LEARNED_TARGET,
      maxConnections: 16,
      maxDelayMs: RETRY_MAX_MS,
      learnedMaxDelayMs: 5 * 60_000,
      // A page served from this machine or a LAN (a test, a home server) may dial such addresses.
      allowPrivate: origin !== undefined && hostScope(origin) !== 'public',
    })
    this.replicator.subscribe((e) => {
      if (e.type !== 'peers') return
      const urls = e.entries.flatMap((x) => (x.url === undefined ? [] : [{ url: x.url, feed: formatFeedId(x.feed) }]))
      if (urls.length > 0 && this.#mesh.learn(urls, 'learned') > 0) this.#rememberLearned()
    })
  }

  /** Sets the STUN servers and trackers the person added (the serving peer's own stay). */
  setConnectivity(chosen: Connectivity): void {
    this.#chosen = { stun: [...chosen.stun], trackers: [...chosen.trackers] }
    this.#configureRtc()
  }

  #configureRtc(): void {
    const stun = [...new Set([...this.#served.stun, ...this.#chosen.stun])]
    const trackers = [...new Set([...this.#served.trackers, ...this.#chosen.trackers])]
    void this.rtc?.configure({ iceServers: stun.map((urls) => ({ urls })), trackers })
  }

  /** Learns the peers remembered from earlier sessions. */
  async loadLearned(): Promise<void> {
    const v = await this.#opts.platform.kv.get(LEARNED_KEY).catch(() => undefined)
    if (Array.isArray(v))
      this.#mesh.learn(
        v.filter((u): u is string => typeof u === 'string'),
        'learned',
      )
  }

  /**
   * Keeps the learned addresses (the mesh's newest {@link LEARNED_MAX}) at once: new ones are
   * rare, and a tab closed a moment later must not lose them. One write at a time, in order.
   */
  #rememberLearned(): void {
    const learned = this.#mesh
      .known()
      .filter((k) => k.source === 'learned')
      .sort((a, b) => b.lastSeen - a.lastSeen)
      .slice(0, LEARNED_MAX)
      .map((k) => k.url)
    this.#savingLearned = this.#savingLearned
      .then(() => (this.#closed ? undefined : this.#opts.platform.kv.put(LEARNED_KEY, learned)))
      .catch(() => undefined)
  }

  async #dial(url: string, signal: AbortSignal): Promise<MeshLink> {
    if (url === this.#servingUrl && !this.#servingId) await this.#fetchServingId()
    this.#opts.onEvent({ type: 'dialer' })
    let channel: WsChannel
    try {
      channel = await dial(url, {
        signal,
        timeoutMs: 10_000,
        ...(this.#opts.platform.WebSocket ? { WebSocket: this.#opts.platform.WebSocket } : {}),
      })
    } catch (err) {
      this.#lastClose.delete(url)
      // After the mesh took the failure in (its backoff shows in the next view).
      queueMicrotask(() => this.#opts.onEvent({ type: 'dialer' }))
      throw err
    }
    const conn = this.#attach(url, channel)
    void conn.closed.then(() => queueMicrotask(() => this.#opts.onEvent({ type: 'dialer' })))
    return meshLink(conn)
  }

  /** The serving peer's URL (the default peer), if the app was served over http(s). */
  get servingUrl(): string | undefined {
    return this.#servingUrl
  }

  /** The serving peer's feed id (read from its well-known file, once that works). */
  async servingId(): Promise<FeedId | undefined> {
    if (!this.#servingId && this.#servingUrl) await this.#fetchServingId()
    return this.#servingId
  }

  /** Reads forks stored earlier (this replicator only reports the ones it sees). */
  async loadForks(): Promise<void> {
    for await (const [author, state] of this.#opts.store.feeds()) {
      if (!state.forked) continue
      const proof = await this.#opts.store.forkProof(author)
      this.#forks.set(toHex(author), { author, seq: proof?.seq ?? state.seq })
    }
  }

  /** Dials every peer that is waiting out a backoff at once (the device came back online). */
  retryNow(): void {
    this.#mesh.retryNow()
  }

  /** Dials exactly `urls`: starts dialers for new ones, stops the others (one change at a time). */
  setPeers(urls: readonly string[]): Promise<void> {
    const run = this.#peersChange.then(() => this.#setPeers(urls))
    this.#peersChange = run.catch(() => undefined)
    return run
  }

  async #setPeers(urls: readonly string[]): Promise<void> {
    if (this.#closed) return
    for (const url of this.#configured) {
      if (urls.includes(url)) continue
      this.#mesh.forget(url)
      this.#lastClose.delete(url)
    }
    this.#configured = [...urls]
    // The serving peer's id first, so its first dial already requires it.
    if (this.#servingUrl && urls.includes(this.#servingUrl)) await this.#fetchServingId()
    if (this.#closed) return
    for (const url of urls) {
      try {
        this.#mesh.learn([url], 'configured')
      } catch {
        // Not a peer address (settings of an older version): nothing to dial.
      }
    }
    this.#opts.onEvent({ type: 'dialer' })
  }

  #attach(url: string, channel: WsChannel): Connection {
    const expectedRemote = url === this.#servingUrl ? this.#servingId : undefined
    const conn = this.replicator.connect(channel, { initiator: true, ...(expectedRemote ? { expectedRemote } : {}) })
    this.#conns.set(url, conn)
    void conn.closed.then((info) => {
      // Kept for configured peers only (learned ones come and go: the mesh has their last error).
      if (this.#configured.includes(url)) this.#lastClose.set(url, info.reason)
      if (this.#conns.get(url) === conn) this.#conns.delete(url)
    })
    return conn
  }

  /** Learns the serving peer's id from `/.well-known/murmur.json` (once it works). */
  #fetchServingId(): Promise<void> {
    this.#servingFetch ??= this.#readWellKnown().finally(() => {
      this.#servingFetch = undefined
    })
    return this.#servingFetch
  }

  async #readWellKnown(): Promise<void> {
    try {
      const res = await this.#opts.platform.fetch(`${this.#opts.platform.origin}/.well-known/murmur.json`, {
        signal: AbortSignal.timeout(WELL_KNOWN_TIMEOUT_MS),
      })
      const body = res.ok ? ((await res.json()) as { id?: unknown; tracker?: unknown; stun?: unknown }) : undefined
      if (typeof body?.id !== 'string') return
      this.#servingId = parseFeedId(body.id)
      // The serving peer's own STUN server and tracker, if it runs them: the person chose this
      // peer by opening its page, so using them contacts nobody new. (Only from an answer that
      // is the peer's: a failed one keeps what was learned.)
      this.#served = {
        stun: typeof body?.stun === 'string' && isStunUri(body.stun) ? [body.stun] : [],
        trackers: typeof body?.tracker === 'string' && isPeerUrl(body.tracker) ? [body.tracker] : [],
      }
      this.#configureRtc()
    } catch {
      // Offline, or not a Murmur peer: dial without an expected id (the handshake still
      // authenticates whoever answers) and ask again on the next connection.
    }
  }

  /** Where every configured peer is, and the totals. */
  state(configured: readonly string[]): NetworkState {
    const status = this.replicator.status()
    const peers: PeerView[] = []
    let online = false
    let received = 0
    let expected = 0
    const dialled = new Set<Connection>()
    const mesh = new Map(this.#mesh.status().peers.map((p) => [p.url, p]))
    for (const url of configured) {
      const conn = this.#conns.get(url)
      if (conn) dialled.add(conn)
      peers.push(this.#peerView(url, conn, mesh.get(url)))
    }
    // Learned peers in use (connected, being dialled, or waiting to be again after a failure);
    // the rest are only addresses.
    for (const p of mesh.values()) {
      if (p.source !== 'learned' || p.state === 'idle' || p.state === 'banned') continue
      const conn = this.#conns.get(p.url)
      if (conn) dialled.add(conn)
      peers.push(this.#peerView(p.url, conn, p))
    }
    for (const conn of this.replicator.connections()) {
      if (!dialled.has(conn)) peers.push(this.#peerView(undefined, conn, undefined))
    }
    for (const conn of this.replicator.connections()) {
      if (conn.state !== 'ready') continue
      online = true
      const p = conn.progress()
      if (p.held < p.expected) {
        received += p.held
        expected += p.expected
      }
    }
    return {
      online,
      peers,
      feeds: status.wanted,
      messages: this.#opts.store.size,
      ...(expected > received ? { sync: { received, expected } } : {}),
      forks: [...this.#forks.values()],
      rejected: nonZero(status.rejected),
    }
  }

  #peerView(url: string | undefined, conn: Connection | undefined, m: MeshPeerStatus | undefined): PeerView {
    const progress = conn?.progress()
    let state: PeerView['state']
    if (conn?.state === 'ready') state = progress && progress.held < progress.expected ? 'syncing' : 'live'
    else if (conn?.state === 'handshake') state = 'handshake'
    else if (m?.state === 'dialling') state = 'connecting'
    else if (m?.state === 'waiting' || (m?.state === 'idle' && m.source === 'configured')) state = 'waiting'
    else state = 'closed'
    const remote = conn?.remote ?? (url === this.#servingUrl ? this.#servingId : undefined)
    const lastError = (url && this.#lastClose.get(url)) ?? m?.lastError
    return {
      ...(url === undefined ? {} : { url }),
      ...(remote ? { remote: formatFeedId(remote) } : {}),
      ...(conn && this.rtc?.isDirect(conn)
        ? { kind: 'webrtc' as const }
        : m?.source === 'learned'
          ? { kind: 'learned' as const }
          : {}),
      state,
      received: progress?.received ?? 0,
      ...(progress && progress.expected > 0 ? { expected: progress.expected, held: progress.held } : {}),
      rejected: conn ? nonZero(conn.counters().rejected) : {},
      ...(lastError ? { lastError } : {}),
      ...(m?.retryAt !== undefined ? { retryAt: m.retryAt } : {}),
    }
  }

  /** Stops dialling and closes every connection and the replicator. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#off()
    this.rtc?.close()
    await this.#mesh.close()
    await this.replicator.close()
  }
}

function nonZero(counts: Readonly<Record<string, number>>): Record<string, number> {
  const out: Record<string, number> = {}
  for (const [k, v] of Object.entries(counts)) if (v > 0) out[k] = v
  return out
}

/** STUN servers (`stun:host:port`) and WebTorrent trackers (`wss://…`) for direct links. */
export interface Connectivity {
  readonly stun: readonly string[]
  readonly trackers: readonly string[]
}

/** The host name of a URL, if it parses. */
function hostOf(url: string): string | undefined {
  try {
    return new URL(url).hostname
  } catch {
    return undefined
  }
}
