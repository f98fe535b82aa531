/**
 * The connection manager ("mesh"): which peers to be connected to. Transport-agnostic and
 * browser-safe: it dials through a function it is given, and takes its clock, randomness and
 * timers as options, so Node's `serve` and the browser engine can share it and tests can run it
 * on a fake clock.
 *
 * How it works
 * ------------
 * - **Address book.** Known peers `{ url, feed?, source, lastSeen, failures }`, fed by
 *   {@link Mesh.learn}: `configured` ones (the person gave them) and `learned` ones (peer
 *   messages, peer exchange, a DHT). At most `maxKnown` learned ones: when full, the learned
 *   entry that is idle, not banned, failed most and was seen longest ago makes room. Configured
 *   entries are never evicted.
 * - **Outbound.** Every configured address is kept connected (no target, no rate limit, no
 *   address filter: the person chose it). Learned addresses fill up to `target` outbound
 *   connections (configured ones count), each pick at random among the eligible ones, so that
 *   who a peer connects to cannot be steered by the order or the number of announcements and
 *   the network does not converge on a few hubs; never a full mesh. Learned dials (retries
 *   included) take a token from a bucket (`learnedDialsPerSecond`, `learnedDialBurst`), so an
 *   address book stuffed with dead addresses cannot turn a peer into a port scanner, and
 *   private, loopback and local addresses are never dialled unless `allowPrivate` (see
 *   address.ts: otherwise anyone could announce `ws://192.168.1.1/` and make every peer probe
 *   its own network).
 * - **Limits.** At most `maxConnections` in all (inbound included, with `target` slots kept for
 *   outbound so inbound connections cannot crowd out the peers this one chose: an eclipse
 *   attacker has to be picked, not just connect), and at most `maxPerAddress` from or to one
 *   host (IP or name; loopback exempt, since a TLS proxy on the same machine makes every
 *   inbound connection come from 127.0.0.1, and local tests run many peers there). The caller
 *   asks {@link Mesh.inbound} before it accepts a connection.
 * - **Failures.** A dial that fails, or a connection that ends before `stableAfterMs`, counts a
 *   failure; the address then waits min(max, minDelayMs · 2^(n-1)) less a random half of it
 *   ("equal jitter", as the Redialer; learned ones up to `learnedMaxDelayMs`). A connection that
 *   lasted resets the count. A misbehaving peer (the caller says so, or the link's `closed`
 *   resolves to `{ misbehaved: true }`) is banned for `banMs`. Whenever a connection ends, a
 *   replacement is picked at random to get back to `target`.
 *
 * Everything happens in {@link Mesh.learn}, {@link Mesh.closed}, dial results and one timer
 * (the earliest retry or token), so {@link Mesh.close} only has to clear that timer, abort the
 * dials in flight and close the links.
 */
import { MurmurError } from '@murmur/core'
import { hostKey, hostScope } from './address.js'

/** Who told us of an address: the person (`configured`) or the network (`learned`). */
export type PeerSource = 'configured' | 'learned'

/** An entry of the address book. */
export interface KnownPeer {
  /** The WebSocket URL, normalized (`new URL(url).href`). */
  readonly url: string
  /** The feed that announced it or answered there (text form), when known; for display. */
  readonly feed: string | undefined
  readonly source: PeerSource
  /** When it was last announced or connected (`now()` time, ms). */
  readonly lastSeen: number
  /** Failures in a row: dials that failed and connections that ended before they were stable. */
  readonly failures: number
}

/** An address to {@link Mesh.learn}: a URL, or a URL with what is known of it. */
export type PeerAddress = string | { url: string; feed?: string; lastSeen?: number }

/**
 * An open outbound connection, as the mesh sees it: it only needs to know when it ends and how
 * to end it.
 */
export interface MeshLink {
  /**
   * Settles when the connection has ended, however it ended. When it resolves to an object
   * with `misbehaved: true` (e.g. the replicator disconnected the peer for invalid data) the
   * peer is banned, as with {@link Mesh.closed}.
   */
  readonly closed: Promise<unknown>
  /** Ends the connection (the mesh then waits for `closed`; it never calls this twice). */
  close(reason: string): void
}

