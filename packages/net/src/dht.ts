/**
 * Finding who holds a feed through the BitTorrent mainline DHT (`@murmur/net/dht`, Node only):
 * the existing global DHT, through WebTorrent's `bittorrent-dht` (BEP 5), so no server of ours.
 *
 * How it works
 * ------------
 * - **Key.** A feed is found under an info-hash: the first 20 bytes of
 *   sha-256("murmur/dht/v1" ‖ network key ‖ feed id) ({@link feedInfoHash}). The network key
 *   keeps networks apart and hides a private network's feeds from whoever lacks its key; on the
 *   public network anyone who knows a feed id can watch who holds it (as with any torrent).
 * - **Announce.** Each round, the feeds this peer can serve (the caller says which; at most
 *   `maxAnnounced`) whose last announce is older than `announceEveryMs` are announced (at most
 *   `announcesPerRound` of them, the rest in the next rounds) with the port of its WebSocket
 *   listener; the DHT nodes record the IP they saw it from. Their write
 *   tokens and stored peers expire (bittorrent-dht rotates its secrets every 5 min, mainline
 *   clients keep peers ~30 min), hence a new announce every 15 min by default.
 * - **Look up.** Each round (every `lookupEveryMs`), up to `lookupsPerRound` of the feeds this
 *   peer wants but none of its neighbours holds (the caller says which), least recently looked up
 *   first, so every such feed gets its turn at a bounded rate.
 * - **Dial.** The addresses found are dialled as `ws://ip:port/murmur` through the caller's
 *   `connect`, at most `maxDials` connections made this way at once, never the same address
 *   twice at once, never this peer itself (its own port on a local address, or an address whose
 *   handshake named this peer), and an address whose connection failed or ended waits
 *   `retryAfterMs`. Anyone can announce anything in a DHT, so addresses found are untrusted:
 *   private and loopback ones are skipped unless `allowPrivate` (tests), so that a stranger
 *   cannot make this peer probe its own network; the handshake then proves who answered.
 * - **Nothing outside by default.** {@link openDht} contacts only the bootstrap nodes it is
 *   given (none: it waits to be contacted); {@link PUBLIC_BOOTSTRAP} is for a person who asks
 *   for the global DHT.
 *
 * Why this shape: the DHT node is one small adapter ({@link openDht} behind {@link Dht}); the
 * policy (what to announce, what to look up, whom to dial) is {@link FeedDiscovery}, which knows
 * nothing of replication: the caller passes in what it holds, what it misses and how to connect.
 */
import { networkInterfaces } from 'node:os'
import { concatBytes, defaultSha256, type FeedId, MurmurError, type Sha256, toHex, utf8 } from '@murmur/core'
import DHT from 'bittorrent-dht'

/** A host and UDP or TCP port. */
export interface DhtAddress {
  readonly host: string
  readonly port: number
}

/**
 * The well-known routers of the mainline DHT. Only for a person who asks for the global DHT:
 * nothing uses them by default.
 */
export const PUBLIC_BOOTSTRAP: readonly DhtAddress[] = Object.freeze([
  { host: 'router.bittorrent.com', port: 6881 },
  { host: 'router.utorrent.com', port: 6881 },
  { host: 'dht.transmissionbt.com', port: 6881 },
  { host: 'dht.libtorrent.org', port: 25401 },
])

const INFO_HASH_DOMAIN = utf8('murmur/dht/v1')

/**
 * The 20-byte info-hash under which holders of `feed` announce themselves on the network
 * `networkKey`: the first 20 bytes of sha-256("murmur/dht/v1" ‖ networkKey ‖ feed).
 * @throws {MurmurError} `INVALID_ARGUMENT` unless both are 32 bytes.
 */
export function feedInfoHash(networkKey: Uint8Array, feed: FeedId, sha256: Sha256 = defaultSha256): Uint8Array {
  if (networkKey?.length !== 32 || feed?.length !== 32) {
    throw new MurmurError('INVALID_ARGUMENT', 'a network key and a feed id are 32 bytes each')
  }
  return sha256(concatBytes(INFO_HASH_DOMAIN, networkKey, feed)).slice(0, 20)
}

