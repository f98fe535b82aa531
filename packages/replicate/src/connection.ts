/**
 * One connection to one remote peer: the session (handshake and sealing), then the protocol.
 *
 * After the handshake each side grants the other its credit window and sends its clock for the
 * feeds it wants (for a far feed it holds nothing of, only the tail: clock.ts); from then on it
 * sends only changes (new wants, UNWANTs, and the seq of wanted feeds it got elsewhere, so the
 * remote does not send them again). When the remote's clock asks for the remote's own feed, it
 * answers once with a HAVE of what it holds of it (if the remote reads HAVE: frames.ts), so a
 * device restoring that identity learns its head even from peers that do not want it.
 *
 * With several neighbours serving one feed, the replicator's gossip (gossip.ts) asks all but one
 * of them for notes instead of the stream (REQUEST); the other side of that is here too: a feed
 * the remote asked notes of is not served, and a HAVE note goes out, batched, when our head
 * passes what the remote has. PEERS and SIGNAL frames are checked, rate-limited, and handed to
 * the replicator (signal.ts; core's `isPeerUrl` checks addresses). Each is used only when both
 * hellos set its feature bit (frames.ts); from a peer that does not speak it, such a frame is an unknown type.
 *
 * Serving is the {@link Outbox}, receiving the {@link Ingest}; this file routes frames between
 * them, answers requests, and holds the peer to the limits: bulk frames must fit the credit
 * granted, control frames the rate allowed, and every invalid item counts against the peer until
 * it is disconnected. Nothing a remote sends can throw out of here: local failures (a closed
 * store) end the connection with their reason.
 */
import { equalBytes, type FeedId, isPeerUrl, type Msg, MurmurError, toHex } from '@murmur/core'
import type { BlobPeer } from './blobs.js'
import type { Channel } from './channel.js'
import { clockEntry, onAnotherBranch, RemoteClock } from './clock.js'
import type { ReplicaContext } from './context.js'
import { ReceiveWindow } from './flow.js'
import {
  CLOCK_ENTRIES_PER_FRAME,
  type ClockEntry,
  decodeFrame,
  encodeClock,
  encodeCredit,
  encodeGet,
  encodeHave,
  encodeMsgs,
  encodeNone,
  encodePeers,
  encodeRequest,
  encodeUnwant,
  FEATURE,
  type Frame,
  type GossipMode,
  isFrameError,
  PEERS_PER_FRAME,
  type PeerEntry,
  REQUEST_ENTRIES_PER_FRAME,
  type RequestEntry,
  SEAL_OVERHEAD,
  type SignalFrame,
  UNWANT_PER_FRAME,
} from './frames.js'
import type { GossipLink } from './gossip.js'
import { Ingest, type Welcome } from './ingest.js'
import { newCounters, type PeerCounters, type RejectReason, TokenBucket } from './limits.js'
import { Outbox } from './serve.js'
import { type CloseInfo, Session } from './session.js'
import type { SignalLink } from './signal.js'

/** Options of {@link Replicator.connect}. */
export interface ConnectOptions {
  /** True on the side that opened the channel (it speaks first). */
  initiator: boolean
  /** Bytes both sides must agree on, bound into the handshake (WebRTC: both DTLS fingerprints). */
  binding?: Uint8Array
  /** When set, the connection fails unless the remote is this feed. */
  expectedRemote?: FeedId
}

/** Catch-up progress of a connection, for a progress bar. */
export interface Progress {
  /** Messages the remote said it has beyond what we had, for the feeds we want. */
  readonly expected: number
  /** Messages from this remote that were appended. */
  readonly received: number
  /**
   * Of the expected ones, how many are held now, whichever neighbour sent them (gossip may have
   * another neighbour stream a feed this one has too): the catch-up with this remote is done
   * when `held` reaches `expected`.
   */
  readonly held: number
}

/** A connection's state. */
export type ConnectionState = 'handshake' | 'ready' | 'closed'

/** A snapshot of one connection for status displays. */
export interface PeerStatus {
  readonly id: number
  readonly remote: FeedId | undefined
  readonly initiator: boolean
  readonly state: ConnectionState
  /** How it ended, once closed. */
  readonly close: CloseInfo | undefined
  readonly counters: PeerCounters
  readonly progress: Progress
  /** Feeds the remote wants of us. */
  readonly remoteWants: number
}

const MAX_CREDIT = 0x7fff_ffff
const MAX_CONTROL_QUEUE = 1024
const CLOCK_FLUSH_MS = 10

let nextId = 1

