/**
 * The replicator: one per local peer, any number of connections.
 *
 * How it works
 * ------------
 * 1. **Session** (session.ts, handshake.ts). Each connection starts with Noise XXpsk0 over the
 *    identity keys: the network key is the pre-shared key (never sent), the prologue binds the
 *    protocol name and the caller's channel binding, and the remote static key that comes out
 *    is the remote's feed id. Every later frame is sealed (ChaCha20-Poly1305, counter nonces),
 *    so whoever forwarded the handshake can neither read nor inject; a frame that fails to open
 *    ends the connection. Frames are at most 64 KiB sealed (frames.ts has every layout).
 * 2. **Want set** (wants.ts). This peer wants itself, its follow graph to `hops`, minus blocks
 *    and forked feeds, plus, in host mode `'peers'`, the feeds of the peers it serves. It is
 *    recomputed when contact messages arrive, and connections send the difference.
 * 3. **Clocks** (clock.ts). Each side sends, per wanted feed, its latest seq and an 8-byte prefix
 *    of that message's id; later only changes. Same seq with another prefix means two branches:
 *    the receiver GETs the remote's message there and the store turns the pair into a fork proof.
 *    With the `tail` option, a far feed held nothing of is asked for only its newest messages;
 *    once that suffix is held, its clock names its head like any other. Each side also answers,
 *    once, what it holds of the other's own feed (HAVE), so {@link Replicator.remoteSeq} tells a
 *    device restoring an identity whether its feed's head is known before it writes.
 * 4. **Catch-up, then live** (serve.ts). Each side serves every feed it holds that the other
 *    wants (a relay serves what it follows: A's posts reach C through B while A is offline),
 *    from the seq the other has, oldest first, packed into frames under the credit the receiver
 *    granted (flow.ts) and under the channel's high-water mark. New appends (store.onAppend)
 *    mark the feed for every connection that wants it, and the pump sends at once.
 * 5. **Ingest** (ingest.ts). Each message is decoded and its own signature verified (core) before
 *    `store.appendMany`; credit is granted back only after the append, so a slow store slows the
 *    sender instead of filling memory.
 * 6. **Defence** (limits.ts). Invalid items (bad signatures, broken chains, malformed or
 *    oversized frames, floods, data beyond credit, unrequested data, bad blob bytes) are dropped
 *    and counted against the peer that sent them; past `limits.maxInvalid` it is disconnected.
 *    A fork is the author's fault: the proof is kept, the feed stops there, and `status().forks`
 *    shows it. Nothing a remote sends throws out of the engine; other connections never notice.
 * 7. **Blobs** (blobs.ts). Content-addressed want/have/get in chunks under the same credit,
 *    hashed before they are stored; a peer fetches the blobs of messages it shows (feeds up to
 *    `blobHops`, default: its own and its follows').
 * 8. **Gossip without waste** (gossip.ts). When several neighbours that speak REQUEST hold a
 *    wanted feed, one of them streams it and the others only send HAVE notes of their head; a
 *    source that lags a note by more than `gossip.stallMs` is replaced by the neighbour ahead,
 *    and a source that closes at once. A live message is downloaded once, not once per
 *    neighbour. Peers of before the feature, and feeds with one such neighbour, stream as in 4.
 * 9. **Peer exchange and signalling** (signal.ts; core's `isPeerUrl` checks addresses). PEERS
 *    frames carry addresses of always-on peers (and feeds reachable through the sender); the
 *    replicator only checks, rate-limits and reports them (`peers` events) — callers decide
 *    what to tell
 *    (`Connection.sendPeers`). SIGNAL frames carry WebRTC signalling to a peer directly or
 *    through one shared neighbour ({@link Replicator.signal}, `signal` events); a relay forwards
 *    only frames whose `from` is the authenticated remote they came from, once, rate-limited.
 *    New frame types go only to peers whose hello sets their feature bit (frames.ts).
 *
 * Why this shape: every part is a small object with explicit inputs (the context a connection
 * gets is context.ts), the store is the only shared state, and the want set is derived from
 * views, never stored, so it can be recomputed at any time with the same result.
 */
