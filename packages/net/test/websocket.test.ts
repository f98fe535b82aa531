import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import { test } from 'node:test'
import { isMurmurError } from '@murmur/core'
import { MAX_FRAME } from '@murmur/replicate'
import { truncateReason, type WsChannel } from '../src/index.js'
import { listen, nodeDial } from '../src/node.js'
import { closed, frameOf, frames, indexOf, rawClient, socketClosed, testServer, waitUntil, within } from './helpers.js'

test('frames round-trip both ways in order, up to a 64 KiB frame', async () => {
  const server = await testServer()
  try {
    assert.match(server.url, /^ws:\/\/127\.0\.0\.1:\d+\/murmur$/)
    const client = await nodeDial(server.url)
    const { channel: remote, info } = await server.accepted()
    assert.equal(info.remoteAddress, '127.0.0.1')
    assert.equal(info.url, '/murmur')
    assert.equal(server.connections, 1)

    const big = new Uint8Array(MAX_FRAME)
    for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 255
    const toServer = frames(remote, 1002)
    const toClient = frames(client, 1002)
    client.send(big)
    remote.send(big)
    for (let i = 0; i < 1000; i++) {
      client.send(frameOf(i))
      remote.send(frameOf(i, 16))
    }
    client.send(new Uint8Array(0))
    remote.send(new Uint8Array(0))
    assert.equal(typeof client.bufferedAmount, 'number')
    assert.equal(typeof remote.bufferedAmount, 'number')

    for (const [got, size] of [
      [await toServer, 8],
      [await toClient, 16],
    ] as const) {
      assert.deepEqual(got[0], big)
      assert.deepEqual(
        got.slice(1, 1001).map(indexOf),
        Array.from({ length: 1000 }, (_, i) => i),
      )
      assert.ok(got.slice(1, 1001).every((f) => f.length === size))
      assert.equal(got[1001]?.length, 0)
    }
    assert.throws(() => client.send(new Uint8Array(MAX_FRAME + 1)), RangeError)
    client.close()
  } finally {
    await server.close()
  }
})

test('a sent frame is copied: changing the buffer after send changes nothing', async () => {
  const server = await testServer()
  try {
    const client = await nodeDial(server.url)
    const { channel: remote } = await server.accepted()
    const got = frames(remote, 1)
    const buf = new Uint8Array(32 * 1024).fill(1)
    client.send(buf)
    buf.fill(2)
    assert.ok((await got)[0]?.every((b) => b === 1))
    client.close()
  } finally {
    await server.close()
  }
})

test('close reasons arrive on the other side, either way, cut to 123 bytes', async () => {
  const server = await testServer()
  try {
    const a = await nodeDial(server.url)
    const { channel: a2 } = await server.accepted()
    const aClosed = closed(a)
    const a2Closed = closed(a2)
    a.close('going offline')
    assert.equal(await aClosed, 'going offline', 'the closing side hears its own reason')
    assert.equal(await a2Closed, 'going offline')
    a.send(new Uint8Array(1)) // after close: dropped, no throw

    const b = await nodeDial(server.url)
    const { channel: b2 } = await server.accepted()
    const long = `blocked: ${'é'.repeat(100)}`
    const bClosed = closed(b)
    b2.close(long)
    const reason = await bClosed
    assert.equal(reason, truncateReason(long))
    assert.ok(reason.endsWith('…') && long.startsWith(reason.slice(0, -1)))
    assert.ok(new TextEncoder().encode(reason).length <= 123)
    assert.equal(truncateReason('short'), 'short')
    // onClose fires once, and a late listener removal is harmless.
    let calls = 0
    const off = b2.onClose(() => calls++)
    b2.close('again')
    off()
    assert.equal(calls, 0)
    await waitUntil('the server to count the connections closed', () => server.connections === 0)
  } finally {
    await server.close()
  }
})

test('an oversized frame closes only the socket that sent it', async () => {
  const server = await testServer()
  try {
    const good = await nodeDial(server.url)
    const { channel: goodRemote } = await server.accepted()
    const bad = await rawClient(server.url)
    const { channel: badRemote } = await server.accepted()
    let badFrames = 0
    badRemote.onFrame(() => badFrames++)
    const badClosed = socketClosed(bad)
    const badRemoteClosed = closed(badRemote)
    bad.send(new Uint8Array(MAX_FRAME + 1))
    assert.equal((await badClosed).code, 1009)
    await badRemoteClosed
    assert.equal(badFrames, 0)

    const echo = frames(good, 1)
    goodRemote.onFrame((f) => goodRemote.send(f))
    good.send(frameOf(7))
    assert.equal(indexOf((await echo)[0] as Uint8Array), 7)
    assert.equal(server.connections, 1)
    good.close()
  } finally {
    await server.close()
  }
})

