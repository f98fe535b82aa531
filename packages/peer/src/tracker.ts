/**
 * `murmur serve --tracker`: a WebTorrent-protocol WebSocket tracker on serve's own HTTP(S)
 * server, at /announce, where browsers meet other browsers with no Murmur peer between them
 * (@murmur/web rtc/tracker.ts is the client).
 *
 * How it works
 * - The protocol is the WebTorrent WebSocket tracker's (as the `bittorrent-tracker` package and
 *   the public trackers speak it): an announce with offers gets the swarm's size back, and each
 *   offer goes to a different random peer of the swarm; an announce with an answer goes to the
 *   peer it names. {@link Swarms} is that bookkeeping, nothing more (no HTTP or UDP tracker, no
 *   statistics). It is written here rather than taken from `bittorrent-tracker`, whose package
 *   also pulls in a native WebRTC build for its client side that `npm ci` cannot install offline.
 * - Upgrades to /announce on serve's server go to a `ws` WebSocketServer (`noServer`), so the
 *   tracker shares serve's port and TLS. Any other path is left to the other upgrade handlers
 *   (the /murmur replication listener); a request that no handler took is answered 404 rather
 *   than left hanging.
 * - Each socket passes on nothing but well-formed announces, rebuilt from the fields the
 *   protocol has ({@link cleanAnnounce}).
 * - Not a free relay for anything: only the topics of the network key(s) it was given are
 *   served (browsers of other apps or networks get a failure reason); per socket one peer_id,
 *   a message size cap, a rate limit (a burst, then one message a second; past it the socket is
 *   closed) and a deadline for the first announce; sockets per address and in all are capped;
 *   a swarm keeps its most recently announced peers only; a slow reader's copies are dropped
 *   rather than buffered.
 */