import {
  type CID,
  defaultSha256,
  type Ed25519,
  equalBytes,
  type FeedId,
  type ForkProof,
  isMurmurCid,
  type Keypair,
  type Msg,
  MurmurError,
  RAW,
  type Sha256,
  toHex,
  type VerifiedMsg,
} from '@murmur/core'
import type { Store } from '@murmur/store'
import { BlobExchange } from './blobs.js'
import type { Channel } from './channel.js'
import { Connection, type ConnectOptions, type PeerStatus, type Progress } from './connection.js'
import type { ReplicaContext } from './context.js'
import { FEATURES, type PeerEntry } from './frames.js'
import { Gossip } from './gossip.js'
import { PUBLIC_NETWORK_KEY } from './handshake.js'
import { type Limits, newRejectTally, type RejectReason, resolveLimits } from './limits.js'
import type { CloseInfo } from './session.js'
import { SignalRouter } from './signal.js'
import { computeWants, type HostMode, type WantedFeed } from './wants.js'

/** Options of a {@link Replicator}. */
export interface ReplicatorOptions {
  /** The local store: what is replicated, and where it goes. */
  store: Store
  /** The ed25519 backend that verifies every message received (and nothing else). */
  ed: Ed25519
  /** This peer's identity: its feed, and its static key in the handshake. */
  keys: Keypair
  /** The 32-byte network key (default {@link PUBLIC_NETWORK_KEY}): peers with another never connect. */
  networkKey?: Uint8Array
  /** How far the follow graph is replicated (default 2: follows and their follows). */
  hops?: number
  /** Whom this peer hosts besides its own graph (default `'follows'`: no one). */
  host?: HostMode
  /** Limits; each defaults as in {@link DEFAULT_LIMITS}. */
  limits?: Partial<Limits>
  /**
   * Feeds up to this many hops, and hosted feeds, get their blobs fetched automatically
   * (default 1); `false`: never.
   */
  blobHops?: number | false
  /** The sha-256 used to check message ids and blobs (Node passes its native one). */
  sha256?: Sha256
  /**
   * Keep only the newest part of far feeds (default: none, every feed whole). A wanted feed at
   * `fromHops` or more in this peer's follow graph, of which nothing is held yet, is asked for
   * only its newest `messages` messages; from then on it grows from that suffix as any feed
   * does. Nearer feeds (this peer's own at 0, its follows at 1, …) and feeds hosted for others
   * are always whole. A browser uses `{ fromHops: 2, messages: … }`: all of its follows, the
   * recent part of theirs, and it is useful in seconds. Decided when the feed is first asked
   * for: a feed held as a tail stays a suffix if it later comes nearer (the store cannot extend
   * a feed backwards).
   */
  tail?: TailOptions
  /** Gossip without waste (see gossip.ts). */
  gossip?: GossipOptions
  /**
   * The feature bits this peer announces (frames.ts `FEATURE`; default: all it speaks). A
   * feature is used on a connection only when both sides announce it, so a lower value makes
   * this peer behave as a peer of before those features: for compatibility tests.
   */
  features?: number
}

/** See {@link ReplicatorOptions.gossip}. */
export interface GossipOptions {
  /**
   * How long the neighbour streaming a feed may stay behind what another neighbour said it
   * holds before that one streams it instead (ms, default 2000).
   */
  readonly stallMs?: number
}

/** See {@link ReplicatorOptions.tail}. */
export interface TailOptions {
  /** Feeds at this many hops or more are asked for as tails (a whole number ≥ 1). */
  readonly fromHops: number
  /** How many of their newest messages (a whole number ≥ 1). */
  readonly messages: number
}

/** A fork this replicator has seen. */
export interface ForkSeen {
  readonly author: FeedId
  readonly seq: number
  readonly proof: ForkProof
  /** The peer that relayed the second branch (informational: never its fault). */
  readonly via: FeedId | undefined
  /** When it was found (ms since the epoch). */
  readonly at: number
}

