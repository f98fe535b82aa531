/**
 * The Node side of WebSocket (`@murmur/net/node`): a listener for incoming peers and a dialler
 * that uses `ws`. Node only.
 *
 * Limits, so that one peer cannot hurt the others: `ws` refuses any message over
 * {@link MAX_FRAME} (closing that socket with 1009, never the server), compression is off (it
 * costs memory per socket and lets small frames inflate), and connections are capped in total
 * and per remote address. An extra connection is accepted and then closed at once with 1013
 * and a reason, because a refusal during the HTTP handshake reaches a browser as a bare
 * failure, while a close reason can be shown to the person.
 */
import { createServer, type Server as HttpServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { Server as HttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import { MurmurError } from '@murmur/core'
import { MAX_FRAME } from '@murmur/replicate'
import { WebSocket, WebSocketServer } from 'ws'
import { type DialOptions, dial } from './dial.js'
import { CLOSE_CODES, type WsChannel, wsChannel } from './websocket.js'

/** Who connected, as {@link ListenOptions.onChannel} is told. */
export interface ConnectionInfo {
  /** The remote IP address (IPv4-mapped IPv6 addresses in their IPv4 form). */
  readonly remoteAddress: string
  /** The request's URL (path and query). */
  readonly url: string
  /**
   * The request's `Origin` header, if any: browsers always send one on a WebSocket, other
   * clients usually do not. A hint of what kind of peer connected (it can run WebRTC), never
   * proof of anything.
   */
  readonly origin?: string
}

/** Options of {@link listen}. */
export interface ListenOptions {
  /** Port to listen on (default 0: any free port). Ignored with `server`. */
  port?: number
  /** Address to listen on (default `127.0.0.1`; `0.0.0.0` or `::` for every interface). */
  host?: string
  /** An existing HTTP(S) server to attach to, on `path`; it is not closed by `close()`. */
  server?: HttpServer | HttpsServer
  /** The WebSocket path (default `/murmur`). */
  path?: string
  /** Most connections at once (default 256). */
  maxConnections?: number
  /** Most connections at once from one remote address (default 16). */
  maxPerAddress?: number
  /** Called with each accepted connection (it must not throw). */
  onChannel(channel: WsChannel, info: ConnectionInfo): void
}

/** A listening WebSocket endpoint. */
export interface Listener {
  /** The port listened on. */
  readonly port: number
  /** The URL peers dial (`ws://host:port/path`, `wss:` on an HTTPS server). */
  readonly url: string
  /** Connections open now (refused ones not counted). */
  readonly connections: number
  /** Closes every connection (telling peers why) and stops listening. */
  close(): Promise<void>
}

/** How long `close()` lets peers answer the close handshake before cutting them off (ms). */
const CLOSE_GRACE_MS = 1000
/** How long a refused connection may take to close before it is cut off (ms). */
const REFUSED_GRACE_MS = 2000

/**
 * Listens for peers over WebSocket, on a server of its own or on `opts.server`.
 * @throws {MurmurError} (as a rejection) `LISTEN_FAILED` when the address cannot be bound.
 */
export async function listen(opts: ListenOptions): Promise<Listener> {
  const path = opts.path ?? '/murmur'
  const host = opts.host ?? '127.0.0.1'
  const maxConnections = opts.maxConnections ?? 256
  const maxPerAddress = opts.maxPerAddress ?? 16
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME, perMessageDeflate: false })
  const server = opts.server ?? createServer(notWebSocket(path))
  const sockets = new Map<WebSocket, WsChannel | undefined>()
  const perAddress = new Map<string, number>()
  let open = 0
  let closing = false

  const accept = (socket: WebSocket, req: IncomingMessage): void => {
    const address = normalizeAddress(req.socket.remoteAddress)
    const fromThere = perAddress.get(address) ?? 0
    // `ws` emits errors on the socket (an oversized frame, a reset); the channel listens for
    // them, and so must a refused socket, or the error would throw.
    socket.on('error', () => {})
    sockets.set(socket, undefined)
    socket.once('close', () => sockets.delete(socket))
    if (open >= maxConnections || fromThere >= maxPerAddress) {
      const reason =
        open >= maxConnections
          ? `this peer has too many connections (${maxConnections}); try again later`
          : `too many connections from ${address} (${maxPerAddress})`
      socket.close(CLOSE_CODES.tryAgainLater, reason)
      // A client that never answers the close would hold the socket for ws's 30 s close timeout.
      const cut = setTimeout(() => socket.terminate(), REFUSED_GRACE_MS)
      socket.once('close', () => clearTimeout(cut))
      return
    }
    open++
    perAddress.set(address, fromThere + 1)
    socket.once('close', () => {
      open--
      const n = (perAddress.get(address) ?? 1) - 1
      if (n === 0) perAddress.delete(address)
      else perAddress.set(address, n)
    })
    const channel = wsChannel(socket)
    sockets.set(socket, channel)
    const origin = req.headers.origin
    opts.onChannel(channel, { remoteAddress: address, url: req.url ?? '/', ...(origin ? { origin } : {}) })
  }

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    if (pathOf(req.url) !== path) {
      // Another handler may own that path; if none does, answer rather than leave it hanging.
      if (server.listenerCount('upgrade') === 1) refuseUpgrade(socket, 404, 'Not Found')
      return
    }
    if (closing) {
      refuseUpgrade(socket, 503, 'Service Unavailable')
      return
    }
    wss.handleUpgrade(req, socket, head, (ws) => accept(ws, req))
  }
  server.on('upgrade', onUpgrade)

  if (opts.server === undefined) {
    try {
      await bind(server, opts.port ?? 0, host)
    } catch (cause) {
      server.off('upgrade', onUpgrade)
      const why = (cause as NodeJS.ErrnoException).code ?? (cause as Error).message
      throw new MurmurError('LISTEN_FAILED', `cannot listen on ${hostPort(host, opts.port ?? 0)}: ${why}`, { cause })
    }
  }

  const address = (): AddressInfo | undefined => {
    const a = server.address()
    return a !== null && typeof a === 'object' ? a : undefined
  }
  const scheme = server instanceof HttpsServer ? 'wss' : 'ws'

  return {
    get port() {
      return address()?.port ?? 0
    },
    get url() {
      const a = address()
      return `${scheme}://${hostPort(opts.server ? (a?.address ?? host) : host, a?.port ?? 0)}${path}`
    },
    get connections() {
      return open
    },
    async close() {
      if (closing) return
      closing = true
      server.off('upgrade', onUpgrade)
      const ended = [...sockets.keys()].map(
        (socket) =>
          new Promise<void>((resolve) =>
            socket.readyState === WebSocket.CLOSED ? resolve() : socket.once('close', () => resolve()),
          ),
      )
      for (const [socket, channel] of sockets) {
        if (channel) channel.close('the peer is shutting down')
        else socket.close(CLOSE_CODES.goingAway, 'the peer is shutting down')
      }
      const grace = setTimeout(() => {
        for (const socket of sockets.keys()) socket.terminate()
      }, CLOSE_GRACE_MS)
      await Promise.all(ended)
      clearTimeout(grace)
      wss.close()
      if (opts.server === undefined) {
        await new Promise<void>((resolve) => {
          server.close(() => resolve())
          server.closeAllConnections()
        })
      }
    },
  }
}

