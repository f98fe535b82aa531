/**
 * The commands that go on the network. `serve` stays online: it serves HTTP(S) (the web app
 * once built), accepts WebSocket replication on /murmur, keeps connections to the peers it was
 * given (reconnecting with backoff), and answers the other commands on the control socket.
 * `sync URL` does one catch-up with a peer, showing progress, then exits.
 */
import { readFile } from 'node:fs/promises'
import { createServer as createHttp, type Server } from 'node:http'
import { createServer as createHttps } from 'node:https'
import { resolve as resolvePath } from 'node:path'
import { formatFeedId, isPeerUrl } from '@murmur/core'
import { Mesh, meshLink } from '@murmur/net'
import { type Listener, listen, nodeDial } from '@murmur/net/node'
import { type StunServer, startStunServer } from '@murmur/net/stun'
import { type Connection, type HostMode, Replicator } from '@murmur/replicate'
import type { Command, Input } from './commands.js'
import { serveControl } from './control.js'
import { DHT_OPTIONS, DHT_USAGE, dhtConfig, type ServeDht, startDht } from './dht.js'
import { CliError, EXIT } from './errors.js'
import { openLocal } from './local.js'
import { learnFromPeerMessages, MESH_OPTIONS, MESH_USAGE, meshConfig } from './mesh.js'
import { dataPaths } from './paths.js'
import { announceSelf, startPex, stunUris } from './pex.js'
import { progressBar } from './progress.js'
import { publishServedApp } from './release.js'
import { defaultAppDir, siteHandler } from './site.js'
import { type AttachedTracker, attachTracker, TRACKER_OPTIONS, TRACKER_PATH, TRACKER_USAGE } from './tracker.js'

type Out = { json: boolean; print(r: unknown, t: string): void }

/** A command that runs its own lifecycle (network, signals) and returns its exit code. */
export interface NetworkCommand extends Pick<Command, 'name' | 'usage' | 'summary' | 'options' | 'positionals'> {
  main(input: Input & { data: string; json: boolean }, out: Out): Promise<number>
}

/** The port `serve` and `npm start` use unless told otherwise (a fixed origin keeps browser storage). */
export const DEFAULT_PORT = 8420

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost', '0.0.0.0', '::'])

function portArg(v: unknown): number {
  if (v === undefined) return DEFAULT_PORT
  const n = Number(v)
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new CliError('--port takes a port number from 0 to 65535', EXIT.usage)
  return n
}

function hopsArg(v: unknown): number | undefined {
  if (v === undefined) return undefined
  const n = Number(v)
  if (!Number.isInteger(n) || n < 0 || n > 6) throw new CliError('--hops takes a whole number from 0 to 6', EXIT.usage)
  return n
}

function countArg(v: unknown, name: string): number {
  const n = Number(v)
  if (!Number.isInteger(n) || n < 0) throw new CliError(`--${name} takes a whole number`, EXIT.usage)
  return n
}

function urlArg(text: string): string {
  let u: URL
  try {
    u = new URL(text)
  } catch {
    throw new CliError(`not a peer address: ${text} (expected ws://host:port/murmur or wss://…)`, EXIT.usage)
  }
  if (u.protocol === 'http:' || u.protocol === 'https:') {
    // Accept the page URL a person was given: the peer's WebSocket lives on /murmur.
    u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:'
    if (u.pathname === '/' || u.pathname === '') u.pathname = '/murmur'
  }
  if (u.protocol !== 'ws:' && u.protocol !== 'wss:') {
    throw new CliError(`not a peer address: ${text} (expected ws://, wss://, http:// or https://)`, EXIT.usage)
  }
  u.hash = ''
  return u.toString()
}

/** An address this peer announces: a peer address as `urlArg` takes it, and valid in a `peer` message. */
function announceArg(text: string): string {
  const url = urlArg(text)
  if (!isPeerUrl(url)) throw new CliError(`--announce takes a public ws:// or wss:// address, not ${text}`, EXIT.usage)
  return url
}

