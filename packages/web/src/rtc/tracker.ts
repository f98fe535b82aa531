/**
 * Meeting other browsers with no Murmur peer at all: the page's client of WebTorrent-protocol
 * WebSocket trackers (public ones, or the one `murmur serve --tracker` runs).
 *
 * How it works
 * - The protocol is JSON over a WebSocket, as WebTorrent speaks it. We announce under
 *   `info_hash` = the config's topic (20 bytes derived from the network key, protocol.ts
 *   `trackerTopic`) with a `peer_id` drawn at random on every start, so nothing about the
 *   person is in either. Each announce carries a few WebRTC offers, not trickled: each waits for
 *   its ICE candidates, with a bound. The tracker forwards each offer to one other browser of the
 *   swarm (`{offer, offer_id, peer_id}`), which answers through the tracker (`to_peer_id`,
 *   `offer_id`), and the two connect directly.
 * - Trust: the tracker sees and could swap every description. It still cannot sit in the
 *   middle: each open channel goes to the worker with both DTLS fingerprints bound into the
 *   replication handshake (page.ts `handOver`), and who the other browser is comes out of that
 *   handshake (the worker drops links to itself and duplicates). What a tracker can do is waste
 *   effort, so that is bounded: links made through trackers are capped (shared by all trackers),
 *   offers expire, a browser whose link closed is left alone for a while, our own peer_id is
 *   ignored, and malformed messages are counted and ignored (never thrown).
 * - Timing: re-announce at the tracker's interval, clamped to [30 s, 10 min]; after a lost
 *   connection reconnect with exponential backoff and jitter (2 s up to 5 min).
 */
import { MAX_SIGNAL_BYTES } from './protocol.js'

/** Options of {@link startTrackers}. */
export interface TrackerOptions {
  /** The trackers' WebSocket URLs (ws:// or wss://). */
  readonly urls: readonly string[]
  /** The info_hash to meet under: 20 bytes in hex. */
  readonly topic: string
  readonly iceServers: readonly RTCIceServer[]
  /** The local description once ICE gathering is done (bounded): page.ts `gathered`. */
  gather(pc: RTCPeerConnection): Promise<string>
  /**
   * Hands an open data channel to the worker (page.ts `handOver`, with no `remote`); `closed`
   * runs when the channel closes. False when it could not (the connection is then closed).
   */
  open(pc: RTCPeerConnection, dc: RTCDataChannel, initiator: boolean, closed: () => void): boolean
  /** Offers per announce (default 3). */
  readonly offers?: number
  /** Most links made through trackers, being made or open (default 4). */
  readonly maxLinks?: number
  /** How long an offer waits for its answer (ms, default 50 s). */
  readonly offerTtlMs?: number
  /** How long a connection may take to open (ms, default 20 s). */
  readonly openTimeoutMs?: number
  /** Bounds of the re-announce interval (ms, default 30 s and 10 min). */
  readonly minIntervalMs?: number
  readonly maxIntervalMs?: number
  /** Bounds of the reconnect backoff (ms, default 2 s and 5 min). */
  readonly retryMinMs?: number
  readonly retryMaxMs?: number
  /** How long a browser whose link closed is left alone (ms, default 60 s). */
  readonly cooldownMs?: number
  readonly random?: () => number
}

/** One tracker as {@link TrackerClient.status} shows it. */
export interface TrackerStatus {
  readonly url: string
  readonly state: 'connecting' | 'open' | 'waiting' | 'failed'
  readonly announces: number
  /** Messages from the tracker that were ignored as malformed. */
  readonly malformed: number
  /** The tracker's last `failure reason`. */
  readonly failure?: string
}

/** Running tracker clients. */
export interface TrackerClient {
  /** Says `stopped` to every tracker, closes the sockets and every connection made here. */
  stop(): void
  status(): { trackers: TrackerStatus[]; links: number; offers: number }
}

/** The largest tracker message we read (characters of JSON). */
const MAX_MESSAGE = 64 * 1024
/** The re-announce interval until a tracker names one (the websocket tracker's default). */
const DEFAULT_INTERVAL_MS = 120_000