/** Dials `url` with `ws` (frames capped at {@link MAX_FRAME}, no compression). */
export function nodeDial(url: string, opts: Omit<DialOptions, 'WebSocket'> = {}): Promise<WsChannel> {
  return dial(url, { ...opts, WebSocket: NodeWebSocket })
}

/**
 * `ws`'s WebSocket with Murmur's limits (frames at most {@link MAX_FRAME}, no compression):
 * pass it as `WebSocket` to `dial` or `Redialer` in Node.
 */
export class NodeWebSocket extends WebSocket {
  constructor(url: string | URL) {
    super(url, { maxPayload: MAX_FRAME, perMessageDeflate: false })
  }
}

/** The answer of our own server to plain HTTP requests. */
function notWebSocket(path: string) {
  return (_req: IncomingMessage, res: ServerResponse): void => {
    res.writeHead(426, { 'content-type': 'text/plain; charset=utf-8', connection: 'close', upgrade: 'websocket' })
    res.end(`This is a Murmur peer: connect with a WebSocket to ${path}\n`)
  }
}

function refuseUpgrade(socket: Duplex, status: number, text: string): void {
  socket.on('error', () => {})
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`)
}

function bind(server: HttpServer | HttpsServer, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err)
    server.once('error', onError)
    server.listen(port, host, () => {
      server.off('error', onError)
      resolve()
    })
  })
}

function pathOf(url: string | undefined): string {
  const q = (url ?? '/').indexOf('?')
  return q === -1 ? (url ?? '/') : (url ?? '/').slice(0, q)
}

function normalizeAddress(address: string | undefined): string {
  if (address === undefined) return 'unknown'
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address
}

function hostPort(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`
}