/**
 * `HOST:PORT` (`[v6]:PORT` for an IPv6 address) as an address.
 * @throws {MurmurError} `INVALID_ARGUMENT` for anything else.
 */
export function parseHostPort(text: string): DhtAddress {
  const m = /^(?:\[([^\]]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(text.trim())
  const port = Number(m?.[3])
  if (!m || port < 1 || port > 65535) {
    throw new MurmurError('INVALID_ARGUMENT', `not HOST:PORT: ${JSON.stringify(text.slice(0, 100))}`)
  }
  return { host: (m[1] ?? m[2]) as string, port }
}

/**
 * True for an IPv4 address that can be reached across the internet: not private (RFC 1918),
 * loopback, link-local, shared (RFC 6598), "this network", documentation, benchmarking,
 * multicast or reserved. Anything that is not a dotted IPv4 address is false.
 */
export function isPublicIPv4(host: string): boolean {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host)
  if (!m) return false
  const [a, b, c] = m.slice(1).map(Number) as [number, number, number, number]
  if (m.slice(1).some((x) => Number(x) > 255)) return false
  return !(
    a === 0 ||
    a === 10 ||
    a === 127 ||
    a >= 224 ||
    (a === 100 && b >= 64 && b < 128) ||
    (a === 169 && b === 254) ||
    (a === 172 && b >= 16 && b < 32) ||
    (a === 192 && b === 168) ||
    (a === 192 && b === 0 && (c === 0 || c === 2)) ||
    (a === 198 && (b === 18 || b === 19)) ||
    (a === 198 && b === 51 && c === 100) ||
    (a === 203 && b === 0 && c === 113)
  )
}

/** A DHT node, as {@link FeedDiscovery} uses it (tests may pass their own). */
export interface Dht {
  /** The UDP port it listens on. */
  readonly port: number
  /** Nodes in its routing table. */
  readonly nodes: number
  /**
   * Announces that this host serves `infoHash` on TCP `port`; resolves with the number of nodes
   * that took it.
   * @throws {MurmurError} (as a rejection) `UNREACHABLE` when no node took it; `NOT_OPEN` once
   * closed.
   */
  announce(infoHash: Uint8Array, port: number): Promise<number>
  /**
   * The addresses announced for `infoHash` that a walk of the DHT found (each once).
   * @throws {MurmurError} (as a rejection) `NOT_OPEN` once closed.
   */
  lookup(infoHash: Uint8Array): Promise<DhtAddress[]>
  /** Stops answering and asking; pending calls reject with `NOT_OPEN`. */
  close(): Promise<void>
}

/** Options of {@link openDht}. */
export interface DhtOptions {
  /** Nodes to start from; none: it contacts nobody until a node contacts it. */
  bootstrap: readonly DhtAddress[]
  /** UDP port (default 0: any free one). */
  port?: number
  /** IPv4 address to listen on (default `127.0.0.1`; `0.0.0.0` for every interface). */
  host?: string
}

/**
 * Starts a node of the mainline DHT (IPv4, as BEP 5) and resolves once it listens; it joins
 * through `bootstrap` in the background.
 * @throws {MurmurError} (as a rejection) `LISTEN_FAILED` when the UDP port cannot be bound.
 */
export async function openDht(opts: DhtOptions): Promise<Dht> {
  const host = opts.host ?? '127.0.0.1'
  const port = opts.port ?? 0
  const node = new DHT({ bootstrap: opts.bootstrap.length === 0 ? false : opts.bootstrap.map((a) => ({ ...a })) })
  try {
    await new Promise<void>((resolve, reject) => {
      node.once('error', reject)
      node.listen(port, host, () => {
        node.off('error', reject)
        resolve()
      })
    })
  } catch (cause) {
    node.on('error', () => {})
    node.destroy()
    const why = (cause as NodeJS.ErrnoException).code ?? (cause as Error).message
    throw new MurmurError('LISTEN_FAILED', `the DHT cannot listen on udp ${host}:${port}: ${why}`, { cause })
  }
  // Later socket errors (an ICMP unreachable, a malformed packet) concern one query, not the node.
  node.on('error', () => {})
  node.on('warning', () => {})
  const pending = new Set<(err: Error) => void>()
  const track = <T>(run: (resolve: (v: T) => void, reject: (e: Error) => void) => void): Promise<T> => {
    if (node.destroyed) return Promise.reject(new MurmurError('NOT_OPEN', 'the DHT node is closed'))
    return new Promise<T>((resolve, reject) => {
      const fail = (err: Error) => reject(err)
      pending.add(fail)
      run(
        (v) => {
          pending.delete(fail)
          resolve(v)
        },
        (e) => {
          pending.delete(fail)
          reject(e)
        },
      )
    })
  }
  const boundPort = node.address().port
  return {
    port: boundPort,
    get nodes() {
      return node.destroyed ? 0 : node.nodes.count()
    },
    announce: (infoHash, tcpPort) =>
      track((resolve, reject) =>
        node.announce(Buffer.from(infoHash), tcpPort, (err, n) => {
          if (err) {
            const why = err.message === 'No nodes to query' ? 'it knows no other node yet' : err.message
            reject(new MurmurError('UNREACHABLE', `no DHT node took the announce: ${why}`))
          } else resolve(n ?? 0)
        }),
      ),
    lookup: (infoHash) => {
      const hex = toHex(infoHash)
      const found = new Map<string, DhtAddress>()
      const onPeer = (peer: DhtAddress, hash: Buffer) => {
        if (hash.toString('hex') === hex) found.set(`${peer.host}:${peer.port}`, { host: peer.host, port: peer.port })
      }
      node.on('peer', onPeer)
      return track<DhtAddress[]>((resolve) =>
        // bittorrent-dht's walk never fails: it ends when no closer node answers.
        node.lookup(Buffer.from(infoHash), () => resolve([...found.values()])),
      ).finally(() => node.off('peer', onPeer))
    },
    close: () =>
      new Promise<void>((resolve) => {
        if (node.destroyed) return resolve()
        for (const fail of pending) fail(new MurmurError('NOT_OPEN', 'the DHT node closed'))
        pending.clear()
        node.destroy(() => resolve())
      }),
  }
}

/** Options of {@link FeedDiscovery}. */
export interface DiscoveryOptions {
  dht: Dht
  /** The network key (32 bytes): part of every info-hash. */
  networkKey: Uint8Array
  /** The TCP port of this peer's WebSocket listener (on path `/murmur`), announced for each feed. */
  port: number
  /** The feeds this peer can serve, most important first (its own), at most `max`. */
  held(max: number): Promise<FeedId[]>
  /** The feeds this peer wants and cannot get from its neighbours. */
  missing(): Promise<FeedId[]>
  /**
   * Connects to a peer found at `url`; resolves once that connection has ended, with `'self'`
   * when its handshake named this peer; rejects when it could not be made. It closes the
   * connection when `signal` aborts.
   */
  connect(url: string, signal: AbortSignal): Promise<'self' | undefined>
  /** Dial private and loopback addresses too (default false: tests on loopback set it). */
  allowPrivate?: boolean
  /** How often each held feed is announced again (ms, default 15 min). */
  announceEveryMs?: number
  /** How often a round of lookups runs (ms, default 60 s). */
  lookupEveryMs?: number
  /** How long an address waits after its connection failed or ended (ms, default 60 s). */
  retryAfterMs?: number
  /** Most feeds announced (default 64). */
  maxAnnounced?: number
  /** Most announces in one round (default 16: the rest go in the next rounds). */
  announcesPerRound?: number
  /** Most lookups in one round (default 4). */
  lookupsPerRound?: number
  /** Most connections made by discovery at once (default 3). */
  maxDials?: number
  /** The sha-256 of {@link feedInfoHash}. */
  sha256?: Sha256
}

/** What {@link FeedDiscovery.status} reports. */
export interface DiscoveryStatus {
  /** The DHT's UDP port and the nodes in its routing table. */
  readonly port: number
  readonly nodes: number
  /** Feeds announced within the last `announceEveryMs`. */
  readonly announced: number
  /** Lookups done, and addresses they found (each lookup counts its own). */
  readonly lookups: number
  readonly found: number
  /** Connections made to addresses found (attempts), and those dialling or open now. */
  readonly dialled: number
  readonly connections: readonly string[]
  /** The last announce that no node took, or the last failed dial. */
  readonly lastError: string | undefined
}

/** Announces the feeds a peer holds and finds and dials holders of those it misses (see above). */
export class FeedDiscovery {
  readonly #o: Required<Omit<DiscoveryOptions, 'sha256'>> & { sha256: Sha256 }
  #closed = false
  /** Resolves when {@link close} is called (one promise, so no listener per pending call). */
  readonly #closing: Promise<undefined>
  #close: () => void = () => {}
  readonly #done: Promise<void>
  readonly #localHosts: Set<string>
  /** Hex feed id → when it was last announced (successfully). */
  #announcedAt = new Map<string, number>()
  /** Hex feed id → when it was last looked up. */
  readonly #lookedUpAt = new Map<string, number>()
  /** URL → its connection's abort, while dialling or open. */
  readonly #dials = new Map<string, AbortController>()
  /** URL → until when it is not dialled again. */
  readonly #waiting = new Map<string, number>()
  /** URLs that reached this peer itself. */
  readonly #self = new Set<string>()
  #lookups = 0
  #found = 0
  #dialled = 0
  #lastError: string | undefined

  /**
   * Starts the rounds at once.
   * @throws {MurmurError} `INVALID_ARGUMENT` for a network key that is not 32 bytes, or a
   * period, count or port that is not a positive whole number.
   */
  constructor(opts: DiscoveryOptions) {
    this.#o = {
      allowPrivate: false,
      announceEveryMs: 15 * 60_000,
      lookupEveryMs: 60_000,
      retryAfterMs: 60_000,
      maxAnnounced: 64,
      announcesPerRound: 16,
      lookupsPerRound: 4,
      maxDials: 3,
      sha256: defaultSha256,
      ...opts,
    }
    const o = this.#o
    if (o.networkKey?.length !== 32) throw new MurmurError('INVALID_ARGUMENT', 'a network key is 32 bytes')
    for (const [name, n] of Object.entries({
      port: o.port,
      announceEveryMs: o.announceEveryMs,
      lookupEveryMs: o.lookupEveryMs,
      retryAfterMs: o.retryAfterMs,
      maxAnnounced: o.maxAnnounced,
      announcesPerRound: o.announcesPerRound,
      lookupsPerRound: o.lookupsPerRound,
      maxDials: o.maxDials,
    })) {
      if (!Number.isSafeInteger(n) || n < 1) throw new MurmurError('INVALID_ARGUMENT', `${name} is a whole number ≥ 1`)
    }
    this.#closing = new Promise((resolve) => {
      this.#close = () => resolve(undefined)
    })
    this.#localHosts = new Set(['0.0.0.0', 'localhost'])
    for (const list of Object.values(networkInterfaces())) for (const i of list ?? []) this.#localHosts.add(i.address)
    this.#done = this.#run()
  }

  /** Where discovery is now. */
  status(): DiscoveryStatus {
    const since = Date.now() - this.#o.announceEveryMs
    return {
      port: this.#o.dht.port,
      nodes: this.#o.dht.nodes,
      announced: [...this.#announcedAt.values()].filter((t) => t > since).length,
      lookups: this.#lookups,
      found: this.#found,
      dialled: this.#dialled,
      connections: [...this.#dials.keys()],
      lastError: this.#lastError,
    }
  }

  /** Stops the rounds and closes the connections it made (not the DHT node: its owner does). */
  async close(): Promise<void> {
    this.#closed = true
    this.#close()
    for (const dial of this.#dials.values()) dial.abort()
    await this.#done
  }

  async #run(): Promise<void> {
    while (!this.#closed) {
      await Promise.all([this.#announceRound(), this.#lookupRound()])
      let timer: NodeJS.Timeout | undefined
      await Promise.race([
        new Promise((resolve) => (timer = setTimeout(resolve, this.#o.lookupEveryMs))),
        this.#closing,
      ])
      clearTimeout(timer)
    }
  }

  /** Resolves with `promise`, or with undefined once closed (a DHT walk can take seconds). */
  #untilClosed<T>(promise: Promise<T>): Promise<T | undefined> {
    return Promise.race([promise, this.#closing])
  }

  async #announceRound(): Promise<void> {
    const o = this.#o
    try {
      const held = (await this.#untilClosed(o.held(o.maxAnnounced)))?.slice(0, o.maxAnnounced)
      if (held === undefined) return
      // Forget feeds no longer held, so the map stays as small as what is announced.
      const now = Date.now()
      const keep = new Map<string, number>()
      let due: FeedId[] = []
      for (const feed of held) {
        const hex = toHex(feed)
        const at = this.#announcedAt.get(hex)
        if (at !== undefined) keep.set(hex, at)
        if (at === undefined || now - at >= o.announceEveryMs) due.push(feed)
      }
      this.#announcedAt = keep
      due = due.slice(0, o.announcesPerRound)
      await Promise.all(
        due.map(async (feed) => {
          try {
            if (
              (await this.#untilClosed(o.dht.announce(feedInfoHash(o.networkKey, feed, o.sha256), o.port))) !==
              undefined
            )
              this.#announcedAt.set(toHex(feed), Date.now())
          } catch (err) {
            // No node took it (alone in the DHT, or its nodes are gone): the next round tries again.
            this.#lastError = (err as Error).message
          }
        }),
      )
    } catch (err) {
      this.#lastError = `cannot list the feeds to announce: ${(err as Error).message}`
    }
  }

  async #lookupRound(): Promise<void> {
    const o = this.#o
    try {
      const missing = await this.#untilClosed(o.missing())
      if (missing === undefined) return
      const last = (f: FeedId) => this.#lookedUpAt.get(toHex(f)) ?? -1
      const picks = [...missing].sort((a, b) => last(a) - last(b)).slice(0, o.lookupsPerRound)
      // Forget feeds that are no longer missing, so the map stays as small as the want set.
      const still = new Set(missing.map(toHex))
      for (const hex of this.#lookedUpAt.keys()) if (!still.has(hex)) this.#lookedUpAt.delete(hex)
      const found = await Promise.all(
        picks.map(async (feed) => {
          this.#lookedUpAt.set(toHex(feed), Date.now())
          const addresses = await this.#untilClosed(o.dht.lookup(feedInfoHash(o.networkKey, feed, o.sha256)))
          if (addresses === undefined) return []
          this.#lookups++
          this.#found += addresses.length
          return addresses
        }),
      )
      for (const address of found.flat()) this.#maybeDial(address)
    } catch (err) {
      if (!this.#closed) this.#lastError = `lookup failed: ${(err as Error).message}`
    }
  }

  #maybeDial({ host, port }: DhtAddress): void {
    const o = this.#o
    const url = `ws://${host}:${port}/murmur`
    if (this.#closed || this.#dials.size >= o.maxDials) return
    if (this.#dials.has(url) || this.#self.has(url) || !(port > 0 && port < 65536)) return
    if (port === o.port && (this.#localHosts.has(host) || host.startsWith('127.'))) return
    if (!o.allowPrivate && !isPublicIPv4(host)) return
    const until = this.#waiting.get(url)
    if (until !== undefined && until > Date.now()) return
    this.#waiting.delete(url)
    const dial = new AbortController()
    this.#dials.set(url, dial)
    this.#dialled++
    Promise.resolve(url)
      .then((u) => o.connect(u, dial.signal))
      .then(
        (outcome) => this.#ended(url, outcome === 'self', undefined),
        (err: unknown) => this.#ended(url, false, err),
      )
  }

  #ended(url: string, self: boolean, err: unknown): void {
    this.#dials.delete(url)
    if (self) this.#self.add(url)
    else this.#waiting.set(url, Date.now() + this.#o.retryAfterMs)
    if (err !== undefined && !this.#closed) this.#lastError = (err as Error)?.message ?? String(err)
    // Drop waits that are over, so the map holds only addresses that are waiting now.
    const now = Date.now()
    for (const [u, until] of this.#waiting) if (until <= now) this.#waiting.delete(u)
  }
}