const serve: NetworkCommand = {
  name: 'serve',
  usage: `serve [--port N] [--listen ADDR] [--peer URL ...] [--tls-cert F --tls-key F] [--host peers|follows] [--hops N] [--app DIR] [--announce URL ...] ${MESH_USAGE} ${TRACKER_USAGE} [--stun [--stun-port N]] ${DHT_USAGE}`,
  summary: 'stay online: serve the web app, replicate over WebSocket, keep connections to peers',
  options: {
    port: { type: 'string' },
    listen: { type: 'string' },
    peer: { type: 'string', multiple: true },
    'tls-cert': { type: 'string' },
    'tls-key': { type: 'string' },
    host: { type: 'string' },
    hops: { type: 'string' },
    'max-hosted': { type: 'string' },
    'max-hosted-mb': { type: 'string' },
    app: { type: 'string' },
    announce: { type: 'string', multiple: true },
    ...MESH_OPTIONS,
    ...TRACKER_OPTIONS,
    stun: { type: 'boolean' },
    'stun-port': { type: 'string' },
    ...DHT_OPTIONS,
  },
  positionals: [0, 0],
  async main(input, out) {
    const v = input.values
    const appDir = typeof v.app === 'string' ? resolvePath(v.app) : defaultAppDir()
    const port = portArg(v.port)
    const bind = typeof v.listen === 'string' ? v.listen : '127.0.0.1'
    const host = (v.host ?? 'peers') as string
    if (host !== 'peers' && host !== 'follows') throw new CliError('--host takes peers or follows', EXIT.usage)
    const hops = hopsArg(v.hops)
    const limits: { maxHostedFeeds?: number; maxHostedBytes?: number } = {}
    if (v['max-hosted'] !== undefined) limits.maxHostedFeeds = countArg(v['max-hosted'], 'max-hosted')
    if (v['max-hosted-mb'] !== undefined)
      limits.maxHostedBytes = countArg(v['max-hosted-mb'], 'max-hosted-mb') * 1048576
    const peers = ((v.peer as string[] | undefined) ?? []).map(urlArg)
    const announce = ((v.announce as string[] | undefined) ?? []).map(announceArg)
    const meshOpts = meshConfig(v)
    if (v['stun-port'] !== undefined && v.stun !== true) throw new CliError('--stun-port goes with --stun', EXIT.usage)
    const stunPortArg = v['stun-port'] === undefined ? undefined : portArg(v['stun-port'])
    const dhtConf = dhtConfig(v, bind)
    const cert = v['tls-cert']
    const key = v['tls-key']
    if ((cert === undefined) !== (key === undefined))
      throw new CliError('--tls-cert and --tls-key go together', EXIT.usage)
    let tls: { cert: Buffer; key: Buffer } | undefined
    if (typeof cert === 'string' && typeof key === 'string') {
      try {
        tls = { cert: await readFile(cert), key: await readFile(key) }
      } catch (err) {
        throw new CliError(`cannot read the TLS certificate or key: ${(err as Error).message}`, EXIT.usage)
      }
    }

    const local = await openLocal(input.data, { pool: true })
    const replicator = new Replicator({
      store: local.store,
      ed: local.ed,
      keys: local.keys,
      host: host as HostMode,
      limits,
      ...(hops === undefined ? {} : { hops }),
    })
    const mesh = new Mesh({
      ...meshOpts,
      dial: async (url, signal) => {
        const channel = await nodeDial(url, { signal, timeoutMs: 10_000 })
        return meshLink(replicator.connect(channel, { initiator: true }))
      },
    })
    let dht: ServeDht | undefined
    let tracker: AttachedTracker | undefined
    let stun: StunServer | undefined
    const live = {
      status: () => ({
        ...replicator.status(),
        dialing: mesh.status().peers.map((p) => ({
          url: p.url,
          source: p.source,
          state: p.state,
          ...(p.lastError ? { lastError: p.lastError } : {}),
          ...(p.retryAt ? { retryAt: p.retryAt } : {}),
        })),
        ...(dht ? { dht: dht.status() } : {}),
        ...(tracker ? { tracker: tracker.status() } : {}),
        ...(stun ? { stun: { port: stun.port, ...stun.stats() } } : {}),
      }),
    }
    let server: Server
    try {
      server = tls ? createHttps(tls) : createHttp()
    } catch (err) {
      await local.close()
      throw new CliError(`cannot use the TLS certificate: ${(err as Error).message}`, EXIT.usage)
    }
    // STUN first: the well-known file names its port. On UDP, at the --listen address, on
    // --stun-port (default: the number of the HTTP port; any free port when that is 0).
    if (v.stun === true) {
      try {
        stun = await startStunServer({ port: stunPortArg ?? (port === 0 ? 0 : port), host: bind })
      } catch (err) {
        await local.close()
        throw new CliError(`cannot run the STUN server: ${(err as Error).message}`, EXIT.failed)
      }
    }
    server.on(
      'request',
      siteHandler({
        id: local.keys.publicKey,
        tls: tls !== undefined,
        appDir,
        ...(v.tracker === true ? { trackerPath: TRACKER_PATH } : {}),
        ...(stun ? { stunPort: stun.port } : {}),
      }),
    )
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject)
        server.listen(port, bind, () => resolve())
      })
    } catch (err) {
      await stun?.close()
      await local.close()
      const code = (err as NodeJS.ErrnoException).code
      throw new CliError(
        code === 'EADDRINUSE'
          ? `port ${port} is in use: stop what uses it or pick another with --port`
          : `cannot listen on ${bind}:${port}: ${(err as Error).message}`,
        EXIT.failed,
      )
    }
    const boundPort = (server.address() as { port: number }).port
    if (dhtConf) {
      try {
        dht = await startDht(dhtConf, replicator, boundPort)
      } catch (err) {
        await replicator.close()
        await new Promise<void>((resolve) => server.close(() => resolve()))
        await local.close()
        throw err
      }
    }
    // Browsers (their WebSocket request carries an Origin) are told about each other for WebRTC.
    const browsers = new WeakSet<Connection>()
    const listener: Listener = await listen({
      server,
      path: '/murmur',
      onChannel: (channel, info) => {
        const release = mesh.inbound(info.remoteAddress)
        if (!release) {
          channel.close('this peer has too many connections: try again later')
          return
        }
        const conn = replicator.connect(channel, { initiator: false })
        void conn.closed.then(release)
        if (info.origin) browsers.add(conn)
      },
    })
    tracker = v.tracker === true ? attachTracker(server) : undefined
    const stopPex = startPex({
      replicator,
      addresses: () => [...announce, ...peers, ...mesh.known().flatMap((k) => (k.source === 'learned' ? [k.url] : []))],
      isBrowser: (c) => browsers.has(c),
      onLearn: (urls, from) => {
        mesh.learn(
          urls.map((url) => ({ url, feed: formatFeedId(from) })),
          'learned',
        )
      },
    })
    const stopPeerMessages = learnFromPeerMessages(local, mesh)
    if (announce.length > 0) await announceSelf(local, announce, stun ? stunUris(announce, stun.port) : [])
    mesh.learn(peers, 'configured')
    await publishServedApp(local, appDir, input.json ? () => {} : (line) => process.stdout.write(`${line}\n`))
    const stopControl = await serveControl(dataPaths(input.data).socket, local, live)
    const stopLog = input.json ? () => undefined : logEvents(replicator)
    const shown = bind === '0.0.0.0' || bind === '::' ? 'localhost' : bind.includes(':') ? `[${bind}]` : bind
    const url = `${tls ? 'https' : 'http'}://${shown}:${boundPort}/`
    // The URL to open in a browser: on this machine always localhost, because a browser ties
    // the app's storage to the origin (http://127.0.0.1:8420 would be another, empty one).
    const open = !tls && LOOPBACK.has(bind) ? `http://localhost:${boundPort}/` : url
    const id = formatFeedId(local.keys.publicKey)
    out.print(
      {
        url,
        id,
        port: boundPort,
        ws: `${tls ? 'wss' : 'ws'}://${shown}:${boundPort}/murmur`,
        dhtPort: dht?.port,
        ...(tracker ? { tracker: `${tls ? 'wss' : 'ws'}://${shown}:${boundPort}${TRACKER_PATH}` } : {}),
        ...(stun ? { stunPort: stun.port } : {}),
      },
      `murmur is serving ${open} (open it in a web browser)\nid   ${id}\npeer ${tls ? 'wss' : 'ws'}://${shown}:${boundPort}/murmur${dht ? `\ndht  udp ${dhtConf?.host}:${dht.port}` : ''}\nCtrl-C stops it.`,
    )

    // Ctrl-C often arrives twice (the terminal signals the whole process group, and `npm start`
    // forwards it too): the handlers stay for the whole shutdown so a repeat cannot cut it short.
    let signals = 0
    await new Promise<void>((resolve) => {
      const onSignal = () => {
        signals++
        if (signals === 1) resolve()
      }
      process.on('SIGINT', onSignal)
      process.on('SIGTERM', onSignal)
    })
    if (!input.json) process.stdout.write('stopping…\n')
    stopLog()
    stopPex()
    stopPeerMessages()
    await mesh.close()
    await dht?.stop()
    await tracker?.close()
    await stun?.close()
    await listener.close()
    await replicator.close()
    await new Promise<void>((resolve) => {
      server.close(() => resolve())
      server.closeAllConnections?.()
    })
    await stopControl()
    await local.close()
    return EXIT.ok
  },
}