/**
 * Opens a connection to `url` (rejecting when it cannot) and hands it to whoever uses it (the
 * replicator). `signal` aborts it when the mesh closes or forgets the address.
 */
export type MeshDial = (url: string, signal: AbortSignal) => Promise<MeshLink>

/** Timers, as `globalThis` has them (tests pass a fake clock's). */
export interface MeshTimers {
  setTimeout(fn: () => void, ms: number): unknown
  clearTimeout(handle: unknown): void
}

/** Options of {@link Mesh}. */
export interface MeshOptions {
  /** Opens outbound connections. */
  dial: MeshDial
  /** Outbound connections to keep (configured ones count; default 6). */
  target?: number
  /** Most connections at once, inbound and outbound (default 32; at least `target`). */
  maxConnections?: number
  /** Most connections at once from or to one host, loopback exempt (default 4). */
  maxPerAddress?: number
  /** Most learned addresses kept (default 500). */
  maxKnown?: number
  /** Dial learned private, loopback and local addresses too (default false; tests set it). */
  allowPrivate?: boolean
  /** New dials to learned addresses per second, on average (default 1). */
  learnedDialsPerSecond?: number
  /** Learned dials that may go at once after a quiet time (default 3). */
  learnedDialBurst?: number
  /** First wait after a failure (ms, default 500). */
  minDelayMs?: number
  /** Longest wait for a configured address (ms, default 30 s). */
  maxDelayMs?: number
  /** Longest wait for a learned address (ms, default 10 min). */
  learnedMaxDelayMs?: number
  /** A connection that lasted this long resets the failure count (ms, default 10 s). */
  stableAfterMs?: number
  /** How long a misbehaving peer's address is not dialled (ms, default 1 h). */
  banMs?: number
  /** The clock (ms; default `Date.now`). */
  now?: () => number
  /** Random numbers in [0, 1) for picks and jitter (default `Math.random`). */
  random?: () => number
  /** Timers (default the global ones). */
  timers?: MeshTimers
}

/** Where an address of the book is. */
export type MeshPeerState = 'idle' | 'dialling' | 'open' | 'waiting' | 'banned'

/** One address in {@link MeshStatus}. */
export interface MeshPeerStatus extends KnownPeer {
  readonly state: MeshPeerState
  /** While `waiting`: when it may be dialled again. */
  readonly retryAt: number | undefined
  /** While `banned`: until when. */
  readonly bannedUntil: number | undefined
  /** Why the last dial failed or the last connection ended. */
  readonly lastError: string | undefined
}

/** A snapshot of a {@link Mesh}, for display. */
export interface MeshStatus {
  /** Addresses in the book. */
  readonly known: number
  /** Outbound connections open. */
  readonly outbound: number
  /** Outbound dials in flight. */
  readonly dialling: number
  /** Inbound connections the caller reported. */
  readonly inbound: number
  /** Addresses waiting out a backoff. */
  readonly backingOff: number
  readonly banned: number
  readonly peers: readonly MeshPeerStatus[]
}

interface Entry {
  readonly url: string
  /** {@link hostKey} of its host, for the per-address limit. */
  readonly host: string
  readonly loopback: boolean
  /** Not private, loopback or local: a learned address may be dialled. */
  readonly public: boolean
  feed: string | undefined
  source: PeerSource
  lastSeen: number
  failures: number
  retryAt: number
  bannedUntil: number
  lastError: string | undefined
  state: 'idle' | 'dialling' | 'open'
  /** Bumped whenever a dial or a connection of this entry is given up, so late results are ignored. */
  generation: number
  abort: AbortController | undefined
  link: MeshLink | undefined
  openedAt: number
}

const MAX_URL = 256

/**
 * Keeps a bounded, random set of outbound connections among known peers (see the design note
 * at the top of mesh.ts). Starts at once; {@link close} ends it.
 */
export class Mesh {
  readonly #o: Required<Omit<MeshOptions, 'timers'>> & { timers: MeshTimers }
  readonly #entries = new Map<string, Entry>()
  readonly #perHost = new Map<string, number>()
  readonly #pending = new Set<Promise<void>>()
  #learned = 0
  #outbound = 0
  #inbound = 0
  #tokens: number
  #tokensAt: number
  #timer: unknown
  #timerAt = Number.POSITIVE_INFINITY
  #closed = false

