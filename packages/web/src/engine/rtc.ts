/**
 * The worker's half of browser-to-browser connections (rtc/protocol.ts says who does what).
 *
 * - Whom: browsers a neighbour said it can reach for us (`peers` entries without a URL; the
 *   serving peer lists the other browsers it serves, and each browser lists its own direct
 *   links to its direct links, so browsers can also meet through a browser they share). The worker keeps up to `target` direct
 *   connections, picked at random among them, never to itself or to one it already reaches
 *   directly; a browser that failed is left alone for a while (backoff), then tried again.
 * - Glare: two browsers may offer to each other at once. The one with the smaller feed id keeps
 *   its own offer and drops the other's; the other hangs up its own and answers.
 * - Limits: at most `max` links (dialled and accepted); an offer beyond that is declined.
 * - Each open data channel arrives as a MessagePort ({@link PortChannel}) and replicates like a
 *   WebSocket, with both DTLS fingerprints bound into the handshake and the remote required to
 *   be the feed that was signalled.
 */
import { type FeedId, fromHex, toHex } from '@murmur/core'
import type { Channel } from '@murmur/replicate'
import { type Connection, PUBLIC_NETWORK_KEY, type Replicator, type ReplicatorEvent } from '@murmur/replicate'
import {
  encodeSignal,
  type PortControl,
  parseSignal,
  type RtcFromPage,
  type RtcSignal,
  type RtcToPage,
  trackerTopic,
} from '../rtc/protocol.js'

/** The page, as the worker sees it: the only place WebRTC exists. */
export interface RtcBridge {
  post(msg: RtcToPage): void
  /** Calls `fn` with every RTC message from the page; returns the function that stops it. */
  listen(fn: (msg: RtcFromPage) => void): () => void
}

/** Options of {@link RtcPeers}. */
export interface RtcPeersOptions {
  readonly replicator: Replicator
  readonly me: FeedId
  readonly bridge: RtcBridge
  /** Direct browser connections to keep (default 4). */
  readonly target?: number
  /** Most direct browser connections, dialled and accepted (default 8). */
  readonly max?: number
  /** How long a failed browser is left alone (ms, default 30 s). */
  readonly backoffMs?: number
  /** ICE servers for the page's connections (default none: host candidates only). */
  readonly iceServers?: readonly RTCIceServer[]
  /** WebTorrent trackers where the page meets other browsers (default none). */
  readonly trackers?: readonly string[]
  /** The network key (default Murmur's public one): trackers are met under a topic derived from it. */
  readonly networkKey?: Uint8Array
  readonly random?: () => number
  readonly now?: () => number
  /** How long after a link opened or closed the others are told (ms, default 500). */
  readonly tellAfterMs?: number
}

type LinkState = 'dialing' | 'answering' | 'open'

/** Direct connections to other browsers, kept at a target. */
export class RtcPeers {
  readonly #opts: RtcPeersOptions
  readonly #me: string
  /** Browsers reachable for signalling, per neighbour that said so (its latest list). */
  readonly #reachable = new Map<Connection, Map<string, FeedId>>()
  readonly #links = new Map<string, { state: LinkState; since: number; id?: string }>()
  readonly #backoff = new Map<string, number>()
  readonly #direct = new WeakSet<Connection>()
  readonly #live = new Set<Connection>()
  #enabled = true
  #tellTimer: ReturnType<typeof setTimeout> | undefined
  #config: { iceServers: RTCIceServer[]; trackers: string[] } = { iceServers: [], trackers: [] }
  readonly #offs: (() => void)[] = []
  #closed = false

  constructor(opts: RtcPeersOptions) {
    this.#opts = opts
    this.#me = toHex(opts.me)
    this.#offs.push(opts.replicator.subscribe((e) => this.#onReplicator(e)))
    this.#offs.push(opts.bridge.listen((m) => this.#onPage(m)))
    void this.configure({ iceServers: opts.iceServers ?? [], trackers: opts.trackers ?? [] })
  }

  /**
   * Tells the page which ICE servers and trackers to use (again, when the person changed them).
   * While direct links are off the page is told none: it then announces nothing anywhere (an
   * offer on a tracker carries this device's addresses).
   */
  async configure(c: { iceServers: readonly RTCIceServer[]; trackers: readonly string[] }): Promise<void> {
    this.#config = { iceServers: [...c.iceServers], trackers: [...c.trackers] }
    const topic = await trackerTopic(this.#opts.networkKey ?? PUBLIC_NETWORK_KEY)
    if (this.#closed) return
    const on = this.#enabled
    this.#opts.bridge.post({
      rtc: 'config',
      iceServers: on ? this.#config.iceServers : [],
      trackers: on ? this.#config.trackers : [],
      topic,
      me: this.#me,
    })
  }