const sync: NetworkCommand = {
  name: 'sync',
  usage: 'sync URL [--timeout SECONDS] [--hops N]',
  summary: 'catch up once with a peer (with a progress bar), then exit',
  options: { timeout: { type: 'string' }, hops: { type: 'string' } },
  positionals: [1, 1],
  async main(input, out) {
    const url = urlArg(input.positionals[0] as string)
    const timeoutS = input.values.timeout === undefined ? 600 : Number(input.values.timeout)
    if (!Number.isFinite(timeoutS) || timeoutS <= 0)
      throw new CliError('--timeout takes a number of seconds', EXIT.usage)
    const hops = hopsArg(input.values.hops)
    const local = await openLocal(input.data, { pool: true })
    const replicator = new Replicator({
      store: local.store,
      ed: local.ed,
      keys: local.keys,
      ...(hops === undefined ? {} : { hops }),
    })
    const bar = progressBar(process.stderr, !input.json)
    try {
      let channel: Awaited<ReturnType<typeof nodeDial>>
      try {
        channel = await nodeDial(url, { timeoutMs: 15_000 })
      } catch (err) {
        throw new CliError(
          `${(err as Error).message} (is the peer running, and is the address right?)`,
          EXIT.unreachable,
        )
      }
      const conn = replicator.connect(channel, { initiator: true })
      try {
        await conn.ready
      } catch (err) {
        const info = (err as { cause?: { reason?: string } }).cause
        throw new CliError(
          `the peer at ${url} refused the connection: ${info?.reason ?? (err as Error).message}`,
          EXIT.failed,
        )
      }
      // Caught up = everything announced has arrived and nothing new was announced (the want
      // set can grow as follows arrive) for a quiet moment.
      const QUIET_MS = 1000
      let last = Date.now()
      const off = replicator.subscribe((e) => {
        if (e.type === 'progress' || e.type === 'wanted') last = Date.now()
        if (e.type === 'progress') bar.update(e.progress.held, e.progress.expected)
      })
      const deadline = Date.now() + timeoutS * 1000
      try {
        for (;;) {
          if (conn.state === 'closed') {
            const info = await conn.closed
            throw new CliError(`the connection to ${url} closed during sync: ${info.reason}`, EXIT.failed)
          }
          const p = conn.progress()
          if (p.held >= p.expected && Date.now() - last >= QUIET_MS) break
          if (Date.now() > deadline) throw new CliError(`sync did not finish within ${timeoutS} s`, EXIT.failed)
          await new Promise((r) => setTimeout(r, 100))
        }
      } finally {
        off()
      }
      const p = conn.progress()
      bar.done(p.received)
      const counters = conn.status().counters
      await local.store.indexed()
      out.print(
        { url, remote: conn.remote ? formatFeedId(conn.remote) : null, received: p.received, counters },
        `synced with ${url}: ${p.received} new message${p.received === 1 ? '' : 's'}`,
      )
      return EXIT.ok
    } finally {
      bar.done()
      await replicator.close()
      await local.close()
    }
  },
}