  /** @throws {RangeError} for limits that are not whole numbers, or `maxConnections` < `target`. */
  constructor(opts: MeshOptions) {
    const timers = opts.timers ?? {
      setTimeout: (fn: () => void, ms: number) => globalThis.setTimeout(fn, ms),
      clearTimeout: (h: unknown) => globalThis.clearTimeout(h as ReturnType<typeof globalThis.setTimeout>),
    }
    this.#o = {
      target: 6,
      maxConnections: 32,
      maxPerAddress: 4,
      maxKnown: 500,
      allowPrivate: false,
      learnedDialsPerSecond: 1,
      learnedDialBurst: 3,
      minDelayMs: 500,
      maxDelayMs: 30_000,
      learnedMaxDelayMs: 600_000,
      stableAfterMs: 10_000,
      banMs: 3_600_000,
      now: Date.now,
      random: Math.random,
      ...opts,
      timers,
    }
    const o = this.#o
    for (const k of ['target', 'maxConnections', 'maxPerAddress', 'maxKnown', 'learnedDialBurst'] as const) {
      if (!Number.isSafeInteger(o[k]) || o[k] < 0) throw new RangeError(`${k} must be a whole number, not ${o[k]}`)
    }
    if (o.maxConnections < o.target) throw new RangeError('maxConnections must be at least target')
    if (!(o.learnedDialsPerSecond > 0)) throw new RangeError('learnedDialsPerSecond must be above 0')
    this.#tokens = o.learnedDialBurst
    this.#tokensAt = o.now()
  }

  /**
   * Adds addresses to the book (or refreshes them: `lastSeen`, `feed`; a learned address given
   * as configured becomes configured), then dials as needed. Learned addresses that are not
   * `ws:`/`wss:` URLs of at most 256 characters, carry credentials, or (without `allowPrivate`)
   * point at a private, loopback or local host are skipped, as is a learned address that finds
   * the book full of better ones. Returns how many addresses were new.
   * @throws {MurmurError} `INVALID_ARGUMENT` for a configured address that is not a usable URL.
   */
  learn(addresses: Iterable<PeerAddress>, source: PeerSource): number {
    let added = 0
    const now = this.#o.now()
    for (const a of addresses) {
      const given = typeof a === 'string' ? { url: a } : a
      const parsed = parseUrl(given.url)
      if (typeof parsed === 'string') {
        if (source === 'configured') throw new MurmurError('INVALID_ARGUMENT', parsed)
        continue
      }
      const seen = Math.min(now, given.lastSeen ?? now)
      const known = this.#entries.get(parsed.url)
      if (known) {
        known.lastSeen = Math.max(known.lastSeen, seen)
        if (given.feed !== undefined) known.feed = given.feed
        if (source === 'configured' && known.source === 'learned') {
          known.source = 'configured'
          this.#learned--
        }
        continue
      }
      const scope = hostScope(parsed.hostname)
      const isPublic = scope === 'public'
      if (source === 'learned') {
        if (!isPublic && !this.#o.allowPrivate) continue
        if (this.#learned >= this.#o.maxKnown && !this.#evictOne()) continue
        this.#learned++
      }
      this.#entries.set(parsed.url, {
        url: parsed.url,
        host: parsed.host,
        loopback: scope === 'loopback',
        public: isPublic,
        feed: given.feed,
        source,
        lastSeen: seen,
        failures: 0,
        retryAt: 0,
        bannedUntil: 0,
        lastError: undefined,
        state: 'idle',
        generation: 0,
        abort: undefined,
        link: undefined,
        openedAt: 0,
      })
      added++
    }
    this.#tick()
    return added
  }

  /**
   * Dials at once every address that is waiting out a backoff (not the banned ones): the device
   * came back online, so the failures were probably its own. Learned dials still take tokens.
   */
  retryNow(): void {
    if (this.#closed) return
    for (const e of this.#entries.values()) if (e.state === 'idle') e.retryAt = 0
    this.#tick()
  }

  /**
   * Reports that the connection to `url` ended, or should: closes it if it is still open (or
   * gives up its dial), backs the address off, and with `misbehaved` bans it for `banMs`; then
   * dials a replacement. Also for an address that is not connected (to ban it). Unknown URLs
   * are ignored.
   */
  closed(url: string, opts: { misbehaved?: boolean; reason?: string } = {}): void {
    const e = this.#entry(url)
    if (e === undefined || this.#closed) return
    const reason = opts.reason ?? (opts.misbehaved ? 'misbehaving' : 'closed')
    if (e.state === 'idle') {
      if (opts.misbehaved) this.#ban(e, reason)
      this.#tick()
      return
    }
    if (e.state === 'open') e.link?.close(reason)
    else e.abort?.abort(new MurmurError('NOT_OPEN', reason))
    this.#ended(e, e.generation, opts.misbehaved === true, reason)
  }

  /**
   * Asks whether an inbound connection from `remoteAddress` (an IP address) may stay: false
   * when it would pass `maxConnections` (less the `target` slots kept for outbound) or
   * `maxPerAddress` for that host; the caller then closes it (e.g. with 1013 "try again
   * later"). Otherwise it is counted, and the function returned must be called once when it
   * closes (calling it again does nothing).
   */
  inbound(remoteAddress: string): false | (() => void) {
    if (this.#closed) return false
    const o = this.#o
    const host = hostKey(remoteAddress) ?? remoteAddress
    if (this.#inbound >= o.maxConnections - o.target || this.#inbound + this.#outbound >= o.maxConnections) return false
    if (hostScope(host) !== 'loopback' && (this.#perHost.get(host) ?? 0) >= o.maxPerAddress) return false
    this.#inbound++
    this.#addHost(host, 1)
    let released = false
    return () => {
      if (released) return
      released = true
      this.#inbound--
      this.#addHost(host, -1)
      this.#tick()
    }
  }

  /** Removes `url` from the book, closing its connection or dial; unknown URLs are ignored. */
  forget(url: string): void {
    const e = this.#entry(url)
    if (e === undefined) return
    this.#giveUp(e, 'forgotten')
    this.#entries.delete(e.url)
    if (e.source === 'learned') this.#learned--
    this.#tick()
  }

  /** The address book (a copy). */
  known(): KnownPeer[] {
    return [...this.#entries.values()].map(({ url, feed, source, lastSeen, failures }) => ({
      url,
      feed,
      source,
      lastSeen,
      failures,
    }))
  }

  /** Where the mesh is, for display. */
  status(): MeshStatus {
    const now = this.#o.now()
    const peers = [...this.#entries.values()].map((e): MeshPeerStatus => {
      const banned = e.state === 'idle' && e.bannedUntil > now
      const waiting = e.state === 'idle' && !banned && e.retryAt > now
      return {
        url: e.url,
        feed: e.feed,
        source: e.source,
        lastSeen: e.lastSeen,
        failures: e.failures,
        state: banned ? 'banned' : waiting ? 'waiting' : e.state,
        retryAt: waiting ? e.retryAt : undefined,
        bannedUntil: banned ? e.bannedUntil : undefined,
        lastError: e.lastError,
      }
    })
    const count = (s: MeshPeerState) => peers.filter((p) => p.state === s).length
    return {
      known: peers.length,
      outbound: count('open'),
      dialling: count('dialling'),
      inbound: this.#inbound,
      backingOff: count('waiting'),
      banned: count('banned'),
      peers,
    }
  }

  /**
   * Stops: no more dials, the timer cleared, dials in flight aborted and open links closed.
   * Resolves once every dial in flight has settled. Inbound connections are the caller's.
   */
  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true
      this.#o.timers.clearTimeout(this.#timer)
      this.#timer = undefined
      for (const e of this.#entries.values()) this.#giveUp(e, 'stopped')
    }
    await Promise.allSettled([...this.#pending])
  }

  #entry(url: string): Entry | undefined {
    const parsed = parseUrl(url)
    return typeof parsed === 'string' ? undefined : this.#entries.get(parsed.url)
  }

  /** Makes room for one learned address; false when every learned one is busy or banned. */
  #evictOne(): boolean {
    const now = this.#o.now()
    let worst: Entry | undefined
    for (const e of this.#entries.values()) {
      if (e.source !== 'learned' || e.state !== 'idle' || e.bannedUntil > now) continue
      if (!worst || e.failures > worst.failures || (e.failures === worst.failures && e.lastSeen < worst.lastSeen)) {
        worst = e
      }
    }
    if (!worst) return false
    this.#entries.delete(worst.url)
    this.#learned--
    return true
  }

  /** Dials what should be dialled now, and sets the timer for the next time something may be. */
  #tick(): void {
    if (this.#closed) return
    const o = this.#o
    const now = o.now()
    const room = () => this.#inbound + this.#outbound < o.maxConnections
    let next = Number.POSITIVE_INFINITY
    const readyAt = (e: Entry) => Math.max(e.retryAt, e.bannedUntil)
    for (const e of this.#entries.values()) {
      if (e.source !== 'configured' || e.state !== 'idle') continue
      if (readyAt(e) > now) next = Math.min(next, readyAt(e))
      else if (room()) this.#dial(e)
    }
    while (this.#outbound < o.target && room()) {
      const candidates: Entry[] = []
      for (const e of this.#entries.values()) {
        if (e.source !== 'learned' || e.state !== 'idle' || (!e.public && !o.allowPrivate)) continue
        if (!e.loopback && (this.#perHost.get(e.host) ?? 0) >= o.maxPerAddress) continue
        if (readyAt(e) > now) next = Math.min(next, readyAt(e))
        else candidates.push(e)
      }
      if (candidates.length === 0) break
      const tokenAt = this.#takeToken(now)
      if (tokenAt !== undefined) {
        next = Math.min(next, tokenAt)
        break
      }
      this.#dial(candidates[Math.floor(o.random() * candidates.length)] as Entry)
    }
    this.#arm(next)
  }

  /** Takes a learned-dial token: undefined when one was taken, else when the next one comes. */
  #takeToken(now: number): number | undefined {
    const o = this.#o
    const perMs = o.learnedDialsPerSecond / 1000
    this.#tokens = Math.min(o.learnedDialBurst, this.#tokens + (now - this.#tokensAt) * perMs)
    this.#tokensAt = now
    if (this.#tokens >= 1) {
      this.#tokens -= 1
      return undefined
    }
    return now + Math.ceil((1 - this.#tokens) / perMs)
  }

  /** Sets the one timer to fire at `at` (or none when infinite), replacing a later one. */
  #arm(at: number): void {
    if (at === this.#timerAt && this.#timer !== undefined) return
    this.#o.timers.clearTimeout(this.#timer)
    this.#timer = undefined
    this.#timerAt = at
    if (at === Number.POSITIVE_INFINITY) return
    this.#timer = this.#o.timers.setTimeout(
      () => {
        this.#timer = undefined
        this.#timerAt = Number.POSITIVE_INFINITY
        this.#tick()
      },
      Math.max(0, at - this.#o.now()),
    )
  }

  #dial(e: Entry): void {
    e.state = 'dialling'
    e.abort = new AbortController()
    const generation = e.generation
    this.#outbound++
    this.#addHost(e.host, 1)
    const signal = e.abort.signal
    const done = new Promise<MeshLink>((resolve) => resolve(this.#o.dial(e.url, signal))).then(
      (link) => this.#opened(e, generation, link),
      (err: unknown) => {
        if (e.generation !== generation || e.state !== 'dialling') return
        this.#ended(e, generation, false, err instanceof Error ? err.message : String(err))
      },
    )
    this.#pending.add(done)
    void done.finally(() => this.#pending.delete(done))
  }

  #opened(e: Entry, generation: number, link: MeshLink): void {
    if (e.generation !== generation || e.state !== 'dialling' || this.#closed) {
      link.close('not needed')
      return
    }
    e.state = 'open'
    e.link = link
    e.abort = undefined
    e.openedAt = this.#o.now()
    e.lastSeen = Math.max(e.lastSeen, e.openedAt)
    link.closed.then(
      (end) => this.#ended(e, generation, isMisbehaved(end), reasonOf(end)),
      (err: unknown) => this.#ended(e, generation, false, err instanceof Error ? err.message : String(err)),
    )
  }

  /** A dial or connection of `e` ended: count it, back off or ban, and replace it. */
  #ended(e: Entry, generation: number, misbehaved: boolean, reason: string | undefined): void {
    if (e.generation !== generation || e.state === 'idle') return
    const now = this.#o.now()
    const stable = e.state === 'open' && now - e.openedAt >= this.#o.stableAfterMs
    this.#release(e)
    e.lastError = reason
    e.failures = stable && !misbehaved ? 0 : e.failures + 1
    if (misbehaved) this.#ban(e, reason)
    e.retryAt = now + this.#delay(e)
    this.#tick()
  }

  #ban(e: Entry, reason: string | undefined): void {
    e.bannedUntil = this.#o.now() + this.#o.banMs
    e.lastError = reason
  }

  /** The backoff after `e.failures` failures in a row (equal jitter, as the Redialer's). */
  #delay(e: Entry): number {
    const o = this.#o
    const max = e.source === 'configured' ? o.maxDelayMs : o.learnedMaxDelayMs
    const base = Math.min(max, o.minDelayMs * 2 ** Math.max(0, e.failures - 1))
    return Math.round(base / 2 + (base / 2) * o.random())
  }

  /** Drops `e`'s dial or connection, if any, without counting a failure. */
  #giveUp(e: Entry, reason: string): void {
    if (e.state === 'open') e.link?.close(reason)
    else if (e.state === 'dialling') e.abort?.abort(new MurmurError('NOT_OPEN', reason))
    this.#release(e)
  }

  #release(e: Entry): void {
    e.generation++
    if (e.state === 'idle') return
    e.state = 'idle'
    e.link = undefined
    e.abort = undefined
    this.#outbound--
    this.#addHost(e.host, -1)
  }

  #addHost(host: string, delta: number): void {
    const n = (this.#perHost.get(host) ?? 0) + delta
    if (n <= 0) this.#perHost.delete(host)
    else this.#perHost.set(host, n)
  }
}