/** What {@link Replicator.status} reports. */
export interface ReplicatorStatus {
  readonly me: FeedId
  /** Feeds wanted, of which hosted for others. */
  readonly wanted: number
  readonly hosted: number
  /** Bytes of hosted feeds taken since start, and whether hosting still takes more. */
  readonly hostedBytes: number
  readonly hostingOpen: boolean
  /** Connections, open or in their handshake. */
  readonly peers: PeerStatus[]
  /** The last connections that closed (newest last), with their reasons. */
  readonly recentlyClosed: PeerStatus[]
  /** Invalid items from all peers, by reason, since start. */
  readonly rejected: Record<RejectReason, number>
  /** Peers disconnected for sending too much invalid data. */
  readonly disconnected: number
  /** Forks seen (each feed once). */
  readonly forks: ForkSeen[]
  /** Blobs wanted and downloading now. */
  readonly blobs: { readonly wanted: number; readonly downloading: number }
  /** The last failure to compute the want set, if the last attempt failed. */
  readonly wantError: string | undefined
  /** Gossip: feeds' sources replaced because they stalled. */
  readonly gossip: { readonly switches: number }
  /** Signals forwarded for other peers. */
  readonly signalsRelayed: number
  /** SIGNAL frames for others dropped: the link to their target had no room (below its limit). */
  readonly signalsDropped: number
}

/** What {@link Replicator.subscribe} reports. */
export type ReplicatorEvent =
  | { readonly type: 'connecting'; readonly connection: Connection }
  | { readonly type: 'ready'; readonly connection: Connection }
  | { readonly type: 'closed'; readonly connection: Connection; readonly info: CloseInfo }
  | { readonly type: 'progress'; readonly connection: Connection; readonly progress: Progress }
  | {
      readonly type: 'rejected'
      readonly connection: Connection
      readonly reason: RejectReason
      readonly detail: string
    }
  | { readonly type: 'fork'; readonly fork: ForkSeen }
  | { readonly type: 'wanted'; readonly added: number; readonly removed: number; readonly size: number }
  | { readonly type: 'blob'; readonly cid: CID }
  /**
   * {@link Replicator.remoteSeq} of this peer's own feed changed: a connected peer said what it
   * holds of it (or the last that had said closed). Only for the own feed: other feeds' values
   * change with every clock, and anyone can ask {@link Replicator.remoteSeq} for them.
   */
  | { readonly type: 'remote-seq'; readonly feed: FeedId; readonly seq: number | undefined }
  /**
   * `connection`'s remote (`from`) told of peers (PEERS): entries whose url was not a ws:/wss:
   * address were dropped and counted against it. Unverified hints: dial them at a bounded rate.
   */
  | {
      readonly type: 'peers'
      readonly connection: Connection
      readonly from: FeedId
      readonly entries: readonly PeerEntry[]
    }
  /**
   * A signalling payload for this peer from `from`, which came through the connected neighbour
   * `via` (`from` itself when direct). See signal.ts for how far `from` can be trusted.
   */
  | { readonly type: 'signal'; readonly from: FeedId; readonly via: FeedId; readonly payload: Uint8Array }

const RECENTLY_CLOSED = 32

/** Replicates a store with any number of peers over any channels. */
export class Replicator {
  readonly store: Store
  readonly keys: Keypair
  readonly hops: number
  readonly host: HostMode
  readonly limits: Readonly<Limits>
  /** Which far feeds are kept only in part (undefined: every feed whole). */
  readonly tail: Readonly<TailOptions> | undefined
  readonly #ctx: ReplicaContext
  readonly #blobs: BlobExchange
  readonly #blobHops: number | false
  readonly #gossip: Gossip
  readonly #signals: SignalRouter
  readonly #conns = new Set<Connection>()
  readonly #recentlyClosed: PeerStatus[] = []
  readonly #listeners = new Set<(e: ReplicatorEvent) => void>()
  readonly #rejected = newRejectTally()
  readonly #forks = new Map<string, ForkSeen>()
  readonly #roots = new Map<string, FeedId>()
  #pinned: FeedId[] = []
  readonly #offAppend: () => void
  readonly #meHex: string
  #wanted = new Map<string, WantedFeed>()
  #computing: Promise<void> | undefined
  #again = false
  #wantError: string | undefined
  #hostedBytes = 0
  #hostingOpen = true
  #disconnected = 0
  #closed = false
  /** {@link remoteSeq} of the own feed as last reported in a `remote-seq` event. */
  #ownRemoteSeq: number | undefined

