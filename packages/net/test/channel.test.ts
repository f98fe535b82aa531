/** wsChannel against a scripted socket: the edge cases a real network makes hard to time. */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { MAX_FRAME } from '@murmur/replicate'
import type { WebSocket as WsWebSocket } from 'ws'
import {
  type SocketEvent,
  truncateReason,
  type WebSocketConstructor,
  type WebSocketLike,
  wsChannel,
} from '../src/index.js'
import type { NodeWebSocket } from '../src/node.js'

/** Never called: the compiler checks that the browser's and `ws`'s WebSocket classes both fit. */
export function socketClassesFit(
  browser: typeof globalThis.WebSocket,
  ws: typeof WsWebSocket,
  node: typeof NodeWebSocket,
): WebSocketConstructor[] {
  return [browser, ws, node]
}

class FakeSocket implements WebSocketLike {
  binaryType = 'blob'
  bufferedAmount = 0
  readyState = 1
  readonly sent: Uint8Array[] = []
  closedWith: { code: number | undefined; reason: string | undefined } | undefined
  readonly #listeners = new Map<string, ((event: SocketEvent) => void)[]>()

  send(data: Uint8Array<ArrayBuffer>): void {
    this.sent.push(data)
  }

  close(code?: number, reason?: string): void {
    this.closedWith = { code, reason }
    this.readyState = 2
  }

  addEventListener(type: string, listener: (event: SocketEvent) => void): void {
    this.#listeners.set(type, [...(this.#listeners.get(type) ?? []), listener])
  }

  emit(event: SocketEvent): void {
    for (const fn of this.#listeners.get(event.type) ?? []) fn(event)
  }

  message(data: unknown): void {
    this.emit({ type: 'message', data })
  }
}

const bytes = (...b: number[]) => new Uint8Array(b).buffer

test('wsChannel sets binary frames as array buffers and passes bufferedAmount through', () => {
  const socket = new FakeSocket()
  const channel = wsChannel(socket)
  assert.equal(socket.binaryType, 'arraybuffer')
  socket.bufferedAmount = 12345
  assert.equal(channel.bufferedAmount, 12345)
  channel.send(new Uint8Array([1, 2]))
  assert.deepEqual(socket.sent, [new Uint8Array([1, 2])])
  assert.throws(() => channel.send(new Uint8Array(MAX_FRAME + 1)), RangeError)
  assert.throws(() => wsChannel(Object.assign(new FakeSocket(), { readyState: 0 })), TypeError)
})

test('frames that arrive before anyone listens go to the first listener, in order', async () => {
  const socket = new FakeSocket()
  const channel = wsChannel(socket)
  socket.message(bytes(1))
  socket.message(bytes(2))
  const got: number[] = []
  channel.onFrame((f) => got.push(f[0] as number))
  channel.onFrame(() => {}) // a second listener does not hand the held frames over twice
  socket.message(bytes(3)) // arrives before the hand-over (same turn): queued behind them
  assert.deepEqual(got, [])
  await Promise.resolve()
  socket.message(bytes(4))
  assert.deepEqual(got, [1, 2, 3, 4])
})

test('frames nobody reads are held up to a bound, then the socket is closed', () => {
  const socket = new FakeSocket()
  const channel = wsChannel(socket, { maxHeldBytes: 3000 })
  const reasons: string[] = []
  channel.onClose((r) => reasons.push(r))
  for (let i = 0; i < 3; i++) socket.message(new ArrayBuffer(1000))
  assert.equal(socket.readyState, 1, 'still open')
  socket.message(bytes(1))
  assert.deepEqual(socket.closedWith, { code: 1011, reason: 'frames were not read' })
  assert.deepEqual(reasons, ['frames were not read'])
})

test('text and oversized frames are dropped and counted; past the limit the socket closes with 1008', async () => {
  const socket = new FakeSocket()
  const channel = wsChannel(socket, { maxInvalidFrames: 2 })
  const got: Uint8Array[] = []
  channel.onFrame((f) => got.push(f))
  await Promise.resolve() // past the hand-over of held frames (none)
  socket.message('text')
  socket.message(new ArrayBuffer(MAX_FRAME + 1))
  socket.message(new ArrayBuffer(MAX_FRAME))
  assert.equal(channel.invalidFrames, 2)
  assert.equal(socket.readyState, 1, 'still open')
  socket.message(new Blob(['not an array buffer']))
  const { code, reason } = socket.closedWith ?? {}
  assert.equal(code, 1008)
  assert.match(reason ?? '', /^too many invalid frames \(3\)/)
  assert.ok(new TextEncoder().encode(reason).length <= 123)
  socket.message(new ArrayBuffer(1))
  assert.deepEqual(
    got.map((f) => f.length),
    [MAX_FRAME],
    'nothing is delivered after close',
  )
})

test('onClose fires once: on an error with "connection lost" and its detail, else with the close reason', () => {
  const a = new FakeSocket()
  const ca = wsChannel(a)
  const reasons: string[] = []
  ca.onClose((r) => reasons.push(r))
  a.emit({ type: 'error', message: 'read ECONNRESET' })
  a.emit({ type: 'close', code: 1006, reason: '' })
  ca.close('late')
  assert.deepEqual(reasons, ['connection lost (read ECONNRESET)'])
  assert.equal(a.closedWith, undefined, 'an ended channel does not close the socket again')

  const b = new FakeSocket()
  const cb = wsChannel(b)
  const off = cb.onClose(() => reasons.push('removed'))
  off()
  cb.onClose((r) => reasons.push(r))
  b.emit({ type: 'close', code: 1001, reason: '' })
  const c = new FakeSocket()
  const cc = wsChannel(c)
  cc.onClose((r) => reasons.push(r))
  c.emit({ type: 'close', code: 4000, reason: 'bye' })
  assert.deepEqual(reasons, ['connection lost (read ECONNRESET)', 'the other side went away', 'bye'])
  const d = new FakeSocket()
  const cd = wsChannel(d)
  cd.onClose((r) => reasons.push(r))
  d.emit({ type: 'error', message: 'Max payload size exceeded' })
  assert.equal(reasons.at(-1), 'closed: a frame was too large (over 64 KiB)')
})

test('a close reason is cut to 123 UTF-8 bytes, never inside a character', () => {
  assert.equal(truncateReason(''), '')
  assert.equal(truncateReason('a'.repeat(123)), 'a'.repeat(123))
  const cut = truncateReason('a'.repeat(124))
  assert.equal(cut, `${'a'.repeat(120)}…`)
  for (const s of ['é'.repeat(80), '😀'.repeat(40), `x${'中'.repeat(50)}`]) {
    const r = truncateReason(s)
    const n = new TextEncoder().encode(r).length
    assert.ok(n <= 123, `${n} bytes`)
    assert.ok(r.endsWith('…') && s.startsWith(r.slice(0, -1)), 'a prefix of whole characters')
    assert.ok(!r.includes('\uFFFD'))
  }
})
