import assert from 'node:assert/strict'
import { createServer, type Socket } from 'node:net'
import { test } from 'node:test'
import { isMurmurError } from '@murmur/core'
import { dial, Redialer, type RedialStatus, type WsChannel } from '../src/index.js'
import { NodeWebSocket, nodeDial } from '../src/node.js'
import { closed, frameOf, frames, indexOf, statusWhere, testServer, within } from './helpers.js'

/** A loopback port nobody listens on (it was free a moment ago). */
async function closedPort(): Promise<number> {
  const server = await testServer()
  const port = server.port
  await server.close()
  return port
}

test('dialling a closed port rejects quickly with a clear message', async () => {
  const url = `ws://127.0.0.1:${await closedPort()}/murmur`
  const started = performance.now()
  await within(
    3000,
    'the dial to fail',
    assert.rejects(nodeDial(url), (err: unknown) => {
      assert.ok(isMurmurError(err, 'UNREACHABLE'))
      assert.equal(err.message, `cannot connect to ${url}: connect ECONNREFUSED ${url.slice(5, -7)}`)
      return true
    }),
  )
  assert.ok(performance.now() - started < 2000)
})

test('a peer that never answers times out; bad URLs and a missing WebSocket class are refused', async () => {
  // A TCP server that accepts and then says nothing.
  const held = new Set<Socket>()
  const silent = createServer((s) => held.add(s))
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
  try {
    const { port } = silent.address() as { port: number }
    await within(
      3000,
      'the dial to time out',
      assert.rejects(nodeDial(`ws://127.0.0.1:${port}/murmur`, { timeoutMs: 150 }), (err: unknown) => {
        return (
          isMurmurError(err, 'TIMEOUT') && err.message === `no answer from ws://127.0.0.1:${port}/murmur within 150 ms`
        )
      }),
    )
    const aborted = new AbortController()
    const pending = nodeDial(`ws://127.0.0.1:${port}/murmur`, { signal: aborted.signal })
    aborted.abort(new Error('changed my mind'))
    await within(3000, 'the dial to abort', assert.rejects(pending, /changed my mind/))
  } finally {
    for (const s of held) s.destroy()
    await new Promise((resolve) => silent.close(resolve))
  }
  await assert.rejects(nodeDial('http://127.0.0.1:1/murmur'), (e: unknown) => isMurmurError(e, 'INVALID_ARGUMENT'))
  await assert.rejects(nodeDial('not a url'), (e: unknown) => isMurmurError(e, 'INVALID_ARGUMENT'))
  assert.equal((globalThis as { WebSocket?: unknown }).WebSocket, undefined, 'Node 20 has no WebSocket')
  await assert.rejects(dial('ws://127.0.0.1:1/murmur'), TypeError)
})

test('the Redialer reconnects after the server stops and restarts on the same port, backing off meanwhile', async () => {
  let server = await testServer()
  const port = server.port
  const channels: WsChannel[] = []
  const redialer = new Redialer(server.url, {
    WebSocket: NodeWebSocket,
    minDelayMs: 20,
    maxDelayMs: 1000,
    onChannel: (c) => channels.push(c),
  })
  const waits: RedialStatus[] = []
  redialer.onStatus((s) => {
    if (s.state === 'waiting') waits.push(s)
  })
  try {
    await statusWhere(redialer, (s) => s.state === 'open')
    assert.equal(redialer.status.connections, 1)
    const { channel: first } = await server.accepted()
    const lost = closed(channels[0] as WsChannel)
    await server.close()
    assert.equal(await lost, 'the peer is shutting down')

    // While the server is down: failures pile up and each wait is at least as long as the last.
    const down = await statusWhere(redialer, (s) => s.attempts >= 5)
    assert.ok(isMurmurError(down.lastError, 'UNREACHABLE'), String(down.lastError))
    assert.equal(down.lastCloseReason, 'the peer is shutting down')
    const delays = waits.map((s) => s.delayMs as number)
    assert.deepEqual(
      waits.map((s) => s.attempts),
      delays.map((_, i) => i + 1),
    )
    for (let i = 1; i < delays.length; i++) assert.ok((delays[i] as number) >= (delays[i - 1] as number), `${delays}`)
    assert.ok((delays.at(-1) as number) > (delays[0] as number), `${delays}`)
    assert.ok(
      delays.every((d, i) => d >= 10 * 2 ** i && d <= 20 * 2 ** i),
      `${delays}`,
    )
    const waiting = await statusWhere(redialer, (s) => s.state === 'waiting')
    assert.ok((waiting.nextRetryAt as number) > Date.now() - 1000)

    server = await testServer({ port })
    const { channel: second } = await server.accepted(5000)
    await statusWhere(redialer, (s) => s.state === 'open')
    assert.equal(redialer.status.connections, 2)
    assert.notEqual(second, first)
    const echo = frames(channels[1] as WsChannel, 1)
    second.send(frameOf(42))
    assert.equal(indexOf((await echo)[0] as Uint8Array), 42)

    const secondClosed = closed(second)
    await within(3000, 'the redialer to stop', redialer.stop())
    assert.equal(redialer.status.state, 'stopped')
    assert.equal(await secondClosed, 'stopped')
  } finally {
    await redialer.stop()
    await server.close()
  }
})

