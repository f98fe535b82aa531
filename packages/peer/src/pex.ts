/**
 * Peer exchange on an always-on peer (DESIGN.md, Replication 5): it tells each peer it is
 * connected to where other always-on peers are, and which browsers it can relay signalling to,
 * so a browser served here learns other peers (and keeps them when this one goes) and can open
 * direct WebRTC links to other browsers served here.
 *
 * - What it tells: a PEERS snapshot of at most 16 always-on addresses (its own announced ones
 *   first, then the ones it dials or learned) and at most 16 browsers connected now (no URL: a
 *   browser is reachable only through a neighbour), picked at random, never the receiver itself.
 *   A connection counts as a browser when its WebSocket request carried an `Origin` header
 *   (browsers always send one): only a hint, and a wrong one costs a failed WebRTC attempt.
 * - When: to each connection once it is ready, and to every connection again after the set of
 *   browsers changed, at most once every {@link PEX_EVERY_MS} (receivers take about one PEERS a
 *   second and count more against the sender: a burst of joins and leaves is one round). Only
 *   connections that became ready count as joins and leaves (a failed handshake is neither).
 * - What it learns: addresses in the PEERS it receives (valid `ws:`/`wss:` ones, checked by the
 *   replicator), kept in a bounded set for the caller to dial as it sees fit.
 */
import { type FeedId, isPeerUrl, toHex } from '@murmur/core'
import type { Connection, PeerEntry, Replicator } from '@murmur/replicate'
import type { Local } from './local.js'

/** Options of {@link startPex}. */
export interface PexOptions {
  readonly replicator: Replicator
  /** This peer's own addresses (announced first) and the always-on peers it knows, now. */
  readonly addresses: () => readonly string[]
  /** True for a connection that is a browser (see the design note above). */
  readonly isBrowser: (connection: Connection) => boolean
  /** Called with addresses learned from a peer (already validated by the replicator). */
  readonly onLearn?: (urls: readonly string[], from: FeedId) => void
  /** How long after a change the snapshots go out, at most one round per this (ms, default {@link PEX_EVERY_MS}). */
  readonly debounceMs?: number
  readonly random?: () => number
}

/** The most entries of each kind in one snapshot. */
export const PEX_SNAPSHOT = 16

/** The shortest time between two rounds of snapshots (ms). */
export const PEX_EVERY_MS = 2000

/** Starts peer exchange; returns the function that stops it. */
export function startPex(opts: PexOptions): () => void {
  const random = opts.random ?? Math.random
  let timer: ReturnType<typeof setTimeout> | undefined
  const snapshot = (to: Connection): PeerEntry[] => {
    // Only what a PEERS frame can carry (an address learned elsewhere may not be).
    const urls = [...new Set(opts.addresses())].filter(isPeerUrl).slice(0, 64)
    const browsers: PeerEntry[] = []
    const me = to.remote ? toHex(to.remote) : ''
    for (const c of opts.replicator.connections()) {
      if (c === to || c.state !== 'ready' || !c.remote || toHex(c.remote) === me || !opts.isBrowser(c)) continue
      browsers.push({ feed: c.remote })
    }
    return [
      ...pick(urls, PEX_SNAPSHOT, random).map((url) => ({ feed: ZERO_FEED, url })),
      ...pick(browsers, PEX_SNAPSHOT, random),
    ]
  }
  const tell = (c: Connection) => {
    if (c.state !== 'ready') return
    try {
      c.sendPeers(snapshot(c))
    } catch {
      // An entry the frame refuses: nothing is sent this round (never an exception out of here).
    }
  }
  const tellAll = () => {
    timer = undefined
    for (const c of opts.replicator.connections()) tell(c)
  }
  const off = opts.replicator.subscribe((e) => {
    if (e.type === 'ready') {
      tell(e.connection)
      if (opts.isBrowser(e.connection)) timer ??= setTimeout(tellAll, opts.debounceMs ?? PEX_EVERY_MS)
    } else if (e.type === 'closed') {
      // A connection that never got through its handshake was never in anyone's snapshot.
      if (e.connection.remote && opts.isBrowser(e.connection))
        timer ??= setTimeout(tellAll, opts.debounceMs ?? PEX_EVERY_MS)
    } else if (e.type === 'peers') {
      const urls = e.entries.flatMap((x) => (x.url === undefined ? [] : [x.url]))
      if (urls.length > 0) opts.onLearn?.(urls, e.from)
    }
  })
  return () => {
    off()
    if (timer) clearTimeout(timer)
  }
}

/** The feed of an address entry whose peer's id is not known (all zeros). */
const ZERO_FEED: FeedId = new Uint8Array(32)

/** Up to `n` of `items`, in random order. */
function pick<T>(items: readonly T[], n: number, random: () => number): T[] {
  const a = [...items]
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    ;[a[i], a[j]] = [a[j] as T, a[i] as T]
  }
  return a.slice(0, n)
}

/**
 * Publishes a `peer` message with `urls` (and `stun`) on this peer's own feed, unless its newest
 * `peer` message already says exactly that (so a restart does not append the same announcement
 * again).
 */
export async function announceSelf(
  local: Local,
  urls: readonly string[],
  stun: readonly string[] = [],
): Promise<boolean> {
  let looked = 0
  for await (const m of local.store.messages(local.keys.publicKey, { reverse: true })) {
    // The announcement is among the newest messages unless much was posted since: then once more.
    if (++looked > 1000) break
    if (m.value.type !== 'peer') continue
    const had = m.value.content as { urls?: unknown; stun?: unknown }
    if (sameList(had.urls, urls) && sameList(had.stun ?? [], stun)) return false
    break
  }
  const content = { urls: [...urls], ...(stun.length > 0 ? { stun: [...stun] } : {}) }
  await local.store.publish(local.ed, local.keys, { type: 'peer', content })
  return true
}

function sameList(a: unknown, b: readonly string[]): boolean {
  return Array.isArray(a) && a.length === b.length && a.every((x, i) => x === b[i])
}

/** The STUN URIs of a peer announced at `urls`: `stun:<host>:<port>` for each host, once. */
export function stunUris(urls: readonly string[], port: number): string[] {
  const hosts = new Set(urls.map((u) => new URL(u).hostname))
  return [...hosts].slice(0, 8).map((h) => `stun:${h.includes(':') && !h.startsWith('[') ? `[${h}]` : h}:${port}`)
}