/** One replication connection; made by {@link Replicator.connect}. */
export class Connection implements BlobPeer, GossipLink, SignalLink {
  /** A number unique in this process, for logs and status. */
  readonly id = nextId++
  readonly initiator: boolean
  /** Resolves once the handshake is done and {@link remote} is known; rejects if it closes first. */
  readonly ready: Promise<void>
  /** Resolves, once, with how and why the connection ended. */
  readonly closed: Promise<CloseInfo>
  readonly #ctx: ReplicaContext
  readonly #session: Session
  readonly #counters = newCounters()
  readonly #remoteClock = new RemoteClock()
  readonly #window: ReceiveWindow
  readonly #outbox: Outbox
  readonly #ingest: Ingest
  readonly #bucket: TokenBucket
  readonly #peersBucket: TokenBucket
  readonly #signalBucket: TokenBucket
  readonly #signalBytes: TokenBucket
  /** What this peer sends on this connection: below what the remote accepts (see sendSignal). */
  readonly #signalOut: TokenBucket
  readonly #signalOutBytes: TokenBucket
  /** Per feed, the mode we asked the remote to serve it in, when not `stream` (the default). */
  readonly #asked = new Map<string, GossipMode>()
  /** REQUEST entries to send on the next flush. */
  readonly #requestDirty = new Map<string, { readonly feed: FeedId; readonly mode: GossipMode }>()
  /** Feeds the remote asked notes of before it asked for them (a REQUEST precedes its CLOCK). */
  readonly #pendingNotify = new Set<string>()
  /** Feeds served as notes whose head grew: a HAVE note goes out on the next flush. */
  readonly #notesDirty = new Map<string, FeedId>()
  readonly #control: Frame[] = []
  /** Feeds announced to the remote (ever): their late messages are no offence. */
  readonly #announced = new Set<string>()
  /** Feeds this remote failed to serve correctly: not asked of it again. */
  readonly #refused = new Set<string>()
  /** Wanted feeds whose clock entry must be sent again (we got them elsewhere). */
  readonly #clockDirty = new Map<string, FeedId>()
  /** Per wanted feed, the seq the remote said it has: what we expect to receive up to. */
  readonly #expect = new Map<string, number>()
  /** Per feed expected: the seq held when the expectation began, and the last seq counted. */
  readonly #expectFrom = new Map<string, number>()
  readonly #counted = new Map<string, number>()
  #covered = 0
  /**
   * Feeds whose tail we asked of this remote, until one of its messages chains on what we hold:
   * how many messages we asked for, and whether it was asked to start again (ingest.ts).
   */
  readonly #tails = new Map<string, { readonly messages: number; restarted: boolean }>()
  /** True once we told the remote what we hold of its own feed. */
  #answeredOwnFeed = false
  readonly #progressFns = new Set<(p: Progress) => void>()
  #expected = 0
  #clockTimer: ReturnType<typeof setTimeout> | undefined
  #gossipTimer: ReturnType<typeof setTimeout> | undefined
  #controlRunning = false
  #state: ConnectionState = 'handshake'
  #close: CloseInfo | undefined
  #resolveReady!: () => void
  #rejectReady!: (err: unknown) => void
  #resolveClosed!: (info: CloseInfo) => void