  /**
   * Starts computing the want set and listening to the store's appends.
   * @throws {MurmurError} `INVALID_ARGUMENT` for a network key that is not 32 bytes, a bad
   * `hops`, `host` or `tail`, or a limit that is not a positive number.
   */
  constructor(opts: ReplicatorOptions) {
    const networkKey = opts.networkKey ?? PUBLIC_NETWORK_KEY
    if (!(networkKey instanceof Uint8Array) || networkKey.length !== 32) {
      throw new MurmurError('INVALID_ARGUMENT', 'a network key is 32 bytes')
    }
    const hops = opts.hops ?? 2
    if (!Number.isSafeInteger(hops) || hops < 0) throw new MurmurError('INVALID_ARGUMENT', 'hops is a whole number ≥ 0')
    const host = opts.host ?? 'follows'
    if (!['peers', 'follows', 'none'].includes(host)) {
      throw new MurmurError('INVALID_ARGUMENT', `host is 'peers', 'follows' or 'none', not ${JSON.stringify(host)}`)
    }
    const tail = opts.tail
    const positive = (n: unknown): boolean => Number.isSafeInteger(n) && (n as number) >= 1
    if (tail !== undefined && !(positive(tail?.fromHops) && positive(tail?.messages))) {
      throw new MurmurError('INVALID_ARGUMENT', 'tail is { fromHops, messages }, both whole numbers ≥ 1')
    }
    this.tail = tail && Object.freeze({ fromHops: tail.fromHops, messages: tail.messages })
    this.store = opts.store
    this.keys = opts.keys
    this.#meHex = toHex(opts.keys.publicKey)
    this.hops = hops
    this.host = host
    this.limits = Object.freeze(resolveLimits(opts.limits))
    this.#blobHops = opts.blobHops ?? 1
    const stallMs = opts.gossip?.stallMs ?? 2000
    if (!(typeof stallMs === 'number' && stallMs > 0)) {
      throw new MurmurError('INVALID_ARGUMENT', 'gossip.stallMs is a positive number of ms')
    }
    const features = opts.features ?? FEATURES
    if (!Number.isInteger(features) || features < 0 || features > 255) {
      throw new MurmurError('INVALID_ARGUMENT', 'features is a byte of FEATURE bits')
    }
    this.#gossip = new Gossip({
      links: () => this.#conns,
      wants: (hex) => this.#wanted.has(hex),
      held: async (feed) => (await this.store.feedState(feed))?.seq ?? 0,
      stallMs,
    })
    this.#signals = new SignalRouter({
      me: opts.keys.publicKey,
      links: () => this.#conns,
      deliver: ({ from, via, payload }) => this.#emit({ type: 'signal', from, via, payload }),
    })
    const sha256 = opts.sha256 ?? defaultSha256
    this.#blobs = new BlobExchange({
      blobs: opts.store.blobs,
      sha256,
      limits: this.limits,
      stored: (cid) => this.#emit({ type: 'blob', cid }),
    })
    this.#ctx = {
      store: opts.store,
      ed: opts.ed,
      sha256,
      keys: opts.keys,
      networkKey: networkKey.slice(),
      limits: this.limits,
      blobs: this.#blobs,
      features,
      wants: (hex) => this.#wanted.has(hex),
      wantList: async () => {
        await this.#computing
        return [...this.#wanted.values()].map((w) => w.feed)
      },
      tailOf: (hex) => this.#tailOf(hex),
      told: (conn, feed) => {
        if (equalBytes(feed, this.keys.publicKey)) this.#ownRemoteSeqChanged()
        this.#gossip.told(conn, toHex(feed), feed)
      },
      ready: (conn) => this.#onReady(conn),
      closed: (conn, info) => this.#onClosed(conn, info),
      rejected: (connection, reason, detail) => {
        this.#rejected[reason]++
        this.#emit({ type: 'rejected', connection, reason, detail })
      },
      fork: (conn, proof) => this.#onFork(conn, proof),
      progress: (connection, progress) => this.#emit({ type: 'progress', connection, progress }),
      peers: (connection, entries) =>
        this.#emit({ type: 'peers', connection, from: connection.remote as FeedId, entries }),
      signal: (conn, frame) => this.#signals.receive(conn, frame),
      gossipMode: (conn, hex, feed, held) => this.#gossip.modeFor(conn, hex, feed, held),
    }
    this.#offAppend = opts.store.onAppend((msg) => this.#onAppend(msg))
    void this.#schedule()
  }

  /**
   * Starts replicating over `channel` (the handshake begins at once). The connection reports
   * through its `ready` and `closed` promises and through {@link subscribe}.
   * @throws {MurmurError} `NOT_OPEN` after {@link close}; `INVALID_ARGUMENT` for a malformed
   * `binding` or `expectedRemote`.
   */
  connect(channel: Channel, opts: ConnectOptions): Connection {
    if (this.#closed) throw new MurmurError('NOT_OPEN', 'the replicator is closed')
    if (opts.binding !== undefined && !(opts.binding instanceof Uint8Array)) {
      throw new MurmurError('INVALID_ARGUMENT', 'binding must be bytes')
    }
    if (opts.expectedRemote !== undefined && opts.expectedRemote.length !== 32) {
      throw new MurmurError('INVALID_ARGUMENT', 'expectedRemote must be a 32-byte feed id')
    }
    const connection = new Connection(this.#ctx, channel, opts)
    if (connection.state !== 'closed') this.#conns.add(connection)
    this.#emit({ type: 'connecting', connection })
    return connection
  }

  /**
   * Wants `feeds` whole, as if this peer followed them (distance 1: their blobs are fetched
   * too), without a public follow: e.g. the publishers of the app a browser runs. Replaces the
   * previous pinned set; resolves when the want set was recomputed.
   */
  pin(feeds: readonly FeedId[]): Promise<void> {
    this.#pinned = feeds.map((f) => f.slice())
    return this.#schedule()
  }

  /** The want set (after any recomputation in progress). */
  async wanted(): Promise<FeedId[]> {
    await this.#computing
    return [...this.#wanted.values()].map((w) => w.feed)
  }

  /**
   * The highest seq of `feed` that a connected peer said it holds (in its clock, or in its answer
   * about this peer's own feed); 0 when those that said anything hold none of it; undefined
   * while no connected peer has said anything of it.
   *
   * After restoring an identity on a new device (same keys, empty store), the own feed's head
   * is known once this is defined and `store.feedState(me).seq` has reached it: writing before
   * that would reuse a seq already signed elsewhere (a fork). Every peer of this version answers
   * about the remote's own feed, whether or not it wants that feed; a peer of before answers
   * only if it wants it. Watch the `remote-seq` event for changes.
   */
  remoteSeq(feed: FeedId): number | undefined {
    let max: number | undefined
    for (const c of this.#conns) {
      const seq = c.remoteSeq(feed)
      if (seq !== undefined && (max === undefined || seq > max)) max = seq
    }
    return max
  }

  /**
   * Sends a signalling payload (e.g. a WebRTC offer) to `to`: directly when a ready connection
   * to it reads SIGNAL, otherwise to up to 8 ready neighbours that do, for them to relay one hop.
   * Returns whether it was sent anywhere (not whether it arrived). The answer comes back as a
   * `signal` event.
   * @throws {MurmurError} `INVALID_ARGUMENT` when `to` is not a 32-byte feed id or `payload` is
   * not 1 to 16384 bytes; `NOT_OPEN` after {@link close}.
   */
  signal(to: FeedId, payload: Uint8Array): boolean {
    if (this.#closed) throw new MurmurError('NOT_OPEN', 'the replicator is closed')
    return this.#signals.send(to, payload)
  }

  /**
   * The connection streaming `feed` to this peer when gossip chose one among several neighbours
   * (the others send only notes); undefined when it did not have to choose.
   */
  sourceOf(feed: FeedId): Connection | undefined {
    return this.#gossip.sourceOf(toHex(feed)) as Connection | undefined
  }

  /** Open connections. */
  connections(): Connection[] {
    return [...this.#conns]
  }

  /** Peers, counters, forks and limits, for a status display. */
  status(): ReplicatorStatus {
    let hosted = 0
    for (const w of this.#wanted.values()) if (w.hosted) hosted++
    return {
      me: this.keys.publicKey,
      wanted: this.#wanted.size,
      hosted,
      hostedBytes: this.#hostedBytes,
      hostingOpen: this.#hostingOpen,
      peers: [...this.#conns].map((c) => c.status()),
      recentlyClosed: [...this.#recentlyClosed],
      rejected: { ...this.#rejected },
      disconnected: this.#disconnected,
      forks: [...this.#forks.values()],
      blobs: { wanted: this.#blobs.wanted, downloading: this.#blobs.downloading },
      wantError: this.#wantError,
      gossip: { switches: this.#gossip.switches },
      signalsRelayed: this.#signals.relayed,
      signalsDropped: this.#signals.dropped,
    }
  }

  /** Calls `fn` with every event; returns the function that stops it. */
  subscribe(fn: (event: ReplicatorEvent) => void): () => void {
    this.#listeners.add(fn)
    return () => this.#listeners.delete(fn)
  }

  /**
   * The bytes of blob `cid`: from the store, or fetched from connected peers (and peers that
   * connect meanwhile), hashed before they are stored.
   * @throws {MurmurError} `INVALID_ARGUMENT` when `cid` is not a blob id; `TIMEOUT` when no
   * peer delivered it in time (default 30 s); `NOT_OPEN` after {@link close}.
   */
  fetchBlob(cid: CID, opts: { timeoutMs?: number } = {}): Promise<Uint8Array> {
    if (!isMurmurCid(cid, RAW)) {
      return Promise.reject(new MurmurError('INVALID_ARGUMENT', 'a blob id is a CIDv1 (raw, sha2-256)'))
    }
    return this.#blobs.fetch(cid, opts.timeoutMs ?? 30_000)
  }

  /** Closes every connection and stops; resolves when they have closed. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#offAppend()
    this.#gossip.close()
    const closing = [...this.#conns].map((c) => {
      c.close('the peer is shutting down')
      return c.closed
    })
    this.#blobs.close()
    await Promise.all(closing)
    await this.#computing
  }

  // ---------------------------------------------------------------------------------------------

  #emit(event: ReplicatorEvent): void {
    for (const fn of this.#listeners) {
      try {
        fn(event)
      } catch (err) {
        // A subscriber's bug must not break replication; it surfaces on its own.
        queueMicrotask(() => {
          throw err
        })
      }
    }
  }

  #schedule(): Promise<void> {
    if (this.#computing) {
      this.#again = true
      return this.#computing
    }
    const run = async (): Promise<void> => {
      try {
        do {
          this.#again = false
          await this.#recompute()
        } while (this.#again && !this.#closed)
      } finally {
        // In the same step as the last check of `#again`: a `.finally()` callback would run a
        // few microtasks later, and a contact appended in between set `#again` for a round
        // that never came (its follows were never wanted).
        this.#computing = undefined
      }
    }
    this.#computing = run()
    return this.#computing
  }

  async #recompute(): Promise<void> {
    if (this.#closed) return
    let next: Map<string, WantedFeed>
    try {
      next = await computeWants({
        store: this.store,
        me: this.keys.publicKey,
        hops: this.hops,
        host: this.host,
        roots: this.#roots.values(),
        pinned: this.#pinned,
        maxHostedFeeds: this.limits.maxHostedFeeds,
        hostingOpen: this.#hostingOpen,
      })
      this.#wantError = undefined
    } catch (err) {
      // The store closed, or its views are slow: keep the old set, say so in status.
      this.#wantError = (err as Error)?.message ?? String(err)
      return
    }
    if (this.#closed) return
    const added: FeedId[] = []
    const removed: FeedId[] = []
    for (const [hex, w] of next) if (!this.#wanted.has(hex)) added.push(w.feed)
    for (const [hex, w] of this.#wanted) if (!next.has(hex)) removed.push(w.feed)
    this.#wanted = next
    if (added.length === 0 && removed.length === 0) return
    this.#gossip.forget(removed.map(toHex))
    for (const c of this.#conns) {
      c.retract(removed)
      void c.announce(added)
    }
    this.#emit({ type: 'wanted', added: added.length, removed: removed.length, size: next.size })
  }

  #onReady(conn: Connection): void {
    this.#blobs.peerReady(conn)
    this.#emit({ type: 'ready', connection: conn })
    const remote = conn.remote
    if (this.host !== 'peers' || !remote) return
    const hex = toHex(remote)
    if (hex === this.#meHex || this.#roots.has(hex)) return
    if (this.#roots.size >= this.limits.maxHostedFeeds) return
    this.#roots.set(hex, remote)
    void this.#schedule()
  }

  #onClosed(conn: Connection, info: CloseInfo): void {
    this.#conns.delete(conn)
    this.#blobs.peerClosed(conn)
    this.#gossip.closed(conn)
    if (info.code === 'misbehaving') this.#disconnected++
    this.#recentlyClosed.push(conn.status())
    if (this.#recentlyClosed.length > RECENTLY_CLOSED) this.#recentlyClosed.shift()
    this.#emit({ type: 'closed', connection: conn, info })
    this.#ownRemoteSeqChanged()
  }

  #ownRemoteSeqChanged(): void {
    const seq = this.remoteSeq(this.keys.publicKey)
    if (seq === this.#ownRemoteSeq) return
    this.#ownRemoteSeq = seq
    this.#emit({ type: 'remote-seq', feed: this.keys.publicKey, seq })
  }

  #tailOf(hex: string): number | undefined {
    const w = this.#wanted.get(hex)
    const tail = this.tail
    return tail && w && !w.hosted && w.dist >= tail.fromHops ? tail.messages : undefined
  }

  #onFork(conn: Connection, proof: ForkProof): void {
    const hex = toHex(proof.author)
    if (!this.#forks.has(hex)) {
      const fork: ForkSeen = { author: proof.author, seq: proof.seq, proof, via: conn.remote, at: Date.now() }
      this.#forks.set(hex, fork)
      this.#emit({ type: 'fork', fork })
    }
    // The feed stops at the fork: it leaves the want set, and peers stop sending it.
    void this.#schedule()
  }

  /**
   * True for a contact that cannot change the want set: a follow (not a block or unfollow) by a
   * feed of this peer's own graph whose target is already wanted at least as close, or lies
   * beyond `hops`. During a catch-up most contacts are such, and recomputing the set (a walk of
   * the graph) for each would cost more than the rest of the ingest.
   */
  #changesNothing(msg: VerifiedMsg, w: WantedFeed | undefined): boolean {
    if (this.#computing || w === undefined || w.hosted) return false
    const c = msg.value.content as { target?: Uint8Array; following?: boolean; blocking?: boolean }
    if (c.following !== true || c.blocking === true || !(c.target instanceof Uint8Array)) return false
    if (w.dist >= this.hops) return true
    const target = this.#wanted.get(toHex(c.target))
    return target !== undefined && !target.hosted && target.dist <= w.dist + 1
  }

  #onAppend(msg: VerifiedMsg): void {
    if (this.#closed) return
    const hex = toHex(msg.value.author)
    for (const c of this.#conns) c.localAppend(hex, msg)
    const w = this.#wanted.get(hex)
    // A contact changes the graph when its author is in it; while a computation runs, the set
    // may be stale, so any contact asks for another round.
    if (
      msg.value.type === 'contact' &&
      (w || this.#computing || hex === this.#meHex) &&
      !this.#changesNothing(msg, w)
    ) {
      void this.#schedule()
    }
    if (!w) return
    if (w.hosted) {
      this.#hostedBytes += msg.bytes.length
      if (this.#hostingOpen && this.#hostedBytes >= this.limits.maxHostedBytes) {
        this.#hostingOpen = false
        void this.#schedule()
      }
    }
    // A hosted feed's images are part of what is hosted: its author's browser may be gone.
    if (this.#blobHops !== false && (w.dist <= this.#blobHops || (w.hosted && this.#hostingOpen))) {
      const cids = blobLinks(msg)
      if (cids.length > 0) void this.#blobs.autoWant(cids).catch(() => {})
    }
  }
}

/** The blobs a message refers to: post `blobs[].link`, about `image` and release `files[].link`. */
export function blobLinks(msg: Msg): CID[] {
  const c = msg.value.content
  if (c instanceof Uint8Array) return []
  const out: CID[] = []
  const refs = msg.value.type === 'post' ? c.blobs : msg.value.type === 'release' ? c.files : undefined
  if (Array.isArray(refs)) {
    for (const b of refs as { link?: unknown }[]) if (isMurmurCid(b?.link, RAW)) out.push(b.link)
  }
  if (msg.value.type === 'about' && isMurmurCid(c.image, RAW)) out.push(c.image)
  return out
}