/** The normalized URL and its host key, or why it cannot be dialled. */
function parseUrl(text: string): { url: string; hostname: string; host: string } | string {
  if (typeof text !== 'string' || text.length > MAX_URL) return 'a peer address is a URL of at most 256 characters'
  let u: URL
  try {
    u = new URL(text)
  } catch {
    return `not a URL: ${JSON.stringify(text.slice(0, 100))}`
  }
  if (u.protocol !== 'ws:' && u.protocol !== 'wss:') return `a peer address is a ws: or wss: URL, not ${u.protocol}`
  if (u.username !== '' || u.password !== '') return 'a peer address carries no user name or password'
  u.hash = ''
  const host = hostKey(u.hostname)
  if (host === undefined) return `not a host: ${JSON.stringify(u.hostname)}`
  // The normalized form is what is kept and passed on (peer exchange): it must fit too, and
  // percent-encoding can make it several times longer than what was given.
  if (new TextEncoder().encode(u.href).length > MAX_URL) return 'a peer address is a URL of at most 256 bytes'
  return { url: u.href, hostname: u.hostname, host }
}

function isMisbehaved(end: unknown): boolean {
  return typeof end === 'object' && end !== null && (end as { misbehaved?: unknown }).misbehaved === true
}

function reasonOf(end: unknown): string | undefined {
  if (typeof end === 'string') return end
  const r = typeof end === 'object' && end !== null ? (end as { reason?: unknown }).reason : undefined
  return typeof r === 'string' ? r : undefined
}

/** A connection as the replicator gives it: it ends once, with a code and a reason. */
export interface ClosingConnection {
  readonly closed: Promise<{ readonly code: string; readonly reason: string }>
  close(reason: string): void
}

/**
 * The {@link MeshLink} of a replicator connection: a peer the replicator disconnected for
 * invalid data (`misbehaving`) or that sent frames that do not open (`decrypt`) counts as
 * misbehaved, so the mesh bans its address for a while.
 */
export function meshLink(conn: ClosingConnection): MeshLink {
  return {
    closed: conn.closed.then((info) => ({
      reason: info.reason,
      misbehaved: info.code === 'misbehaving' || info.code === 'decrypt',
    })),
    close: (reason) => conn.close(reason),
  }
}
