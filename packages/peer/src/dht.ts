/**
 * `murmur serve --dht`: the always-on peer in the BitTorrent mainline DHT (@murmur/net/dht).
 *
 * - What it announces: each feed it wants and holds messages of (its own first, then its follow
 *   graph nearest first, then the feeds it hosts for the peers it serves), at most 64, with the
 *   port of its WebSocket listener, again every 15 min.
 * - What it looks up: each feed it wants (not its own) that no connected peer holds (none said
 *   a seq above 0 for it in its clock, `Replicator.remoteSeq`, and its author is not connected),
 *   4 feeds a minute at most, each in turn. Addresses found are dialled as ws://ip:port/murmur
 *   and replicate like any connection, at most 3 at once; when one ends, the feeds it brought
 *   are missing again and are looked up again.
 * - Nothing outside unless asked: with no `--dht-bootstrap` the node contacts nobody (others may
 *   bootstrap off it); `--dht-bootstrap public` names the well-known routers. Addresses found
 *   that are private or loopback are dialled only with `--dht-allow-private`.
 * - The DHT listens on UDP at the address of `--listen` (so the default, 127.0.0.1, keeps it on
 *   this machine), on `--dht-port` (default: the HTTP port's number).
 * - Tests shorten the rounds with the environment: MURMUR_DHT_ANNOUNCE_MS (default 900000) and
 *   MURMUR_DHT_LOOKUP_MS (default 60000; also the wait before an address is dialled again).
 */
import { equalBytes, isMurmurError, toHex } from '@murmur/core'
import {
  type DhtAddress,
  type DiscoveryStatus,
  FeedDiscovery,
  openDht,
  PUBLIC_BOOTSTRAP,
  parseHostPort,
} from '@murmur/net/dht'
import { nodeDial } from '@murmur/net/node'
import { PUBLIC_NETWORK_KEY, type Replicator } from '@murmur/replicate'
import { CliError, EXIT } from './errors.js'

/** The `serve` options of the DHT. */
export const DHT_OPTIONS = {
  dht: { type: 'boolean' },
  'dht-bootstrap': { type: 'string' },
  'dht-port': { type: 'string' },
  'dht-allow-private': { type: 'boolean' },
} as const

/** The usage of {@link DHT_OPTIONS}. */
export const DHT_USAGE = '[--dht [--dht-bootstrap HOST:PORT,...|public] [--dht-port N] [--dht-allow-private]]'

/** What `serve --dht` was asked for. */
export interface DhtConfig {
  readonly bootstrap: readonly DhtAddress[]
  /** UDP address and port (undefined: the HTTP port's number). */
  readonly host: string
  readonly port: number | undefined
  readonly allowPrivate: boolean
  readonly announceEveryMs: number
  readonly lookupEveryMs: number
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost)$/

/**
 * The DHT settings of `serve`'s options (undefined without `--dht`); `bind` is its `--listen`.
 * @throws {CliError} `usage` for a malformed or contradictory option.
 */
export function dhtConfig(values: Readonly<Record<string, unknown>>, bind: string): DhtConfig | undefined {
  if (values.dht !== true) {
    const stray = ['dht-bootstrap', 'dht-port', 'dht-allow-private'].find((k) => values[k] !== undefined)
    if (stray) throw new CliError(`--${stray} goes with --dht`, EXIT.usage)
    return undefined
  }
  // The mainline DHT is IPv4 (BEP 5): every interface for `::`, and no other IPv6 address.
  const host = bind === '::' ? '0.0.0.0' : bind === 'localhost' ? '127.0.0.1' : bind
  if (!/^\d+\.\d+\.\d+\.\d+$/.test(host)) {
    throw new CliError(`--dht needs an IPv4 --listen address (the DHT is IPv4), not ${bind}`, EXIT.usage)
  }
  const text = values['dht-bootstrap']
  let bootstrap: DhtAddress[] = []
  if (typeof text === 'string') {
    try {
      bootstrap = text
        .split(',')
        .filter((s) => s.trim() !== '')
        .flatMap((s) => (s.trim() === 'public' ? PUBLIC_BOOTSTRAP : [parseHostPort(s)]))
    } catch (err) {
      throw new CliError(`--dht-bootstrap takes HOST:PORT,... or public: ${(err as Error).message}`, EXIT.usage)
    }
  }
  if (LOOPBACK.test(host) && bootstrap.some((a) => !LOOPBACK.test(a.host))) {
    throw new CliError(
      `the DHT listens on ${host}, which cannot reach ${bootstrap.find((a) => !LOOPBACK.test(a.host))?.host}: add --listen 0.0.0.0`,
      EXIT.usage,
    )
  }
  let port: number | undefined
  if (values['dht-port'] !== undefined) {
    port = Number(values['dht-port'])
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      throw new CliError('--dht-port takes a port number from 0 to 65535', EXIT.usage)
  }
  return {
    bootstrap,
    host,
    port,
    allowPrivate: values['dht-allow-private'] === true,
    announceEveryMs: msFromEnv('MURMUR_DHT_ANNOUNCE_MS', 15 * 60_000),
    lookupEveryMs: msFromEnv('MURMUR_DHT_LOOKUP_MS', 60_000),
  }
}

