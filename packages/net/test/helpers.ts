/** Test helpers: bounded waits, frame collectors, a listener that queues its channels. */
import type { Channel } from '@murmur/replicate'
import { WebSocket } from 'ws'
import type { Redialer, RedialStatus, WsChannel } from '../src/index.js'
import { type ConnectionInfo, type Listener, type ListenOptions, listen } from '../src/node.js'

/** `promise`, or a rejection naming `what` after `ms`. */
export function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

/** The next `n` frames `channel` receives. */
export function frames(channel: Channel, n: number, ms = 5000): Promise<Uint8Array[]> {
  const got: Uint8Array[] = []
  let stop = () => {}
  const all = new Promise<Uint8Array[]>((resolve) => {
    stop = channel.onFrame((f) => {
      got.push(f)
      if (got.length === n) resolve(got)
    })
  })
  return within(ms, `${n} frames (got ${got.length})`, all).finally(() => stop())
}

/** The reason `channel` closes with. */
export function closed(channel: Channel, ms = 5000): Promise<string> {
  return within(ms, 'the channel to close', new Promise<string>((resolve) => channel.onClose(resolve)))
}

/** The code and reason a raw `ws` client's socket closes with. */
export function socketClosed(socket: WebSocket, ms = 5000): Promise<{ code: number; reason: string }> {
  return within(
    ms,
    'the socket to close',
    new Promise((resolve) => socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() }))),
  )
}

/** A raw `ws` client (no Murmur limits), open. */
export async function rawClient(url: string): Promise<WebSocket> {
  const socket = new WebSocket(url)
  socket.on('error', () => {})
  await within(
    5000,
    `a raw connection to ${url}`,
    new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve())
      socket.once('close', () => reject(new Error('closed before open')))
    }),
  )
  return socket
}

/** A listener whose accepted channels wait in a queue for {@link TestServer.accepted}. */
export interface TestServer extends Listener {
  /** The next channel the listener accepts. */
  accepted(ms?: number): Promise<{ channel: WsChannel; info: ConnectionInfo }>
}

export async function testServer(opts: Omit<ListenOptions, 'onChannel'> = {}): Promise<TestServer> {
  const queue: { channel: WsChannel; info: ConnectionInfo }[] = []
  const waiting: ((c: { channel: WsChannel; info: ConnectionInfo }) => void)[] = []
  const listener = await listen({
    ...opts,
    onChannel(channel, info) {
      const next = waiting.shift()
      if (next) next({ channel, info })
      else queue.push({ channel, info })
    },
  })
  return {
    get port() {
      return listener.port
    },
    get url() {
      return listener.url
    },
    get connections() {
      return listener.connections
    },
    close: () => listener.close(),
    accepted(ms = 5000) {
      const ready = queue.shift()
      if (ready) return Promise.resolve(ready)
      return within(ms, 'an accepted connection', new Promise((resolve) => waiting.push(resolve)))
    },
  }
}

/** Resolves with the redialer's status once `ok` holds for it. */
export function statusWhere(redialer: Redialer, ok: (s: RedialStatus) => boolean, ms = 5000): Promise<RedialStatus> {
  if (ok(redialer.status)) return Promise.resolve(redialer.status)
  let stop = () => {}
  const found = new Promise<RedialStatus>((resolve) => {
    stop = redialer.onStatus((s) => {
      if (ok(s)) resolve(s)
    })
  })
  return within(ms, 'a redialer status', found).finally(() => stop())
}

/** `n` bytes that say which frame they are. */
export function frameOf(i: number, n = 8): Uint8Array {
  const out = new Uint8Array(n)
  new DataView(out.buffer).setUint32(0, i)
  for (let j = 4; j < n; j++) out[j] = (i + j) & 255
  return out
}

export function indexOf(frame: Uint8Array): number {
  return new DataView(frame.buffer, frame.byteOffset, frame.byteLength).getUint32(0)
}

/** Resolves once `ok()` holds, checking on each turn of the event loop; rejects after `ms`. */
export function waitUntil(what: string, ok: () => boolean, ms = 5000): Promise<void> {
  const deadline = performance.now() + ms
  return new Promise((resolve, reject) => {
    const check = () => {
      if (ok()) resolve()
      else if (performance.now() > deadline) reject(new Error(`timed out after ${ms} ms waiting for ${what}`))
      else setImmediate(check)
    }
    check()
  })
}
