/**
 * Peer exchange between always-on peers: C is given only A; A dials B; A tells C where B is,
 * and C (which may dial loopback addresses: --allow-private) connects to B on its own. And
 * `--announce` puts a `peer` message on the peer's own feed, once.
 */
import assert from 'node:assert/strict'
import { createSocket } from 'node:dgram'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { test } from 'node:test'
import { parseStun, readXorMappedAddress, stunBindingRequest } from '@murmur/net/stun'
import { murmurJson, start, stop, tempData } from './helpers.js'

async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = await check()
    if (v !== undefined) return v
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise((r) => setTimeout(r, 200))
  }
}

type Status = { peers: { remote?: string; state: string }[]; dialing: { url: string; source: string; state: string }[] }
type Log = { messages: { type: string; content: { urls?: string[] } }[] }

test('a peer learns another always-on peer by peer exchange and connects to it; --announce publishes a peer message once', {
  timeout: 120_000,
}, async () => {
  const dirs = await Promise.all([tempData(), tempData(), tempData()])
  const [a, b, c] = dirs as [(typeof dirs)[0], (typeof dirs)[0], (typeof dirs)[0]]
  const ids = await Promise.all(dirs.map((d) => murmurJson<{ id: string }>(['init', '--data', d.dir])))
  const bId = (ids[1] as { id: string }).id
  const serve = (d: { dir: string }, ...args: string[]) =>
    start(
      ['serve', '--port', '0', '--json', '--app', join(d.dir, 'no-app'), ...args, '--data', d.dir],
      /"ws": "(ws:\/\/[^"]+)"/,
    )
  const announced = 'wss://b.example.org/murmur'
  const B = await serve(b, '--announce', announced)
  const stops = [B.child]
  try {
    const A = await serve(a, '--peer', B.match[1] as string)
    stops.push(A.child)
    const C = await serve(c, '--peer', A.match[1] as string, '--allow-private')
    stops.push(C.child)
    // C never heard of B from anyone but A, and connects to it.
    await eventually(async () => {
      const s = await murmurJson<Status>(['status', '--json', '--data', c.dir])
      return s.peers.some((p) => p.remote === bId && p.state === 'ready') ? true : undefined
    })
    const s = await murmurJson<Status>(['status', '--json', '--data', c.dir])
    assert.ok(
      s.dialing.some((d) => d.url === B.match[1] && d.source === 'learned'),
      "B's address is in C's book as learned",
    )
    const log = await murmurJson<Log>(['log', bId, '--json', '--data', b.dir])
    const peers = log.messages.filter((m) => m.type === 'peer')
    assert.deepEqual(
      peers.map((m) => m.content.urls),
      [[announced]],
    )
  } finally {
    for (const child of stops.reverse()) assert.equal(await stop(child), 0)
  }
  // Started again with the same address, B does not announce it twice.
  const again = await serve(b, '--announce', announced)
  await stop(again.child)
  const log = await murmurJson<Log>(['log', bId, '--json', '--data', b.dir])
  assert.equal(log.messages.filter((m) => m.type === 'peer').length, 1)
  for (const d of dirs) await d.remove()
})

test('serve --stun answers STUN on UDP, names it in its well-known file and in its peer message', {
  timeout: 60_000,
}, async () => {
  const d = await tempData()
  const { id } = await murmurJson<{ id: string }>(['init', '--data', d.dir])
  const S = await start(
    [
      'serve',
      '--port',
      '0',
      '--json',
      '--stun',
      '--stun-port',
      '0',
      '--announce',
      'wss://peer.example.org/murmur',
      '--app',
      join(d.dir, 'no-app'),
      '--data',
      d.dir,
    ],
    /"stunPort": (\d+)/,
  )
  try {
    const stunPort = Number(S.match[1])
    const url = /"url": "([^"]+)"/.exec(S.output())?.[1] as string
    const known = (await (await fetch(new URL('/.well-known/murmur.json', url))).json()) as { stun?: string }
    assert.equal(known.stun, `stun:127.0.0.1:${stunPort}`)
    // A binding request from a UDP socket here gets this socket's own address back.
    const sock = createSocket('udp4')
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()))
    const answer = new Promise<Buffer>((r) => sock.once('message', (m) => r(m)))
    sock.send(stunBindingRequest(), stunPort, '127.0.0.1')
    const parsed = parseStun(new Uint8Array(await answer))
    assert.ok(typeof parsed !== 'string', String(parsed))
    assert.deepEqual(readXorMappedAddress(parsed), { family: 'IPv4', address: '127.0.0.1', port: sock.address().port })
    sock.close()
    const log = await murmurJson<Log & { messages: { content: { stun?: string[] } }[] }>([
      'log',
      id,
      '--json',
      '--data',
      d.dir,
    ])
    const peer = log.messages.find((m) => m.type === 'peer')
    assert.deepEqual(peer?.content, {
      urls: ['wss://peer.example.org/murmur'],
      stun: [`stun:peer.example.org:${stunPort}`],
    })
  } finally {
    assert.equal(await stop(S.child), 0)
    await d.remove()
  }
})

test('a peer learns addresses from the peer messages it already holds when it starts', {
  timeout: 90_000,
}, async () => {
  const [b, c] = await Promise.all([tempData(), tempData()])
  const { id: bId } = await murmurJson<{ id: string }>(['init', '--data', b.dir])
  await murmurJson(['init', '--data', c.dir])
  const port = await new Promise<number>((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const p = (srv.address() as AddressInfo).port
      srv.close(() => resolve(p))
    })
  })
  const bUrl = `ws://127.0.0.1:${port}/murmur`
  const B = await start(
    ['serve', '--port', String(port), '--json', '--announce', bUrl, '--app', join(b.dir, 'no-app'), '--data', b.dir],
    /"ws": "(ws:\/\/[^"]+)"/,
  )
  try {
    // C gets B's feed (and with it B's peer message) once, then B is nobody C was told about.
    await murmurJson(['follow', bId, '--data', c.dir])
    await murmurJson(['sync', bUrl, '--timeout', '30', '--data', c.dir])
    const C = await start(
      ['serve', '--port', '0', '--json', '--allow-private', '--app', join(c.dir, 'no-app'), '--data', c.dir],
      /"ws": "(ws:\/\/[^"]+)"/,
    )
    try {
      await eventually(async () => {
        const s = await murmurJson<Status>(['status', '--json', '--data', c.dir])
        return s.peers.some((p) => p.remote === bId && p.state === 'ready') ? true : undefined
      })
      const s = await murmurJson<Status>(['status', '--json', '--data', c.dir])
      assert.ok(s.dialing.some((d) => d.url === bUrl && d.source === 'learned'))
    } finally {
      assert.equal(await stop(C.child), 0)
    }
  } finally {
    assert.equal(await stop(B.child), 0)
    await Promise.all([b.remove(), c.remove()])
  }
})