test('text frames are dropped and counted; too many close the socket with 1008', async () => {
  const server = await testServer()
  try {
    const raw = await rawClient(server.url)
    const { channel } = await server.accepted()
    const got = frames(channel, 1)
    raw.send('hello')
    raw.send(new Uint8Array([1, 2, 3]))
    assert.deepEqual((await got)[0], new Uint8Array([1, 2, 3]))
    assert.equal(channel.invalidFrames, 1)

    const rawClosed = socketClosed(raw)
    const channelClosed = closed(channel)
    for (let i = 0; i < 8; i++) raw.send(`text ${i}`)
    const { code, reason } = await rawClosed
    assert.equal(code, 1008)
    assert.match(reason, /too many invalid frames/)
    assert.match(await channelClosed, /too many invalid frames/)
  } finally {
    await server.close()
  }
})

test('connections over the total limit are refused with 1013 and a reason', async () => {
  const server = await testServer({ maxConnections: 2, maxPerAddress: 10 })
  try {
    const a = await nodeDial(server.url)
    const b = await nodeDial(server.url)
    await server.accepted()
    await server.accepted()
    const c = await nodeDial(server.url)
    assert.match(await closed(c), /too many connections \(2\); try again later/)
    assert.equal(server.connections, 2)
    // A place frees up when a connection closes.
    a.close()
    await waitUntil('the server to see the close', () => server.connections === 1)
    const d = await nodeDial(server.url)
    await server.accepted()
    assert.equal(server.connections, 2)
    b.close()
    d.close()
  } finally {
    await server.close()
  }
})

test('connections over the per-address limit are refused with 1013 and a reason', async () => {
  const server = await testServer({ maxConnections: 10, maxPerAddress: 2 })
  try {
    const raw1 = await rawClient(server.url)
    const raw2 = await rawClient(server.url)
    await server.accepted()
    await server.accepted()
    const raw3 = await rawClient(server.url)
    const { code, reason } = await socketClosed(raw3)
    assert.equal(code, 1013)
    assert.equal(reason, 'too many connections from 127.0.0.1 (2)')
    assert.equal(server.connections, 2)
    raw1.close()
    raw2.close()
  } finally {
    await server.close()
  }
})

test('closing the listener closes its connections with a reason', async () => {
  const server = await testServer()
  const client = await nodeDial(server.url)
  const { channel: remote } = await server.accepted()
  const clientClosed = closed(client)
  const remoteClosed = closed(remote)
  await within(3000, 'the listener to close', server.close())
  assert.equal(await clientClosed, 'the peer is shutting down')
  assert.equal(await remoteClosed, 'the peer is shutting down')
  assert.equal(server.connections, 0)
})

test('a listener attaches to an existing HTTP server on its path and leaves the server running', async () => {
  const http = createServer((_req, res) => res.end('hello'))
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
  const accepted: WsChannel[] = []
  const listener = await listen({ server: http, path: '/peer', onChannel: (c) => accepted.push(c) })
  try {
    const { port } = http.address() as { port: number }
    assert.equal(listener.port, port)
    assert.equal(listener.url, `ws://127.0.0.1:${port}/peer`)
    const client = await nodeDial(`${listener.url}?v=1`)
    await waitUntil('the connection to be accepted', () => accepted.length === 1)
    const echo = frames(client, 1)
    accepted[0]?.onFrame((f) => accepted[0]?.send(f))
    client.send(frameOf(5))
    assert.equal(indexOf((await echo)[0] as Uint8Array), 5)
    // Another path is not ours: with no other upgrade handler, it is answered with 404.
    await assert.rejects(
      nodeDial(`ws://127.0.0.1:${port}/elsewhere`),
      (e: unknown) => isMurmurError(e, 'UNREACHABLE') && /404/.test(e.message),
    )
    const clientClosed = closed(client)
    await listener.close()
    assert.equal(await clientClosed, 'the peer is shutting down')
    assert.ok(http.listening, "the HTTP server is the caller's to close")
    const res = await fetch(`http://127.0.0.1:${port}/`)
    assert.equal(await res.text(), 'hello')
  } finally {
    await listener.close()
    http.closeAllConnections()
    await new Promise((resolve) => http.close(resolve))
  }
})

test('our own server answers plain HTTP with 426, and a taken port fails with a clear error', async () => {
  const server = await testServer()
  try {
    const res = await fetch(`http://127.0.0.1:${server.port}/murmur`)
    assert.equal(res.status, 426)
    assert.match(await res.text(), /Murmur peer/)
    await assert.rejects(
      listen({ port: server.port, onChannel: () => {} }),
      (e: unknown) =>
        isMurmurError(e, 'LISTEN_FAILED') && e.message === `cannot listen on 127.0.0.1:${server.port}: EADDRINUSE`,
    )
  } finally {
    await server.close()
  }
})