interface Conn {
  readonly url: string
  ws: WebSocket | undefined
  state: TrackerStatus['state']
  retries: number
  intervalMs: number
  timer: ReturnType<typeof setTimeout> | undefined
  announces: number
  malformed: number
  failure: string | undefined
}

interface Pending {
  readonly conn: Conn
  readonly pc: RTCPeerConnection
  readonly dc: RTCDataChannel
  readonly timer: ReturnType<typeof setTimeout>
}

interface Link {
  readonly peer: string
  readonly pc: RTCPeerConnection
  readonly initiator: boolean
  opened: boolean
  timer: ReturnType<typeof setTimeout>
}

/**
 * Announces on every tracker of `opts.urls` and links with the browsers met there.
 * @throws {TypeError} when `topic` is not 20 bytes of hex.
 */
export function startTrackers(opts: TrackerOptions): TrackerClient {
  const infoHash = hexToBinary(opts.topic)
  if (infoHash?.length !== 20) throw new TypeError('the tracker topic must be 20 bytes in hex')
  const random = opts.random ?? Math.random
  const perAnnounce = opts.offers ?? 3
  const maxLinks = opts.maxLinks ?? 4
  const offerTtl = opts.offerTtlMs ?? 50_000
  const openMs = opts.openTimeoutMs ?? 20_000
  const minInterval = opts.minIntervalMs ?? 30_000
  const maxInterval = opts.maxIntervalMs ?? 600_000
  const cooldownMs = opts.cooldownMs ?? 60_000
  const maxPending = perAnnounce * opts.urls.length * 2
  const peerId = randomBinary(20)
  const pending = new Map<string, Pending>()
  const links = new Map<string, Link>()
  const cooling = new Map<string, number>()
  let stopped = false

  const newPc = () => new RTCPeerConnection({ iceServers: [...opts.iceServers] })
  const send = (conn: Conn, msg: Record<string, unknown>) => {
    if (conn.ws?.readyState === WebSocket.OPEN) conn.ws.send(JSON.stringify(msg))
  }
  const unwelcome = (peer: string) =>
    peer === peerId || links.has(peer) || (cooling.get(peer) ?? 0) > Date.now() || links.size >= maxLinks

  const forget = (offerId: string, close: boolean) => {
    const p = pending.get(offerId)
    if (!p) return undefined
    pending.delete(offerId)
    clearTimeout(p.timer)
    if (close) p.pc.close()
    return p
  }

  const drop = (link: Link) => {
    if (links.get(link.peer) !== link) return
    links.delete(link.peer)
    clearTimeout(link.timer)
    link.pc.close()
    if (stopped) return
    const now = Date.now()
    for (const [peer, until] of cooling) if (until <= now) cooling.delete(peer)
    if (cooling.size < 256) cooling.set(link.peer, now + cooldownMs)
  }

  const newLink = (peer: string, pc: RTCPeerConnection, initiator: boolean): Link => {
    const link: Link = { peer, pc, initiator, opened: false, timer: setTimeout(() => drop(link), openMs) }
    links.set(peer, link)
    pc.addEventListener('connectionstatechange', () => {
      if (pc.connectionState === 'failed' || pc.connectionState === 'closed') drop(link)
    })
    return link
  }

  const wire = (link: Link, dc: RTCDataChannel) => {
    dc.binaryType = 'arraybuffer'
    const open = () => {
      if (links.get(link.peer) !== link || link.opened) {
        dc.close()
        return
      }
      if (!opts.open(link.pc, dc, link.initiator, () => drop(link))) {
        drop(link)
        return
      }
      link.opened = true
      clearTimeout(link.timer)
    }
    if (dc.readyState === 'open') open()
    else dc.addEventListener('open', open, { once: true })
  }

  const makeOffer = async (conn: Conn): Promise<{ offer: RTCSessionDescriptionInit; offer_id: string } | undefined> => {
    const pc = newPc()
    const dc = pc.createDataChannel('murmur', { ordered: true })
    const offerId = randomBinary(20)
    pending.set(offerId, { conn, pc, dc, timer: setTimeout(() => forget(offerId, true), offerTtl) })
    try {
      await pc.setLocalDescription()
      const sdp = await opts.gather(pc)
      return pending.has(offerId) ? { offer: { type: 'offer', sdp }, offer_id: offerId } : undefined
    } catch {
      forget(offerId, true)
      return undefined
    }
  }

  const announce = async (conn: Conn, event?: 'started') => {
    clearTimeout(conn.timer)
    conn.timer = undefined
    const ws = conn.ws
    if (stopped || ws?.readyState !== WebSocket.OPEN) return
    const n = Math.max(0, Math.min(perAnnounce, maxLinks - links.size, maxPending - pending.size))
    const made = await Promise.all(Array.from({ length: n }, () => makeOffer(conn)))
    const offers = made.filter((o) => o !== undefined)
    if (stopped || conn.ws !== ws || ws.readyState !== WebSocket.OPEN) {
      for (const o of offers) forget(o.offer_id, true)
      return
    }
    conn.announces++
    send(conn, {
      action: 'announce',
      info_hash: infoHash,
      peer_id: peerId,
      numwant: offers.length,
      offers,
      ...(event ? { event } : {}),
    })
    schedule(conn)
  }

  const schedule = (conn: Conn) => {
    clearTimeout(conn.timer)
    conn.timer = setTimeout(() => void announce(conn), conn.intervalMs)
  }

  const onOffer = async (conn: Conn, from: string, offerId: string, sdp: string) => {
    if (unwelcome(from)) return
    const pc = newPc()
    const link = newLink(from, pc, false)
    pc.addEventListener('datachannel', (ev) => wire(link, ev.channel))
    try {
      await pc.setRemoteDescription({ type: 'offer', sdp })
      await pc.setLocalDescription()
      const answer = await opts.gather(pc)
      if (links.get(from) !== link) return
      send(conn, {
        action: 'announce',
        info_hash: infoHash,
        peer_id: peerId,
        to_peer_id: from,
        offer_id: offerId,
        answer: { type: 'answer', sdp: answer },
      })
    } catch {
      drop(link)
    }
  }

  const onAnswer = async (conn: Conn, from: string, offerId: string, sdp: string) => {
    const p = pending.get(offerId)
    if (!p || p.conn !== conn) return
    // The tracker gave this offer to `from` alone: used or not, it is spent.
    if (unwelcome(from)) {
      forget(offerId, true)
      return
    }
    forget(offerId, false)
    const link = newLink(from, p.pc, true)
    wire(link, p.dc)
    try {
      await p.pc.setRemoteDescription({ type: 'answer', sdp })
    } catch {
      drop(link)
    }
  }

  const onMessage = (conn: Conn, data: unknown) => {
    const m = parseMessage(data, infoHash)
    if (m === undefined) {
      conn.malformed++
      return
    }
    if (m.failure !== undefined) conn.failure = m.failure.slice(0, 200)
    if (m.interval !== undefined) {
      const ms = Math.min(maxInterval, Math.max(minInterval, m.interval * 1000))
      if (ms !== conn.intervalMs) {
        conn.intervalMs = ms
        if (conn.timer !== undefined) schedule(conn)
      }
    }
    if (m.from === undefined || m.from === peerId) return // our own, echoed
    if (m.offer !== undefined) void onOffer(conn, m.from, m.offer.id, m.offer.sdp)
    else if (m.answer !== undefined) void onAnswer(conn, m.from, m.answer.id, m.answer.sdp)
  }

  const connect = (conn: Conn) => {
    if (stopped) return
    let ws: WebSocket
    try {
      ws = new WebSocket(conn.url)
    } catch {
      conn.state = 'failed' // not a WebSocket URL: it never will be
      return
    }
    conn.ws = ws
    conn.state = 'connecting'
    ws.addEventListener('open', () => {
      if (conn.ws !== ws) return
      conn.state = 'open'
      conn.retries = 0
      void announce(conn, 'started')
    })
    ws.addEventListener('message', (ev) => {
      if (conn.ws === ws) onMessage(conn, ev.data)
    })
    ws.addEventListener('close', () => {
      if (conn.ws !== ws) return
      conn.ws = undefined
      clearTimeout(conn.timer)
      if (stopped) return
      conn.state = 'waiting'
      const base = Math.min(opts.retryMaxMs ?? 300_000, (opts.retryMinMs ?? 2000) * 2 ** conn.retries)
      conn.retries = Math.min(conn.retries + 1, 20)
      conn.timer = setTimeout(() => connect(conn), base * (0.5 + random() / 2))
    })
  }

  const conns: Conn[] = [...new Set(opts.urls)].map((url) => ({
    url,
    ws: undefined,
    state: 'connecting',
    retries: 0,
    intervalMs: Math.min(maxInterval, Math.max(minInterval, DEFAULT_INTERVAL_MS)),
    timer: undefined,
    announces: 0,
    malformed: 0,
    failure: undefined,
  }))
  for (const conn of conns) connect(conn)

  return {
    stop() {
      if (stopped) return
      stopped = true
      for (const conn of conns) {
        clearTimeout(conn.timer)
        send(conn, { action: 'announce', info_hash: infoHash, peer_id: peerId, numwant: 0, event: 'stopped' })
        conn.ws?.close(1000)
        conn.ws = undefined
      }
      for (const offerId of [...pending.keys()]) forget(offerId, true)
      for (const link of [...links.values()]) drop(link)
    },
    status() {
      return {
        trackers: conns.map((c) => ({
          url: c.url,
          state: c.state,
          announces: c.announces,
          malformed: c.malformed,
          ...(c.failure === undefined ? {} : { failure: c.failure }),
        })),
        links: links.size,
        offers: pending.size,
      }
    },
  }
}