test('the Redialer never waits longer than maxDelayMs', async () => {
  const redialer = new Redialer(`ws://127.0.0.1:${await closedPort()}/murmur`, {
    WebSocket: NodeWebSocket,
    minDelayMs: 4,
    maxDelayMs: 16,
    onChannel: () => assert.fail('nothing listens there'),
  })
  const delays: number[] = []
  redialer.onStatus((s) => {
    if (s.state === 'waiting') delays.push(s.delayMs as number)
  })
  try {
    await statusWhere(redialer, (s) => s.attempts >= 8)
    assert.ok(delays.length >= 7)
    assert.ok(
      delays.slice(3).every((d) => d >= 8 && d <= 16),
      `${delays}`,
    )
  } finally {
    await redialer.stop()
  }
})

test('aborting the signal ends a Redialer that is waiting, and one that is connected', async () => {
  const url = `ws://127.0.0.1:${await closedPort()}/murmur`
  const controller = new AbortController()
  const redialer = new Redialer(url, {
    WebSocket: NodeWebSocket,
    minDelayMs: 10_000,
    signal: controller.signal,
    onChannel: () => assert.fail('nothing listens there'),
  })
  await statusWhere(redialer, (s) => s.state === 'waiting')
  controller.abort()
  await within(
    1000,
    'the aborted redialer to end',
    statusWhere(redialer, (s) => s.state === 'stopped'),
  )
  await within(1000, 'stop() after the abort', redialer.stop())

  const server = await testServer()
  const connected = new AbortController()
  const live = new Redialer(server.url, { WebSocket: NodeWebSocket, signal: connected.signal, onChannel: () => {} })
  try {
    const { channel } = await server.accepted()
    await statusWhere(live, (s) => s.state === 'open')
    const gone = closed(channel)
    connected.abort()
    assert.equal(await gone, 'stopped')
    await within(1000, 'the redialer to end', live.stop())
    assert.equal(live.status.state, 'stopped')
    assert.equal(live.status.connections, 1)
    // A signal aborted already: it never dials.
    const never = new Redialer(server.url, { WebSocket: NodeWebSocket, signal: connected.signal, onChannel: () => {} })
    await within(1000, 'the redialer to end', never.stop())
    assert.equal(never.status.connections, 0)
    assert.throws(
      () => new Redialer('https://x/', { onChannel: () => {} }),
      (e: unknown) => isMurmurError(e),
    )
  } finally {
    await live.stop()
    await server.close()
  }
})

test('retryNow dials at once instead of waiting out the backoff', async () => {
  const redialer = new Redialer(`ws://127.0.0.1:${await closedPort()}/murmur`, {
    WebSocket: NodeWebSocket,
    minDelayMs: 60_000,
    onChannel: () => assert.fail('nothing listens there'),
  })
  try {
    await statusWhere(redialer, (s) => s.state === 'waiting' && s.attempts === 1)
    redialer.retryNow()
    await within(
      5000,
      'a second attempt long before the minute of backoff',
      statusWhere(redialer, (s) => s.attempts === 2),
    )
  } finally {
    await redialer.stop()
  }
})