import { createHash } from 'node:crypto'
import type { Server as HttpServer, IncomingMessage } from 'node:http'
import type { Server as HttpsServer } from 'node:https'
import type { Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import { PUBLIC_NETWORK_KEY } from '@murmur/replicate'
import { type WebSocket, WebSocketServer } from 'ws'

/** The `serve` options of the tracker. */
export const TRACKER_OPTIONS = {
  tracker: { type: 'boolean' },
} as const

/** The usage of {@link TRACKER_OPTIONS}. */
export const TRACKER_USAGE = '[--tracker]'

/** Where the tracker listens on serve's server. */
export const TRACKER_PATH = '/announce'

/** Options of {@link attachTracker}. */
export interface TrackerOptions {
  /** The path of the tracker's WebSocket (default {@link TRACKER_PATH}). */
  readonly path?: string
  /** Network keys whose browsers may meet here (default Murmur's public one). */
  readonly networkKeys?: readonly Uint8Array[]
  /** Most peers in one swarm (default 500). */
  readonly maxSwarm?: number
  /** Most sockets at once (default 1024) and from one address (default 8). */
  readonly maxConnections?: number
  readonly maxPerAddress?: number
  /** Largest message (bytes, default 64 KiB). */
  readonly maxMessageBytes?: number
  /** Messages a socket may send in a burst (default 30), then one per `refillMs` (default 1000). */
  readonly burst?: number
  readonly refillMs?: number
  /** How long a socket may stay without announcing (ms, default 30 s). */
  readonly firstAnnounceMs?: number
  /** The announce interval told to browsers (ms, default 2 min). */
  readonly announceIntervalMs?: number
}

/** What a status view shows of the tracker. */
export interface TrackerStatus {
  readonly path: string
  readonly connections: number
  /** Peers per swarm (info_hash in hex). */
  readonly swarms: Record<string, number>
  /** Messages dropped as malformed, sockets closed for their rate, upgrades refused for a cap. */
  readonly malformed: number
  readonly rateLimited: number
  readonly refused: number
}

/** A tracker attached to a server. */
export interface AttachedTracker {
  /** Detaches from the server and closes every tracker socket. */
  close(): Promise<void>
  status(): TrackerStatus
}

/**
 * The info_hash under which browsers of a network meet on trackers: the first 20 bytes of
 * sha-256("murmur/tracker/v1" ‖ network key), hex. The same derivation as @murmur/web's
 * `trackerTopic` (rtc/protocol.ts); a test holds the two together.
 */
export function trackerTopic(networkKey: Uint8Array): string {
  return createHash('sha256').update('murmur/tracker/v1').update(networkKey).digest().subarray(0, 20).toString('hex')
}

const WS_OPEN = 1
const LOOPBACK = /^(127\.|::1$|::ffff:127\.)/
/** Copies to one socket beyond this much buffered are dropped (a slow or stalled reader). */
const MAX_BUFFERED = 1024 * 1024
const MAX_SDP = 16_384
const EVENTS = new Set(['started', 'stopped', 'completed', 'update', 'paused'])

/**
 * Runs a WebSocket tracker on `server`, on upgrades to `opts.path`; returns the handle that
 * detaches it. The server's own requests and other upgrade paths are untouched.
 */
export function attachTracker(server: HttpServer | HttpsServer, opts: TrackerOptions = {}): AttachedTracker {
  const path = opts.path ?? TRACKER_PATH
  const maxConnections = opts.maxConnections ?? 1024
  const maxPerAddress = opts.maxPerAddress ?? 8
  const maxMessage = opts.maxMessageBytes ?? 64 * 1024
  const topics = new Set((opts.networkKeys ?? [PUBLIC_NETWORK_KEY]).map(trackerTopic))
  const wss = new WebSocketServer({ noServer: true, maxPayload: maxMessage, perMessageDeflate: false })
  const swarms = new Swarms({
    topics,
    maxSwarm: opts.maxSwarm ?? 500,
    intervalS: Math.round((opts.announceIntervalMs ?? 120_000) / 1000),
  })
  const counts = { malformed: 0, rateLimited: 0, refused: 0 }
  const sockets = new Set<TrackerSocket>()
  const perAddress = new Map<string, number>()
  let closing = false

  const accept = (ws: WebSocket, req: IncomingMessage) => {
    const address = req.socket.remoteAddress ?? 'unknown'
    // Loopback is exempt from the per-address cap: behind a TLS proxy on the same machine every
    // socket comes from there (as the mesh and the replication listener treat it).
    const loopback = LOOPBACK.test(address)
    if (closing || sockets.size >= maxConnections || (!loopback && (perAddress.get(address) ?? 0) >= maxPerAddress)) {
      counts.refused++
      ws.on('error', () => undefined)
      ws.close(1013, 'too many connections; try again later')
      return
    }
    perAddress.set(address, (perAddress.get(address) ?? 0) + 1)
    const socket = new TrackerSocket(ws, opts, counts, {
      announce: (msg) => swarms.announce(socket, msg),
      closed: () => {
        swarms.leave(socket)
        sockets.delete(socket)
        const n = (perAddress.get(address) ?? 1) - 1
        if (n === 0) perAddress.delete(address)
        else perAddress.set(address, n)
      },
    })
    sockets.add(socket)
  }

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (pathOf(req.url) !== path) {
      if (server.listenerCount('upgrade') === 1) refuse(socket, 404, 'Not Found')
      // Another handler may own that path: if none took it by the next turn, answer for it.
      else setImmediate(() => untouched(socket) && refuse(socket, 404, 'Not Found'))
      return
    }
    if (closing) {
      refuse(socket, 503, 'Service Unavailable')
      return
    }
    wss.handleUpgrade(req, socket, head, (ws) => accept(ws, req))
  }
  server.on('upgrade', onUpgrade)

  return {
    async close() {
      if (closing) return
      closing = true
      server.off('upgrade', onUpgrade)
      const ended = [...sockets].map((s) => s.ended)
      for (const s of sockets) s.close(1001, 'the tracker is shutting down')
      const cut = setTimeout(() => {
        for (const s of sockets) s.terminate()
      }, 1000)
      await Promise.all(ended)
      clearTimeout(cut)
      await new Promise<void>((resolve) => wss.close(() => resolve()))
    },
    status() {
      return { path, connections: sockets.size, swarms: swarms.sizes(), ...counts }
    },
  }
}

/**
 * The swarms: per topic (info_hash) its peers by peer_id, most recently announced last. An
 * announce with offers is answered with the swarm's size, and its offers go to as many other
 * peers, picked at random; an announce with an answer goes only to the peer it names.
 */
class Swarms {
  readonly #swarms = new Map<string, Map<string, TrackerSocket>>()
  readonly #opts: { topics: ReadonlySet<string>; maxSwarm: number; intervalS: number }

  constructor(opts: { topics: ReadonlySet<string>; maxSwarm: number; intervalS: number }) {
    this.#opts = opts
  }