/**
 * What a person running `serve` sees: peers coming and going, forks, and the progress of long
 * syncs in tenths. Returns the function that stops it.
 */
function logEvents(replicator: Replicator): () => void {
  const tenths = new Map<number, number>()
  const line = (text: string) => process.stdout.write(`${new Date().toISOString().slice(11, 19)} ${text}\n`)
  const who = (id: Uint8Array | undefined) => (id ? formatFeedId(id) : 'a peer')
  return replicator.subscribe((e) => {
    if (e.type === 'ready')
      line(`${who(e.connection.remote)} connected (${e.connection.initiator ? 'outgoing' : 'incoming'})`)
    else if (e.type === 'closed') {
      tenths.delete(e.connection.id)
      line(`${who(e.connection.remote)} left: ${e.info.reason}`)
    } else if (e.type === 'fork')
      line(`fork in ${formatFeedId(e.fork.author)} at seq ${e.fork.seq}: kept as proof, the feed stops there`)
    else if (e.type === 'progress' && e.progress.expected >= 1000) {
      const t = Math.floor((e.progress.received / e.progress.expected) * 10)
      if (t > (tenths.get(e.connection.id) ?? -1)) {
        tenths.set(e.connection.id, t)
        line(`syncing with ${who(e.connection.remote)}: ${t * 10}% (${e.progress.received}/${e.progress.expected})`)
      }
    }
  })
}

/** The network commands, by name. */
export const NETWORK_COMMANDS: ReadonlyMap<string, NetworkCommand> = new Map([serve, sync].map((c) => [c.name, c]))