  /** @internal Made by the replicator. */
  constructor(ctx: ReplicaContext, channel: Channel, opts: ConnectOptions) {
    this.#ctx = ctx
    this.initiator = opts.initiator
    const limits = ctx.limits
    this.ready = new Promise((resolve, reject) => {
      this.#resolveReady = resolve
      this.#rejectReady = reject
    })
    // Nobody has to await `ready`: a connection that fails is reported by `closed` too.
    this.ready.catch(() => {})
    this.closed = new Promise((resolve) => {
      this.#resolveClosed = resolve
    })
    this.#window = new ReceiveWindow(limits.window)
    this.#bucket = new TokenBucket(limits.controlPerSecond, limits.controlBurst)
    this.#peersBucket = new TokenBucket(limits.peersPerSecond, limits.peersBurst)
    this.#signalBucket = new TokenBucket(limits.signalPerSecond, limits.signalBurst)
    this.#signalOut = new TokenBucket(limits.signalPerSecond / 2, limits.signalBurst / 2)
    this.#signalOutBytes = new TokenBucket(limits.signalBytesPerSecond / 2, limits.signalBytesPerSecond)
    this.#signalBytes = new TokenBucket(limits.signalBytesPerSecond, 2 * limits.signalBytesPerSecond)
    const fail = (err: unknown): void => this.#fail(err)
    const self = this
    this.#outbox = new Outbox({
      store: ctx.store,
      get session() {
        return self.#session
      },
      remote: this.#remoteClock,
      counters: this.#counters,
      highWaterMark: limits.highWaterMark,
      fail,
    })
    this.#ingest = new Ingest({
      store: ctx.store,
      ed: ctx.ed,
      sha256: ctx.sha256,
      remote: this.#remoteClock,
      counters: this.#counters,
      batchMessages: limits.batchMessages,
      maxRequests: limits.maxRemoteRequests,
      welcome: (hex) => this.#welcome(hex),
      penalize: (reason, detail) => this.penalize(reason, detail),
      fork: (proof) => this.#ctx.fork(this, proof),
      appended: (n) => {
        this.#counters.received += n
        this.#emitProgress()
      },
      sendGet: (feed, seq) => this.sendControl(encodeGet(feed, seq)),
      refuseFeed: (hex, feed) => this.#refuse(hex, feed),
      askedTail: (hex) => this.#tails.has(hex),
      tailChained: (hex) => this.#tails.delete(hex),
      tailAhead: (hex, feed) => this.#restartTail(hex, feed),
      handled: (bytes, idle) => this.#handled(bytes, idle),
      fail,
    })
    this.#session = new Session(
      channel,
      {
        initiator: opts.initiator,
        seed: ctx.keys.seed,
        networkKey: ctx.networkKey,
        binding: opts.binding,
        expectedRemote: opts.expectedRemote,
        handshakeTimeoutMs: limits.handshakeTimeoutMs,
        features: ctx.features,
      },
      {
        ready: () => this.#onReady(),
        frame: (p) => this.#onFrame(p),
        dropped: (reason, detail) => this.penalize(reason, detail),
        closed: (info) => this.#onClosed(info),
      },
    )
    const drainOff = channel.onDrain?.(() => this.#outbox.drained())
    if (drainOff) void this.closed.then(drainOff)
    const invalidOff = channel.onInvalid?.((kind, detail) =>
      this.penalize(kind === 'oversized' ? 'oversized-frame' : 'bad-frame', `the transport refused a frame: ${detail}`),
    )
    if (invalidOff) void this.closed.then(invalidOff)
  }

  /** The remote's feed id, once the handshake has authenticated it. */
  get remote(): FeedId | undefined {
    return this.#session.remote
  }

  /** Where the connection is in its life. */
  get state(): ConnectionState {
    return this.#state
  }

  /** Catch-up progress. */
  progress(): Progress {
    const received = this.#counters.received
    const expected = Math.max(this.#expected, received)
    return { expected, received, held: Math.min(expected, Math.max(this.#covered, received)) }
  }

  /** A copy of the counters. */
  counters(): PeerCounters {
    return { ...this.#counters, rejected: { ...this.#counters.rejected } }
  }

  /** A snapshot for status displays. */
  status(): PeerStatus {
    return {
      id: this.id,
      remote: this.remote,
      initiator: this.initiator,
      state: this.#state,
      close: this.#close,
      counters: this.counters(),
      progress: this.progress(),
      remoteWants: this.#remoteClock.size,
    }
  }

  /**
   * The latest seq of `feed` the remote said it holds (in its CLOCK, or in a HAVE answer); 0 when
   * it said it holds none; undefined when it has said nothing of the feed.
   */
  remoteSeq(feed: FeedId): number | undefined {
    return this.#remoteClock.told(toHex(feed))
  }

  /**
   * True when both this peer and the remote announced `feature` (a bit of frames.ts
   * {@link FEATURE}) in their hellos, so its frames may be used on this connection.
   */
  speaks(feature: number): boolean {
    return (this.#ctx.features & this.#session.remoteFeatures & feature) !== 0
  }

  /**
   * Tells the remote of peers (peer exchange): always-on peers by their ws:/wss: address, or,
   * without a url, peers connected to us now that it can reach through us by signalling. What
   * to tell is the caller's choice. Returns false, sending nothing, when the connection is not
   * ready or the remote does not read PEERS.
   * @throws {MurmurError} `INVALID_ARGUMENT` for more than 32 entries, a feed id that is not 32
   * bytes, or a url that is not a ws:/wss: address of at most 256 bytes.
   */
  sendPeers(entries: readonly PeerEntry[]): boolean {
    if (!Array.isArray(entries) || entries.length > PEERS_PER_FRAME) {
      throw new MurmurError('INVALID_ARGUMENT', `at most ${PEERS_PER_FRAME} peer entries at once`)
    }
    for (const e of entries) {
      if (!(e?.feed instanceof Uint8Array) || e.feed.length !== 32) {
        throw new MurmurError('INVALID_ARGUMENT', 'a peer entry names a 32-byte feed id')
      }
      if (e.url !== undefined && !isPeerUrl(e.url)) {
        throw new MurmurError('INVALID_ARGUMENT', `not a ws:/wss: address of at most 256 bytes: ${String(e.url)}`)
      }
    }
    if (this.#state !== 'ready' || !this.speaks(FEATURE.peers)) return false
    return this.sendControl(encodePeers(entries))
  }

  /** @internal True when the connection is ready and both sides speak SIGNAL. */
  readsSignal(): boolean {
    return this.#state === 'ready' && this.speaks(FEATURE.signal)
  }

  /** @internal Sends an encoded SIGNAL frame; false when the remote does not read it. */
  sendSignal(frame: Uint8Array): boolean {
    // Never more than the remote takes (its limits are the same numbers): past them it would
    // count the frames against this peer, for signals that are mostly other peers' (relayed).
    // Half its rate and burst, so clocks that disagree a little never tip it over.
    if (!this.readsSignal() || !this.#signalOut.take() || !this.#signalOutBytes.take(frame.length)) return false
    return this.sendControl(frame)
  }

  /**
   * @internal True when the remote may be asked to stream or notify `hex` (gossip.ts): it speaks
   * REQUEST, said how far it holds the feed, and was not refused it.
   */
  canSource(hex: string): boolean {
    return (
      this.#state === 'ready' &&
      this.speaks(FEATURE.gossip) &&
      !this.#refused.has(hex) &&
      this.#remoteClock.told(hex) !== undefined
    )
  }

  /** The mode we asked the remote to serve `feed` in (`stream` unless gossip asked for notes). */
  servedAs(feed: FeedId): GossipMode {
    return this.#asked.get(toHex(feed)) ?? 'stream'
  }

  /** @internal Asks the remote to serve `feed` in `mode`; sent (batched) only when it changes. */
  request(feed: FeedId, hex: string, mode: GossipMode): void {
    if (this.#state !== 'ready' || !this.speaks(FEATURE.gossip)) return
    if ((this.#asked.get(hex) ?? 'stream') === mode) return
    if (mode === 'stream') this.#asked.delete(hex)
    else this.#asked.set(hex, mode)
    this.#requestDirty.set(hex, { feed, mode })
    this.#gossipTimer ??= setTimeout(() => void this.#flushGossip(), 0)
  }

  /** Calls `fn` with the progress whenever it changes; returns the function that stops it. */
  onProgress(fn: (p: Progress) => void): () => void {
    this.#progressFns.add(fn)
    return () => this.#progressFns.delete(fn)
  }

  /** Closes the connection, telling the remote `reason`. */
  close(reason = 'closed by this peer'): void {
    this.#session.close('local', reason)
  }

  /** @internal Sends a control frame; false when not ready. */
  sendControl(frame: Uint8Array): boolean {
    if (!this.#session.isReady) return false
    this.#counters.bytesOut += frame.length + SEAL_OVERHEAD
    return this.#session.send(frame)
  }

  /** @internal Counts an invalid item against the remote; past the limit, disconnects it. */
  penalize(reason: RejectReason, detail: string): void {
    if (this.#state === 'closed') return
    this.#counters.rejected[reason]++
    this.#counters.invalid++
    this.#ctx.rejected(this, reason, detail)
    if (this.#counters.invalid >= this.#ctx.limits.maxInvalid) {
      this.#session.close(
        'misbehaving',
        `disconnected after ${this.#counters.invalid} invalid items from this peer (the last: ${reason}: ${detail})`,
      )
    }
  }

  /** @internal A blob from this remote was stored. */
  blobReceived(): void {
    this.#counters.blobsReceived++
  }

  /** @internal The want set gained `feeds`: send their clock entries (never rejects). */
  async announce(feeds: readonly FeedId[]): Promise<void> {
    try {
      await this.#announce(feeds)
    } catch (err) {
      this.#fail(err)
    }
  }

  async #announce(feeds: readonly FeedId[]): Promise<void> {
    if (this.#state !== 'ready') return
    const entries: ClockEntry[] = []
    let progressed = false
    for (const feed of feeds) {
      const hex = toHex(feed)
      if (this.#refused.has(hex)) continue
      const state = await this.#ctx.store.feedState(feed)
      // Of a far feed we hold nothing of, only its newest part (ingest.ts then takes its start).
      const tail = state ? undefined : this.#ctx.tailOf(hex)
      entries.push(tail === undefined ? clockEntry(feed, state) : { ...clockEntry(feed, undefined), tail })
      // The remote may have told us about it before we wanted it.
      const said = this.#remoteClock.get(hex)?.said
      if (said && !this.#announced.has(hex) && (await this.#compare(said, hex, tail))) progressed = true
    }
    // Wants may have changed while reading: send only what is still wanted.
    const wanted = entries.filter((e) => this.#ctx.wants(toHex(e.feed)))
    this.#sendModes(wanted)
    this.#sendClock(wanted)
    if (progressed) this.#emitProgress()
  }

  /** @internal The want set lost `feeds`: tell the remote to stop sending them. */
  retract(feeds: readonly FeedId[]): void {
    if (this.#state !== 'ready') return
    // The remote forgets the feed, and with it the mode asked: it streams when asked again.
    for (const feed of feeds) {
      const hex = toHex(feed)
      this.#asked.delete(hex)
      this.#requestDirty.delete(hex)
    }
    for (let i = 0; i < feeds.length; i += UNWANT_PER_FRAME) {
      this.sendControl(encodeUnwant(feeds.slice(i, i + UNWANT_PER_FRAME)))
    }
  }

  /** @internal A message was appended to the store (from anywhere). */
  localAppend(hex: string, msg: Msg): void {
    this.#count(hex, msg.value.seq)
    if (this.#state !== 'ready') return
    const want = this.#remoteClock.get(hex)
    if (want) {
      if (want.has >= msg.value.seq) return
      if (!want.notify) this.#outbox.markDirty(hex)
      else if (want.noted < msg.value.seq) this.#noteLater(hex, want.feed)
      return
    }
    // The remote does not get this feed from us, so tell it our new seq, or it may send it again
    // (unless it knows: it sent this message itself).
    if (this.#welcome(hex) !== 'yes' || this.#remoteClock.knows(hex) >= msg.value.seq) return
    this.#clockDirty.set(hex, msg.value.author)
    this.#clockTimer ??= setTimeout(() => void this.#flushClock(), CLOCK_FLUSH_MS)
  }

  /**
   * Counts an appended message toward this connection's progress when it is one the remote said
   * it had beyond what we held, whoever sent it. Progress events go out in steps (and at the end).
   */
  #count(hex: string, seq: number): void {
    const until = this.#expect.get(hex)
    if (until === undefined || seq > until) return
    if (seq <= Math.max(this.#expectFrom.get(hex) ?? 0, this.#counted.get(hex) ?? 0)) return
    this.#counted.set(hex, seq)
    this.#covered++
    if (this.#covered >= this.#expected || this.#covered % 64 === 0) this.#emitProgress()
  }

  // ---------------------------------------------------------------------------------------------

  #onReady(): void {
    this.#state = 'ready'
    this.#resolveReady()
    this.sendControl(encodeCredit(this.#window.initialGrant()))
    this.#ctx.ready(this)
    void this.#ctx.wantList().then(
      (feeds) => this.announce(feeds),
      (err) => this.#fail(err),
    )
  }

  #onClosed(info: CloseInfo): void {
    this.#state = 'closed'
    this.#close = info
    clearTimeout(this.#clockTimer)
    clearTimeout(this.#gossipTimer)
    this.#outbox.close()
    this.#ingest.close()
    this.#control.length = 0
    this.#rejectReady(
      new MurmurError('NOT_OPEN', `the connection closed before it was ready: ${info.reason}`, { cause: info }),
    )
    this.#ctx.closed(this, info)
    this.#resolveClosed(info)
  }

  #fail(err: unknown): void {
    if (this.#state === 'closed') return
    this.#session.close('local', `a local failure: ${(err as Error)?.message ?? String(err)}`)
  }

  #welcome(hex: string): Welcome {
    if (this.#refused.has(hex)) return 'was'
    if (this.#ctx.wants(hex)) return 'yes'
    return this.#announced.has(hex) ? 'was' : 'no'
  }

  /**
   * The remote's tail of `hex` starts past our head (another peer's tail came first): asks it,
   * once, to start again after our head. It only ever raises what it thinks we have, so the
   * UNWANT makes it forget, and the CLOCK that follows (our head now) starts it afresh.
   */
  #restartTail(hex: string, feed: FeedId): void {
    const tail = this.#tails.get(hex)
    if (!tail || tail.restarted || this.#state !== 'ready') return
    tail.restarted = true
    this.retract([feed])
    void this.announce([feed])
  }

  /** Tells the remote, once, what we hold of its own feed, when it reads HAVE (frames.ts). */
  async #answerOwnFeed(feed: FeedId): Promise<void> {
    if (this.#answeredOwnFeed || !this.speaks(FEATURE.have)) return
    this.#answeredOwnFeed = true
    this.sendControl(encodeHave([clockEntry(feed, await this.#ctx.store.feedState(feed))]))
  }

  /** The remote said it holds `feed` to `seq`: news goes to the replicator. */
  #noteTold(hex: string, feed: FeedId, seq: number): void {
    if (this.#remoteClock.noteTold(hex, seq)) this.#ctx.told(this, feed, seq)
  }

  #refuse(hex: string, feed: FeedId): void {
    if (this.#refused.has(hex)) return
    this.#refused.add(hex)
    this.retract([feed])
  }

  /**
   * Before a CLOCK, a REQUEST for the feeds gossip wants only notes of from this remote, so it
   * never starts streaming them (gossip.ts).
   */
  #sendModes(entries: readonly ClockEntry[]): void {
    if (!this.speaks(FEATURE.gossip)) return
    const out: RequestEntry[] = []
    for (const e of entries) {
      const hex = toHex(e.feed)
      const mode = this.#ctx.gossipMode(this, hex, e.feed, e.seq)
      if ((this.#asked.get(hex) ?? 'stream') === mode) continue
      if (mode === 'stream') this.#asked.delete(hex)
      else this.#asked.set(hex, mode)
      this.#requestDirty.delete(hex)
      out.push({ feed: e.feed, mode, seq: e.seq })
    }
    for (let i = 0; i < out.length; i += REQUEST_ENTRIES_PER_FRAME) {
      this.sendControl(encodeRequest(out.slice(i, i + REQUEST_ENTRIES_PER_FRAME)))
    }
  }

  #sendClock(entries: readonly ClockEntry[]): void {
    for (const e of entries) {
      const hex = toHex(e.feed)
      this.#announced.add(hex)
      this.#remoteClock.noteKnows(hex, e.seq)
      // An entry without a tail does not end one asked before: its messages may be on the way.
      if (e.tail !== undefined) this.#tails.set(hex, { messages: e.tail, restarted: false })
    }
    for (let i = 0; i < entries.length; i += CLOCK_ENTRIES_PER_FRAME) {
      this.sendControl(encodeClock(entries.slice(i, i + CLOCK_ENTRIES_PER_FRAME)))
    }
  }

  async #flushClock(): Promise<void> {
    this.#clockTimer = undefined
    const feeds = [...this.#clockDirty.values()]
    this.#clockDirty.clear()
    await this.announce(feeds)
  }

  #noteLater(hex: string, feed: FeedId): void {
    this.#notesDirty.set(hex, feed)
    this.#gossipTimer ??= setTimeout(() => void this.#flushGossip(), CLOCK_FLUSH_MS)
  }

  /** Sends the REQUEST entries and HAVE notes gathered since the last flush. */
  async #flushGossip(): Promise<void> {
    this.#gossipTimer = undefined
    if (this.#state !== 'ready') return
    const store = this.#ctx.store
    try {
      const requests = [...this.#requestDirty.values()]
      this.#requestDirty.clear()
      const entries: RequestEntry[] = []
      for (const { feed, mode } of requests) entries.push({ feed, mode, seq: (await store.feedState(feed))?.seq ?? 0 })
      for (let i = 0; i < entries.length; i += REQUEST_ENTRIES_PER_FRAME) {
        this.sendControl(encodeRequest(entries.slice(i, i + REQUEST_ENTRIES_PER_FRAME)))
      }
      const feeds = [...this.#notesDirty]
      this.#notesDirty.clear()
      const notes: ClockEntry[] = []
      for (const [hex, feed] of feeds) {
        const want = this.#remoteClock.get(hex)
        const state = want?.notify ? await store.feedState(feed) : undefined
        if (!want || !state || state.seq <= Math.max(want.has, want.noted)) continue
        want.noted = state.seq
        notes.push(clockEntry(feed, state))
      }
      for (let i = 0; i < notes.length; i += CLOCK_ENTRIES_PER_FRAME) {
        this.sendControl(encodeHave(notes.slice(i, i + CLOCK_ENTRIES_PER_FRAME)))
      }
    } catch (err) {
      this.#fail(err)
    }
  }

  /** The remote asks us to stream feeds, or only to note how far we hold them (gossip.ts). */
  #onRequest(entries: readonly RequestEntry[]): void {
    for (const e of entries) {
      const hex = toHex(e.feed)
      const want = this.#remoteClock.get(hex)
      if (!want) {
        // Notes asked for before the feed (its CLOCK follows), kept as far as its wants may go.
        if (e.mode === 'stream') this.#pendingNotify.delete(hex)
        else if (this.#pendingNotify.size < this.#ctx.limits.maxRemoteWants) this.#pendingNotify.add(hex)
        continue
      }
      this.#remoteClock.raiseHas(hex, e.seq)
      want.notify = e.mode === 'notify'
      if (!want.notify) this.#outbox.markDirty(hex)
      else this.#noteLater(hex, want.feed)
    }
  }

  /** A PEERS frame: rate-limited; bad entries were dropped by the decoder and count against the remote. */
  #onPeers(entries: PeerEntry[], dropped: number): void {
    if (!this.speaks(FEATURE.peers)) {
      this.penalize('bad-frame', 'unknown frame type 13 (PEERS)')
      return
    }
    if (!this.#peersBucket.take()) {
      this.penalize('flood', `PEERS frames faster than ${this.#ctx.limits.peersPerSecond} a second`)
      return
    }
    for (let i = 0; i < dropped; i++) this.penalize('bad-frame', 'a PEERS entry whose url is not a ws:/wss: address')
    // Empty too: a sender's list replaces its last one ("nobody now" is news).
    if (this.#state === 'ready') this.#ctx.peers(this, entries)
  }

  /** A SIGNAL frame: rate-limited (count and bytes) and checked here (signal.ts says why), routed by the replicator. */
  #onSignal(f: SignalFrame): void {
    if (!this.speaks(FEATURE.signal)) {
      this.penalize('bad-frame', 'unknown frame type 14 (SIGNAL)')
      return
    }
    if (!this.#signalBucket.take() || !this.#signalBytes.take(f.payload.length)) {
      this.penalize('flood', `SIGNAL frames past ${this.#ctx.limits.signalPerSecond} a second or their byte budget`)
      return
    }
    const remote = this.remote as FeedId
    if (!f.relayed && !equalBytes(f.from, remote)) {
      this.penalize('bad-frame', 'a SIGNAL whose from is not its sender')
      return
    }
    if (f.relayed && !equalBytes(f.to, this.#ctx.keys.publicKey)) {
      this.penalize('bad-frame', 'a relayed SIGNAL for another peer (one hop only)')
      return
    }
    this.#ctx.signal(this, f)
  }

  #handled(bytes: number, idle: boolean): void {
    const grant = this.#window.release(bytes, idle)
    if (grant > 0) this.sendControl(encodeCredit(grant))
  }

  #emitProgress(): void {
    const p = this.progress()
    for (const fn of this.#progressFns) fn(p)
    this.#ctx.progress(this, p)
  }

  #onFrame(p: Uint8Array): void {
    if (this.#state !== 'ready') return
    this.#counters.bytesIn += p.length + SEAL_OVERHEAD
    const f = decodeFrame(p)
    if (isFrameError(f)) {
      this.penalize('bad-frame', f.error)
      return
    }
    switch (f.type) {
      case 'credit':
        if (!this.#outbox.grant(f.bytes, MAX_CREDIT)) this.penalize('bad-frame', 'credit beyond 2 GiB')
        return
      case 'msgs':
        if (!this.#window.take(p.length)) {
          this.penalize('over-credit', `a MSGS frame of ${p.length} bytes beyond the credit granted`)
          return
        }
        this.#ingest.push(f.msgs, p.length)
        return
      case 'blob-chunk':
        if (!this.#window.take(p.length)) {
          this.penalize('over-credit', `a BLOB_CHUNK frame of ${p.length} bytes beyond the credit granted`)
          return
        }
        this.#ctx.blobs.onChunk(this, f.cid, f.offset, f.bytes)
        this.#handled(p.length, true)
        return
      case 'close':
        return // the session handles CLOSE itself
      case 'peers':
        this.#onPeers(f.entries, f.dropped)
        return
      case 'signal':
        this.#onSignal(f)
        return
      default:
        if (f.type === 'request' && !this.speaks(FEATURE.gossip)) {
          this.penalize('bad-frame', 'unknown frame type 15 (REQUEST)')
          return
        }
        if (!this.#bucket.take() || this.#control.length >= MAX_CONTROL_QUEUE) {
          this.penalize('flood', `control frames faster than ${this.#ctx.limits.controlPerSecond} a second`)
          return
        }
        this.#control.push(f)
        if (!this.#controlRunning) void this.#runControl()
    }
  }

  async #runControl(): Promise<void> {
    this.#controlRunning = true
    try {
      for (let f = this.#control.shift(); f && this.#state === 'ready'; f = this.#control.shift()) {
        await this.#onControl(f)
      }
    } catch (err) {
      this.#fail(err)
    } finally {
      this.#controlRunning = false
    }
  }

  async #onControl(f: Frame): Promise<void> {
    const ctx = this.#ctx
    switch (f.type) {
      case 'clock':
        return this.#onClock(f.entries)
      case 'unwant':
        for (const feed of f.feeds) {
          const hex = toHex(feed)
          this.#remoteClock.unwant(hex)
          this.#pendingNotify.delete(hex)
        }
        return
      case 'get': {
        if (this.#outbox.queuedRequests >= ctx.limits.maxRemoteRequests) {
          this.penalize('flood', 'too many GET requests queued')
          return
        }
        let msg: Msg | undefined
        for await (const m of ctx.store.messages(f.feed, { from: f.seq, to: f.seq })) msg = m
        if (msg) this.#outbox.reply(encodeMsgs([msg.bytes]))
        else this.sendControl(encodeNone(f.feed, f.seq))
        return
      }
      case 'none':
        this.#ingest.onNone(f.feed, f.seq)
        return
      case 'have':
        return this.#onHave(f.entries)
      case 'request':
        return this.#onRequest(f.entries)
      case 'blob-want':
        return ctx.blobs.onWant(this, f.cids)
      case 'blob-have':
        ctx.blobs.onHave(this, f.cid, f.size)
        return
      case 'blob-get': {
        const size = await ctx.store.blobs.size(f.cid)
        if (size === undefined || f.offset >= size || f.length === 0) return
        if (this.#outbox.queuedRequests >= ctx.limits.maxRemoteRequests) {
          this.penalize('flood', 'too many BLOB_GET requests queued')
          return
        }
        this.#outbox.sendBlob(f.cid, f.offset, Math.min(size, f.offset + f.length))
        return
      }
    }
  }

  async #onClock(entries: readonly ClockEntry[]): Promise<void> {
    const limit = this.#ctx.limits.maxRemoteWants
    const remote = this.remote as FeedId
    let progressed = false
    for (const entry of entries) {
      const hex = toHex(entry.feed)
      if (!this.#remoteClock.get(hex) && this.#remoteClock.size >= limit) {
        this.penalize('flood', `more than ${limit} feeds wanted`)
        break
      }
      const want = this.#remoteClock.apply(entry, hex)
      if (this.#pendingNotify.delete(hex)) {
        want.notify = true
        this.#noteLater(hex, entry.feed)
      }
      this.#noteTold(hex, entry.feed, entry.seq)
      this.#outbox.markDirty(hex)
      if (equalBytes(entry.feed, remote)) await this.#answerOwnFeed(entry.feed)
      if (this.#welcome(hex) === 'yes' && (await this.#compare(entry, hex))) progressed = true
    }
    if (progressed) this.#emitProgress()
  }

  /** What the remote holds of feeds we want and it does not (its answers: frames.ts HAVE). */
  async #onHave(entries: readonly ClockEntry[]): Promise<void> {
    let progressed = false
    for (const entry of entries) {
      const hex = toHex(entry.feed)
      // Nothing it holds is sent to it (a note from a feed it asked us for notes of, too).
      this.#remoteClock.raiseHas(hex, entry.seq)
      // Kept only for feeds we want (what we asked about), so a remote cannot fill our memory.
      if (this.#welcome(hex) !== 'yes') continue
      this.#noteTold(hex, entry.feed, entry.seq)
      if (await this.#compare(entry, hex)) progressed = true
    }
    if (progressed) this.#emitProgress()
  }

  /**
   * Compares the remote's clock entry for a feed we want with ours: counts what we expect to
   * receive (of a tail asked for, at most that many), and when the remote is on another branch
   * at a seq we hold (same seq, another id prefix), asks for its message there so the store can
   * make the fork proof. Returns true when the expected count grew.
   */
  async #compare(entry: ClockEntry, hex: string, tail = this.#tails.get(hex)?.messages): Promise<boolean> {
    const store = this.#ctx.store
    const state = await store.feedState(entry.feed)
    const held = state?.seq ?? (tail === undefined ? 0 : Math.max(0, entry.seq - tail))
    const before = this.#expect.get(hex) ?? held
    const grew = entry.seq > before
    if (grew) {
      this.#expected += entry.seq - before
      this.#expect.set(hex, entry.seq)
      if (!this.#expectFrom.has(hex)) this.#expectFrom.set(hex, before)
    }
    if (await onAnotherBranch(store, entry, state)) this.#ingest.request(entry.feed, entry.seq, hex)
    return grew
  }
}