  announce(from: TrackerSocket, m: Announce): void {
    const hashHex = Buffer.from(m.info_hash, 'latin1').toString('hex')
    if (!this.#opts.topics.has(hashHex)) {
      from.send({
        action: 'announce',
        info_hash: m.info_hash,
        'failure reason': 'this tracker serves only Murmur browsers of its network',
      })
      return
    }
    const swarm = this.#swarms.get(hashHex) ?? new Map<string, TrackerSocket>()
    this.#swarms.set(hashHex, swarm)
    if (m.event === 'stopped') {
      if (swarm.get(m.peer_id) === from) swarm.delete(m.peer_id)
      if (swarm.size === 0) this.#swarms.delete(hashHex)
      return
    }
    // Most recently announced last; the swarm keeps its newest peers only.
    swarm.delete(m.peer_id)
    swarm.set(m.peer_id, from)
    from.joined.add(hashHex)
    for (const [id, s] of swarm) {
      if (swarm.size <= this.#opts.maxSwarm) break
      swarm.delete(id)
      s.joined.delete(hashHex)
    }
    if (m.answer !== undefined) {
      swarm.get(m.to_peer_id as string)?.send({
        action: 'announce',
        info_hash: m.info_hash,
        peer_id: m.peer_id,
        offer_id: m.offer_id,
        answer: m.answer,
      })
      return
    }
    from.send({
      action: 'announce',
      info_hash: m.info_hash,
      interval: this.#opts.intervalS,
      complete: 0,
      incomplete: swarm.size,
    })
    const offers = (m.offers ?? []) as { offer: unknown; offer_id: string }[]
    const others = shuffled([...swarm].filter(([id]) => id !== m.peer_id).map(([, s]) => s))
    for (const [i, o] of offers.entries()) {
      others[i]?.send({
        action: 'announce',
        info_hash: m.info_hash,
        peer_id: m.peer_id,
        offer_id: o.offer_id,
        offer: o.offer,
      })
    }
  }

  /** Removes a closed socket from every swarm it was in. */
  leave(socket: TrackerSocket): void {
    for (const hashHex of socket.joined) {
      const swarm = this.#swarms.get(hashHex)
      if (!swarm) continue
      for (const [id, s] of swarm) if (s === socket) swarm.delete(id)
      if (swarm.size === 0) this.#swarms.delete(hashHex)
    }
    socket.joined.clear()
  }

  sizes(): Record<string, number> {
    const out: Record<string, number> = {}
    for (const [hash, swarm] of this.#swarms) out[hash] = swarm.size
    return out
  }
}

function shuffled<T>(a: T[]): T[] {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1))
    ;[a[i], a[j]] = [a[j] as T, a[i] as T]
  }
  return a
}

/**
 * One client's socket: hands on only well-formed announces, rebuilt from their known fields;
 * enforces the per-socket limits; drops copies a slow reader cannot take.
 */
class TrackerSocket {
  /** The swarms (info_hash hex) this socket announced in. */
  readonly joined = new Set<string>()
  /** Settles when the socket has closed. */
  readonly ended: Promise<void>
  readonly #ws: WebSocket
  readonly #counts: { malformed: number; rateLimited: number }
  readonly #on: { announce(m: Announce): void; closed(): void }
  readonly #burst: number
  readonly #refillMs: number
  readonly #maxMessage: number
  #tokens: number
  #refilled = Date.now()
  #peerId: string | undefined
  #deadline: ReturnType<typeof setTimeout>
  #limited = false