function msFromEnv(name: string, fallback: number): number {
  const text = process.env[name]
  if (text === undefined || text === '') return fallback
  const ms = Number(text)
  if (!Number.isInteger(ms) || ms < 10) throw new CliError(`${name} takes a number of milliseconds ≥ 10`, EXIT.usage)
  return ms
}

/** A running DHT of `serve`. */
export interface ServeDht {
  /** The UDP port it listens on. */
  readonly port: number
  /** For `murmur status`. */
  status(): DiscoveryStatus & { readonly bootstrap: number }
  /** Leaves the DHT and closes the connections it made. */
  stop(): Promise<void>
}

/**
 * Joins the DHT and starts announcing and looking up for `replicator`, whose WebSocket
 * listener is on TCP `wsPort`.
 * @throws {CliError} `failed` when the UDP port cannot be bound.
 */
export async function startDht(config: DhtConfig, replicator: Replicator, wsPort: number): Promise<ServeDht> {
  const me = replicator.keys.publicKey
  const port = config.port ?? wsPort
  let dht: Awaited<ReturnType<typeof openDht>>
  try {
    dht = await openDht({ bootstrap: config.bootstrap, host: config.host, port })
  } catch (err) {
    if (!isMurmurError(err, 'LISTEN_FAILED')) throw err
    throw new CliError(`${err.message} (pick another with --dht-port)`, EXIT.failed, { cause: err })
  }
  const discovery = new FeedDiscovery({
    dht,
    // `serve` replicates on the public network (the replicator's default key).
    networkKey: PUBLIC_NETWORK_KEY,
    port: wsPort,
    allowPrivate: config.allowPrivate,
    announceEveryMs: config.announceEveryMs,
    lookupEveryMs: config.lookupEveryMs,
    retryAfterMs: config.lookupEveryMs,
    async held(max) {
      const out = []
      for (const feed of await replicator.wanted()) {
        if (out.length >= max) break
        if (((await replicator.store.feedState(feed))?.seq ?? 0) > 0) out.push(feed)
      }
      return out
    },
    async missing() {
      // A connected peer holds its own feed even before its clock has said so.
      const connected = new Set(replicator.connections().flatMap((c) => (c.remote ? [toHex(c.remote)] : [])))
      return (await replicator.wanted()).filter(
        (f) => !equalBytes(f, me) && !connected.has(toHex(f)) && !((replicator.remoteSeq(f) ?? 0) > 0),
      )
    },
    async connect(url, signal) {
      const channel = await nodeDial(url, { signal, timeoutMs: 10_000 })
      const conn = replicator.connect(channel, { initiator: true })
      const stop = () => conn.close('the peer is shutting down')
      signal.addEventListener('abort', stop, { once: true })
      try {
        const ready = await conn.ready.then(
          () => true,
          () => false,
        )
        if (ready && conn.remote && equalBytes(conn.remote, me)) {
          conn.close('this is a connection to itself')
          await conn.closed
          return 'self'
        }
        const info = await conn.closed
        if (!ready) throw new Error(`${url} refused the connection: ${info.reason}`)
        return undefined
      } finally {
        signal.removeEventListener('abort', stop)
      }
    },
  })
  return {
    port: dht.port,
    status: () => ({ ...discovery.status(), bootstrap: config.bootstrap.length }),
    async stop() {
      await discovery.close()
      await dht.close()
    },
  }
}