/** A tracker message, reduced to what we use. */
interface TrackerMessage {
  readonly from?: string
  readonly interval?: number
  readonly failure?: string
  readonly offer?: { readonly id: string; readonly sdp: string }
  readonly answer?: { readonly id: string; readonly sdp: string }
}

/**
 * Reads a message from a tracker; undefined when it is malformed: not JSON, not an announce of
 * our info_hash, or an offer or answer without the fields it needs.
 */
export function parseMessage(data: unknown, infoHash: string): TrackerMessage | undefined {
  if (typeof data !== 'string' || data.length > MAX_MESSAGE) return undefined
  let v: unknown
  try {
    v = JSON.parse(data)
  } catch {
    return undefined
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined
  const m = v as Record<string, unknown>
  if (m.action !== 'announce' || m.info_hash !== infoHash) return undefined
  const failure = typeof m['failure reason'] === 'string' ? m['failure reason'] : undefined
  const interval =
    typeof m.interval === 'number' && Number.isFinite(m.interval) && m.interval > 0 ? m.interval : undefined
  const from = m.peer_id === undefined ? undefined : isBinary(m.peer_id, 20, 20) ? m.peer_id : null
  if (from === null) return undefined
  const out = { ...(from ? { from } : {}), ...(interval ? { interval } : {}), ...(failure ? { failure } : {}) }
  for (const kind of ['offer', 'answer'] as const) {
    const d = m[kind]
    if (d === undefined) continue
    if (typeof d !== 'object' || d === null || from === undefined || !isBinary(m.offer_id, 1, 64)) return undefined
    const { type, sdp } = d as Record<string, unknown>
    if (type !== kind || typeof sdp !== 'string' || sdp.length === 0 || sdp.length > MAX_SIGNAL_BYTES) return undefined
    return { ...out, [kind]: { id: m.offer_id, sdp } }
  }
  return out
}

/** True for a string of `min` to `max` characters, each one byte (the protocol's binary strings). */
function isBinary(s: unknown, min: number, max: number): s is string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: binary strings hold any byte
  return typeof s === 'string' && s.length >= min && s.length <= max && /^[\x00-\xff]*$/.test(s)
}

/** Hex to a binary string (one character per byte); undefined for anything but even-length hex. */
function hexToBinary(hex: string): string | undefined {
  if (typeof hex !== 'string' || !/^(?:[0-9a-fA-F]{2})*$/.test(hex)) return undefined
  let out = ''
  for (let i = 0; i < hex.length; i += 2) out += String.fromCharCode(Number.parseInt(hex.slice(i, i + 2), 16))
  return out
}

function randomBinary(n: number): string {
  return String.fromCharCode(...crypto.getRandomValues(new Uint8Array(n)))
}