  constructor(
    ws: WebSocket,
    opts: TrackerOptions,
    counts: { malformed: number; rateLimited: number },
    on: { announce(m: Announce): void; closed(): void },
  ) {
    this.#ws = ws
    this.#counts = counts
    this.#on = on
    this.#burst = opts.burst ?? 30
    this.#tokens = this.#burst
    this.#refillMs = opts.refillMs ?? 1000
    this.#maxMessage = opts.maxMessageBytes ?? 64 * 1024
    this.#deadline = setTimeout(() => this.close(1008, 'announce first'), opts.firstAnnounceMs ?? 30_000)
    ws.on('message', (data: Buffer, isBinary: boolean) => this.#onMessage(data, isBinary))
    ws.on('error', () => undefined) // a reset or an oversized frame; `close` follows
    this.ended = new Promise((resolve) =>
      ws.once('close', () => {
        clearTimeout(this.#deadline)
        on.closed()
        resolve()
      }),
    )
  }

  send(message: object): void {
    if (this.#ws.readyState === WS_OPEN && this.#ws.bufferedAmount < MAX_BUFFERED)
      this.#ws.send(JSON.stringify(message))
  }

  close(code: number, reason: string): void {
    if (this.#ws.readyState === WS_OPEN) this.#ws.close(code, reason)
  }

  terminate(): void {
    this.#ws.terminate()
  }

  #onMessage(data: Buffer, isBinary: boolean): void {
    const now = Date.now()
    this.#tokens = Math.min(this.#burst, this.#tokens + (now - this.#refilled) / this.#refillMs)
    this.#refilled = now
    if (this.#limited) return
    if (this.#tokens < 1) {
      this.#limited = true
      this.#counts.rateLimited++
      this.close(1008, 'too many messages')
      return
    }
    this.#tokens--
    const msg = isBinary || data.length > this.#maxMessage ? undefined : cleanAnnounce(data.toString('utf8'))
    // One peer_id per socket: a socket cannot stand in the swarm as several browsers.
    if (!msg || (this.#peerId !== undefined && msg.peer_id !== this.#peerId)) {
      this.#counts.malformed++
      return
    }
    this.#peerId = msg.peer_id
    clearTimeout(this.#deadline)
    this.#on.announce(msg)
  }
}

/** A client's announce, as {@link cleanAnnounce} passes it on. */
export interface Announce {
  readonly action: 'announce'
  readonly info_hash: string
  readonly peer_id: string
  readonly [field: string]: unknown
}

/** A WebTorrent announce with only the fields the protocol has, or undefined when malformed. */
export function cleanAnnounce(text: string): Announce | undefined {
  let v: unknown
  try {
    v = JSON.parse(text)
  } catch {
    return undefined
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined
  const m = v as Record<string, unknown>
  if (m.action !== 'announce' || !isBinary(m.info_hash, 20, 20) || !isBinary(m.peer_id, 20, 20)) return undefined
  const out: { -readonly [K in keyof Announce]: Announce[K] } = {
    action: 'announce',
    info_hash: m.info_hash,
    peer_id: m.peer_id,
  }
  if (m.event !== undefined) {
    if (typeof m.event !== 'string' || !EVENTS.has(m.event)) return undefined
    out.event = m.event
  }
  if (m.answer !== undefined) {
    if (!isDescription(m.answer, 'answer') || !isBinary(m.to_peer_id, 20, 20) || !isBinary(m.offer_id, 1, 64))
      return undefined
    return { ...out, to_peer_id: m.to_peer_id, offer_id: m.offer_id, answer: { type: 'answer', sdp: m.answer.sdp } }
  }
  if (m.offers !== undefined) {
    if (!Array.isArray(m.offers) || m.offers.length > 10) return undefined
    const offers: { offer: { type: 'offer'; sdp: string }; offer_id: string }[] = []
    for (const o of m.offers as unknown[]) {
      if (typeof o !== 'object' || o === null) return undefined
      const { offer, offer_id } = o as Record<string, unknown>
      if (!isDescription(offer, 'offer') || !isBinary(offer_id, 1, 64)) return undefined
      offers.push({ offer: { type: 'offer', sdp: offer.sdp }, offer_id })
    }
    out.offers = offers
  }
  return out
}

function isDescription(d: unknown, type: 'offer' | 'answer'): d is { type: string; sdp: string } {
  if (typeof d !== 'object' || d === null) return false
  const { type: t, sdp } = d as Record<string, unknown>
  return t === type && typeof sdp === 'string' && sdp.length > 0 && sdp.length <= MAX_SDP
}

/** True for a string of `min` to `max` characters, each one byte (the protocol's binary strings). */
function isBinary(s: unknown, min: number, max: number): s is string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: binary strings hold any byte
  return typeof s === 'string' && s.length >= min && s.length <= max && /^[\x00-\xff]*$/.test(s)
}

function pathOf(url: string | undefined): string {
  const u = url ?? '/'
  const q = u.indexOf('?')
  return q === -1 ? u : u.slice(0, q)
}

/** True while nobody wrote to or closed an upgrade's socket. */
function untouched(socket: Duplex): boolean {
  return !socket.destroyed && !socket.writableEnded && ((socket as Socket).bytesWritten ?? 0) === 0
}

function refuse(socket: Duplex, status: number, text: string): void {
  socket.on('error', () => undefined)
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`)
}
