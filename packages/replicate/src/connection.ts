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
 * Serving is the {@link Outbox}, receiving the {@link Ingest}; this file routes frames between
 * them, answers requests, and holds the peer to the limits: bulk frames must fit the credit
 * granted, control frames the rate allowed, and every invalid item counts against the peer until
 * it is disconnected. Nothing a remote sends can throw out of here: local failures (a closed
 * store) end the connection with their reason.
 */
import { equalBytes, type FeedId, type Msg, MurmurError, toHex } from '@murmur/core'
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
  encodeUnwant,
  FEATURE,
  type Frame,
  isFrameError,
  SEAL_OVERHEAD,
  UNWANT_PER_FRAME,
} from './frames.js'
import { Ingest, type Welcome } from './ingest.js'
import { newCounters, type PeerCounters, type RejectReason, TokenBucket } from './limits.js'
import { Outbox } from './serve.js'
import { type CloseInfo, Session } from './session.js'

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
export class Connection implements BlobPeer {
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
  readonly #control: Frame[] = []
  /** Feeds announced to the remote (ever): their late messages are no offence. */
  readonly #announced = new Set<string>()
  /** Feeds this remote failed to serve correctly: not asked of it again. */
  readonly #refused = new Set<string>()
  /** Wanted feeds whose clock entry must be sent again (we got them elsewhere). */
  readonly #clockDirty = new Map<string, FeedId>()
  /** Per wanted feed, the seq the remote said it has: what we expect to receive up to. */
  readonly #expect = new Map<string, number>()
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
    return { expected: Math.max(this.#expected, this.#counters.received), received: this.#counters.received }
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
    this.#sendClock(entries.filter((e) => this.#ctx.wants(toHex(e.feed))))
    if (progressed) this.#emitProgress()
  }

  /** @internal The want set lost `feeds`: tell the remote to stop sending them. */
  retract(feeds: readonly FeedId[]): void {
    if (this.#state !== 'ready') return
    for (let i = 0; i < feeds.length; i += UNWANT_PER_FRAME) {
      this.sendControl(encodeUnwant(feeds.slice(i, i + UNWANT_PER_FRAME)))
    }
  }

  /** @internal A message was appended to the store (from anywhere). */
  localAppend(hex: string, msg: Msg): void {
    if (this.#state !== 'ready') return
    const want = this.#remoteClock.get(hex)
    if (want) {
      if (want.has < msg.value.seq) this.#outbox.markDirty(hex)
      return
    }
    // The remote does not get this feed from us, so tell it our new seq, or it may send it again
    // (unless it knows: it sent this message itself).
    if (this.#welcome(hex) !== 'yes' || this.#remoteClock.knows(hex) >= msg.value.seq) return
    this.#clockDirty.set(hex, msg.value.author)
    this.#clockTimer ??= setTimeout(() => void this.#flushClock(), CLOCK_FLUSH_MS)
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
    if (this.#answeredOwnFeed || (this.#session.remoteFeatures & FEATURE.have) === 0) return
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
      default:
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
        for (const feed of f.feeds) this.#remoteClock.unwant(toHex(feed))
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
      this.#remoteClock.apply(entry, hex)
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
    }
    if (await onAnotherBranch(store, entry, state)) this.#ingest.request(entry.feed, entry.seq, hex)
    return grew
  }
}