  /** What a status view shows: the direct browser links and how many browsers are reachable. */
  status(): { links: { remote: string; state: LinkState }[]; reachable: number } {
    return {
      links: [...this.#links].map(([remote, l]) => ({ remote, state: l.state })),
      reachable: this.#candidates().length + this.#links.size,
    }
  }

  /**
   * Turns direct links on or off. Off: the open ones close, offers are declined, nothing is
   * dialled (a direct link shows the other browser this device's IP address).
   */
  setEnabled(on: boolean): void {
    if (this.#enabled === on) return
    this.#enabled = on
    void this.configure(this.#config)
    if (on) {
      this.#fill()
      return
    }
    for (const [remote, l] of this.#links) if (l.state !== 'open') this.#opts.bridge.post({ rtc: 'hangup', remote })
    for (const c of this.#live) c.close('direct links were turned off')
    this.#links.clear()
  }

  /** True for a connection that is a direct WebRTC link made here. */
  isDirect(connection: Connection): boolean {
    return this.#direct.has(connection)
  }

  /** Stops: no more dials; the page hangs up the links being made (open ones close with the replicator). */
  close(): void {
    this.#closed = true
    if (this.#tellTimer) clearTimeout(this.#tellTimer)
    for (const off of this.#offs) off()
    for (const [remote, l] of this.#links) if (l.state !== 'open') this.#opts.bridge.post({ rtc: 'hangup', remote })
    this.#links.clear()
  }

  #now(): number {
    return this.#opts.now?.() ?? Date.now()
  }

  #onReplicator(e: ReplicatorEvent): void {
    if (e.type === 'peers') {
      const feeds = new Map<string, FeedId>()
      for (const entry of e.entries) if (entry.url === undefined) feeds.set(toHex(entry.feed), entry.feed)
      this.#reachable.set(e.connection, feeds)
      this.#fill()
    } else if (e.type === 'signal') {
      const s = parseSignal(e.payload)
      if (s) this.#onSignal(toHex(e.from), s)
    } else if (e.type === 'closed') {
      this.#reachable.delete(e.connection)
    }
  }

  #onSignal(from: string, s: RtcSignal): void {
    if (this.#closed || from === this.#me) return
    const link = this.#links.get(from)
    if (s.t === 'offer' && !this.#enabled) {
      this.#send(from, { v: 1, t: 'bye', id: s.id })
      return
    }
    if (s.t === 'offer') {
      // An open link stays (an offer "from" its browser may come from anyone who relays); the
      // same offer again is a copy that came through another neighbour.
      if (link?.state === 'open' || (link?.state === 'answering' && link.id === s.id)) return
      if (link?.state === 'dialing') {
        // Both offered: the smaller id's offer wins.
        if (this.#me < from) return
        this.#opts.bridge.post({ rtc: 'hangup', remote: from })
      } else if (!link && this.#links.size >= (this.#opts.max ?? 8)) {
        this.#send(from, { v: 1, t: 'bye', id: s.id })
        return
      }
      this.#links.set(from, { state: 'answering', since: this.#now(), id: s.id })
    } else if (!link || link.state === 'open') {
      return
    } else if (s.t === 'bye') {
      this.#links.delete(from)
      this.#backoff.set(from, this.#now() + (this.#opts.backoffMs ?? 30_000))
    }
    this.#opts.bridge.post({ rtc: 'signal', from, signal: s })
  }

  #onPage(m: RtcFromPage): void {
    if (this.#closed || (!this.#enabled && m.rtc === 'open')) {
      if (m.rtc === 'open') m.port.close()
      return
    }
    if (m.rtc === 'signal') {
      this.#send(m.to, m.signal)
    } else if (m.rtc === 'failed') {
      this.#links.delete(m.remote)
      this.#backoff.set(m.remote, this.#now() + (this.#opts.backoffMs ?? 30_000))
      this.#fill()
    } else if (m.rtc === 'open') {
      this.#open(m.remote, m.initiator, m.binding, m.port)
    }
  }

  #open(remote: string | undefined, initiator: boolean, binding: Uint8Array, port: MessagePort): void {
    // Met through a tracker: who it is comes out of the handshake (the binding still holds).
    if (remote === undefined) {
      if (this.#links.size >= (this.#opts.max ?? 8)) {
        port.close()
        return
      }
      const conn = this.#opts.replicator.connect(new PortChannel(port), { initiator, binding })
      this.#direct.add(conn)
      void conn.ready.then(
        () => {
          const hex = conn.remote ? toHex(conn.remote) : undefined
          // Itself (two tabs, one tracker), someone already linked (one link is enough), links
          // turned off or full while the handshake ran.
          if (!hex || hex === this.#me || this.#links.has(hex)) conn.close('already connected')
          else if (!this.#enabled || this.#closed) conn.close('direct links are off')
          else if (this.#links.size >= (this.#opts.max ?? 8)) conn.close('enough direct links')
          else this.#track(hex, conn)
        },
        () => undefined,
      )
      return
    }
    const feed = feedOf(remote)
    if (!feed) {
      port.close()
      return
    }
    const conn = this.#opts.replicator.connect(new PortChannel(port), { initiator, binding, expectedRemote: feed })
    this.#direct.add(conn)
    this.#track(remote, conn)
  }

  #track(remote: string, conn: Connection): void {
    this.#links.set(remote, { state: 'open', since: this.#now() })
    this.#live.add(conn)
    void conn.ready.then(
      () => this.#tellLinks(),
      () => undefined,
    )
    void conn.closed.then(() => {
      this.#live.delete(conn)
      this.#tellLinks()
      if (this.#links.get(remote)?.state === 'open') this.#links.delete(remote)
      // A link that closed soon after opening is probably failing: wait before the next try.
      this.#backoff.set(remote, this.#now() + 2000)
      if (!this.#closed) setTimeout(() => this.#fill(), 2100)
    })
  }

  /**
   * Tells each direct link which other browsers this one links to (a moment after a change):
   * they can then signal each other through it, as through an always-on peer.
   */
  #tellLinks(): void {
    if (this.#closed) return
    this.#tellTimer ??= setTimeout(() => {
      this.#tellTimer = undefined
      if (this.#closed) return
      const ready = [...this.#live].filter((c) => c.state === 'ready' && c.remote)
      for (const c of ready) {
        const others = ready.filter((o) => o !== c).slice(0, 16)
        c.sendPeers(others.map((o) => ({ feed: o.remote as FeedId })))
      }
    }, this.#opts.tellAfterMs ?? 500)
  }

  #send(to: string, s: RtcSignal): void {
    const feed = feedOf(to)
    if (feed) this.#opts.replicator.signal(feed, encodeSignal(s))
  }

  /** Browsers reachable for signalling that are not linked, not reached directly, not backing off. */
  #candidates(): string[] {
    const now = this.#now()
    const direct = new Set<string>()
    for (const c of this.#opts.replicator.connections()) if (c.remote) direct.add(toHex(c.remote))
    const out = new Set<string>()
    for (const feeds of this.#reachable.values()) {
      for (const hex of feeds.keys()) {
        if (hex === this.#me || this.#links.has(hex) || direct.has(hex)) continue
        if ((this.#backoff.get(hex) ?? 0) > now) continue
        out.add(hex)
      }
    }
    return [...out]
  }

  /** Dials random candidates until `target` links are open or being made. */
  #fill(): void {
    if (this.#closed || !this.#enabled) return
    const target = this.#opts.target ?? 4
    const random = this.#opts.random ?? Math.random
    const candidates = this.#candidates()
    while (this.#links.size < target && candidates.length > 0) {
      const i = Math.floor(random() * candidates.length)
      const [remote] = candidates.splice(i, 1) as [string]
      this.#links.set(remote, { state: 'dialing', since: this.#now() })
      this.#opts.bridge.post({ rtc: 'dial', remote })
    }
  }
}

/**
 * A {@link Channel} over the MessagePort the page hands over for an open data channel
 * (rtc/page.ts bridges the two): frames as transferred ArrayBuffers; the page reports after each
 * frame how much the data channel still buffers, which is this channel's backpressure.
 */
export class PortChannel implements Channel {
  readonly #port: MessagePort
  readonly #frames = new Set<(f: Uint8Array) => void>()
  readonly #closes = new Set<(reason: string) => void>()
  readonly #drains = new Set<() => void>()
  #unacked = 0
  #buffered = 0
  #closed = false

  constructor(port: MessagePort) {
    this.#port = port
    port.onmessage = (ev: MessageEvent) => {
      const d = ev.data as ArrayBuffer | PortControl
      if (d instanceof ArrayBuffer) {
        const frame = new Uint8Array(d)
        for (const fn of this.#frames) fn(frame)
      } else if (typeof d === 'object' && d !== null && 'sent' in d) {
        this.#unacked = Math.max(0, this.#unacked - d.sent)
        this.#buffered = d.buffered
        for (const fn of this.#drains) fn()
      } else if (typeof d === 'object' && d !== null && 'close' in d) {
        this.#end(typeof d.close === 'string' ? d.close : 'closed')
      }
    }
  }

  get bufferedAmount(): number {
    return this.#unacked + this.#buffered
  }

  send(frame: Uint8Array): void {
    if (this.#closed) return
    const copy = frame.slice()
    this.#unacked += copy.byteLength
    this.#port.postMessage(copy.buffer, [copy.buffer])
  }

  onFrame(fn: (frame: Uint8Array) => void): () => void {
    this.#frames.add(fn)
    return () => this.#frames.delete(fn)
  }

  onClose(fn: (reason: string) => void): () => void {
    this.#closes.add(fn)
    return () => this.#closes.delete(fn)
  }

  onDrain(fn: () => void): () => void {
    this.#drains.add(fn)
    return () => this.#drains.delete(fn)
  }

  close(reason = 'closed'): void {
    if (this.#closed) return
    this.#port.postMessage({ close: reason } satisfies PortControl)
    this.#end(reason)
  }

  #end(reason: string): void {
    if (this.#closed) return
    this.#closed = true
    this.#port.close()
    for (const fn of this.#closes) fn(reason)
    this.#closes.clear()
    this.#frames.clear()
    this.#drains.clear()
  }
}

/** A feed id from its hex form, if it is one. */
function feedOf(hex: string): FeedId | undefined {
  const bytes = fromHex(hex)
  return bytes?.length === 32 ? (bytes as FeedId) : undefined
}
