/**
 * `serve --tracker`'s tracker (src/tracker.ts) on a real HTTP server on loopback, beside the
 * /murmur replication listener on the same port: two hand-written WebSocket clients meet and get
 * each other's offer and answer relayed; malformed and foreign messages are ignored or refused
 * without harm; a flood closes the socket; replication on /murmur still works; the well-known
 * file names the tracker.
 */
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer, request, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { keypairFromSeed } from '@murmur/core'
import { createSodiumEd25519 } from '@murmur/core/sodium'
import { listen, NodeWebSocket, nodeDial } from '@murmur/net/node'
import { PUBLIC_NETWORK_KEY, Replicator } from '@murmur/replicate'
import { Store } from '@murmur/store'
import { ClassicLevel } from 'classic-level'
import { siteHandler } from '../src/site.js'
import { type AttachedTracker, attachTracker, cleanAnnounce, trackerTopic } from '../src/tracker.js'

const TOPIC = Buffer.from(trackerTopic(PUBLIC_NETWORK_KEY), 'hex').toString('latin1')
const bin = (c: string) => c.repeat(20)

/** A WebSocket client that queues what it receives, so a test can wait for the next message. */
class Client {
  readonly ws: NodeWebSocket
  readonly #queue: unknown[] = []
  readonly #waiters: ((m: unknown) => void)[] = []
  closed: Promise<number>

  constructor(url: string) {
    this.ws = new NodeWebSocket(url)
    this.ws.on('message', (d) => {
      const m = JSON.parse(String(d)) as unknown
      const w = this.#waiters.shift()
      if (w) w(m)
      else this.#queue.push(m)
    })
    this.closed = new Promise((resolve) => this.ws.on('close', (code) => resolve(code)))
  }

  async opened(): Promise<void> {
    if (this.ws.readyState !== this.ws.OPEN) await once(this.ws, 'open')
  }

  send(m: unknown): void {
    this.ws.send(typeof m === 'string' ? m : JSON.stringify(m))
  }

  next(timeoutMs = 5000): Promise<Record<string, unknown>> {
    const queued = this.#queue.shift()
    if (queued !== undefined) return Promise.resolve(queued as Record<string, unknown>)
    return new Promise((resolve, reject) => {
      const waiter = (m: unknown) => {
        clearTimeout(timer)
        resolve(m as Record<string, unknown>)
      }
      const timer = setTimeout(() => {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1)
        reject(new Error('no message from the tracker in time'))
      }, timeoutMs)
      this.#waiters.push(waiter)
    })
  }

  /** Nothing arrives within `ms`. */
  async quiet(ms = 300): Promise<void> {
    await assert.rejects(this.next(ms))
  }
}

async function withServer(
  fn: (ctx: { server: Server; port: number; tracker: AttachedTracker; url: string }) => Promise<void>,
  opts: Parameters<typeof attachTracker>[1] = {},
) {
  const server = createServer()
  const tracker = attachTracker(server, opts)
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const port = (server.address() as AddressInfo).port
  try {
    await fn({ server, port, tracker, url: `ws://127.0.0.1:${port}/announce` })
  } finally {
    await tracker.close()
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
}

test('two clients meet on the tracker: an offer goes to the other, the answer comes back', async () => {
  await withServer(async ({ url, tracker }) => {
    const a = new Client(url)
    const b = new Client(url)
    await Promise.all([a.opened(), b.opened()])
    a.send({ action: 'announce', info_hash: TOPIC, peer_id: bin('a'), numwant: 0, offers: [], event: 'started' })
    const ra = await a.next()
    assert.equal(ra.action, 'announce')
    assert.equal(ra.info_hash, TOPIC)
    assert.equal(ra.interval, 120)

    const offer = { type: 'offer', sdp: 'v=0 offer of b' }
    b.send({
      action: 'announce',
      info_hash: TOPIC,
      peer_id: bin('b'),
      numwant: 1,
      offers: [{ offer, offer_id: bin('1') }],
    })
    assert.equal((await b.next()).action, 'announce') // b's own response
    const got = await a.next()
    assert.deepEqual(got, { action: 'announce', offer, offer_id: bin('1'), peer_id: bin('b'), info_hash: TOPIC })

    const answer = { type: 'answer', sdp: 'v=0 answer of a' }
    a.send({
      action: 'announce',
      info_hash: TOPIC,
      peer_id: bin('a'),
      to_peer_id: bin('b'),
      offer_id: bin('1'),
      answer,
    })
    const back = await b.next()
    assert.deepEqual(back, { action: 'announce', answer, offer_id: bin('1'), peer_id: bin('a'), info_hash: TOPIC })
    assert.deepEqual(tracker.status().swarms, { [trackerTopic(PUBLIC_NETWORK_KEY)]: 2 })
    a.ws.close()
    b.ws.close()
    await Promise.all([a.closed, b.closed])
  })
})

test('malformed, foreign and impersonating messages are dropped; the tracker keeps serving', async () => {
  await withServer(async ({ url, tracker }) => {
    const a = new Client(url)
    const b = new Client(url)
    await Promise.all([a.opened(), b.opened()])
    a.send({ action: 'announce', info_hash: TOPIC, peer_id: bin('a'), numwant: 0, offers: [] })
    await a.next()
    const bad: unknown[] = [
      'not json',
      'null',
      '[1,2]',
      { action: 'scrape', info_hash: TOPIC },
      { action: 'announce', info_hash: 'short', peer_id: bin('b') },
      { action: 'announce', info_hash: TOPIC, peer_id: '\u0100'.repeat(20) },
      // bittorrent-tracker alone would throw on these, outside its try: they must never reach it
      { action: 'announce', info_hash: TOPIC, peer_id: bin('b'), offers: [null] },
      { action: 'announce', info_hash: TOPIC, peer_id: bin('b'), offers: [{ offer: 5, offer_id: bin('2') }] },
      { action: 'announce', info_hash: TOPIC, peer_id: bin('b'), offers: 'many' },
      { action: 'announce', info_hash: TOPIC, peer_id: bin('b'), answer: { type: 'answer', sdp: 'x' } },
      { action: 'announce', info_hash: TOPIC, peer_id: bin('b'), event: 'explode' },
      {
        action: 'announce',
        info_hash: TOPIC,
        peer_id: bin('b'),
        offers: [{ offer: { type: 'offer', sdp: 'x'.repeat(20_000) }, offer_id: bin('3') }],
      },
    ]
    for (const m of bad) b.send(m)
    b.ws.send(Buffer.from([1, 2, 3])) // binary
    await b.quiet()
    await a.quiet()
    assert.equal(tracker.status().malformed, bad.length + 1)

    // Another network's topic (or any other torrent) is refused with a failure reason.
    b.send({ action: 'announce', info_hash: bin('z'), peer_id: bin('b'), numwant: 0, offers: [] })
    const refused = await b.next()
    assert.match(String(refused['failure reason']), /only Murmur/)

    // Good messages still work, from the same socket.
    const offer = { type: 'offer', sdp: 'v=0 still fine' }
    b.send({
      action: 'announce',
      info_hash: TOPIC,
      peer_id: bin('b'),
      numwant: 1,
      offers: [{ offer, offer_id: bin('4') }],
    })
    await b.next()
    assert.equal((await a.next()).offer_id, bin('4'))

    // The socket cannot then speak as another peer.
    b.send({ action: 'announce', info_hash: TOPIC, peer_id: bin('c'), numwant: 0, offers: [] })
    await b.quiet()
    assert.equal(tracker.status().malformed, bad.length + 2)

    // A frame over the size cap closes that socket (1009), and only that one.
    const big = new Client(url)
    await big.opened()
    big.ws.send('x'.repeat(70_000))
    assert.equal(await big.closed, 1009)
    a.send({ action: 'announce', info_hash: TOPIC, peer_id: bin('a'), numwant: 0, offers: [] })
    assert.equal((await a.next()).action, 'announce')
    a.ws.close()
    b.ws.close()
  })
})

test('a flood closes the socket; a socket that never announces is closed; the connection cap', async () => {
  await withServer(
    async ({ url, tracker }) => {
      const flood = new Client(url)
      await flood.opened()
      for (let i = 0; i < 20; i++)
        flood.send({ action: 'announce', info_hash: TOPIC, peer_id: bin('f'), numwant: 0, offers: [] })
      assert.equal(await flood.closed, 1008)
      assert.equal(tracker.status().rateLimited, 1)

      const idle = new Client(url)
      await idle.opened()
      assert.equal(await idle.closed, 1008)

      // (Loopback is exempt from the per-address cap, as behind a TLS proxy; the total cap holds.)
      const held = [new Client(url), new Client(url)]
      await Promise.all(held.map((c) => c.opened()))
      const third = new Client(url)
      assert.equal(await third.closed, 1013)
      assert.equal(tracker.status().refused, 1)
      for (const c of held) c.ws.close()
    },
    { burst: 5, refillMs: 60_000, firstAnnounceMs: 300, maxPerAddress: 1, maxConnections: 2 },
  )
})

test('replication on /murmur works on the same port; other paths get 404; well-known names the tracker', async () => {
  const dirs: string[] = []
  const ed = createSodiumEd25519()
  const peer = async (n: number) => {
    const dir = await mkdtemp(join(tmpdir(), 'murmur-tracker-'))
    dirs.push(dir)
    const seed = new Uint8Array(32).fill(n)
    const keys = await keypairFromSeed(ed, seed)
    const store = await Store.open(new ClassicLevel(dir, { keyEncoding: 'view', valueEncoding: 'view' }), {
      me: keys.publicKey,
    })
    return { keys, store, rep: new Replicator({ store, ed, keys }) }
  }
  const [a, b] = await Promise.all([peer(1), peer(2)])
  try {
    await b.store.publish(ed, b.keys, { type: 'post', content: { text: 'over /murmur' } })
    await a.store.publish(ed, a.keys, { type: 'contact', content: { target: b.keys.publicKey, following: true } })
    const server = createServer()
    server.on('request', siteHandler({ id: b.keys.publicKey, tls: false, appDir: undefined, trackerPath: '/announce' }))
    const listener = await listen({
      server,
      path: '/murmur',
      onChannel: (channel) => {
        b.rep.connect(channel, { initiator: false })
      },
    })
    const tracker = attachTracker(server)
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    const port = (server.address() as AddressInfo).port
    try {
      const conn = a.rep.connect(await nodeDial(`ws://127.0.0.1:${port}/murmur`), { initiator: true })
      await conn.ready
      const deadline = Date.now() + 10_000
      while ((await a.store.feedState(b.keys.publicKey))?.seq !== 1) {
        assert.ok(Date.now() < deadline, "b's post did not replicate over /murmur")
        await new Promise((r) => setTimeout(r, 50))
      }

      // An upgrade to a path nobody serves is answered, not left hanging.
      const stray = new NodeWebSocket(`ws://127.0.0.1:${port}/elsewhere`)
      const [err] = (await once(stray, 'error')) as [Error]
      assert.match(err.message, /404/)

      const res = await fetch(`http://127.0.0.1:${port}/.well-known/murmur.json`)
      const body = (await res.json()) as { tracker?: string }
      assert.equal(body.tracker, `ws://127.0.0.1:${port}/announce`)
      // A Host header that is no host name gets no tracker URL built from it.
      const forged = await new Promise<string>((resolve, reject) => {
        const req = request({
          port,
          host: '127.0.0.1',
          path: '/.well-known/murmur.json',
          headers: { host: 'evil"/><x' },
        })
        req.on('response', (r) => {
          let text = ''
          r.on('data', (d) => {
            text += d
          })
          r.on('end', () => resolve(text))
        })
        req.on('error', reject)
        req.end()
      })
      assert.equal((JSON.parse(forged) as { tracker?: string }).tracker, undefined)
    } finally {
      await tracker.close()
      await listener.close()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  } finally {
    await a.rep.close()
    await b.rep.close()
    await a.store.close()
    await b.store.close()
    for (const dir of dirs) await rm(dir, { recursive: true, force: true })
  }
})

test("the tracker's topic is the web app's (rtc/protocol.ts trackerTopic), and cleanAnnounce keeps only known fields", async () => {
  const web = await import(new URL('dist/src/rtc/protocol.js', import.meta.resolve('@murmur/web/package.json')).href)
  const key = new Uint8Array(32).fill(7)
  assert.equal(await web.trackerTopic(key), trackerTopic(key))
  assert.equal(await web.trackerTopic(PUBLIC_NETWORK_KEY), trackerTopic(PUBLIC_NETWORK_KEY))
  assert.deepEqual(
    cleanAnnounce(
      JSON.stringify({
        action: 'announce',
        info_hash: TOPIC,
        peer_id: bin('a'),
        numwant: 99,
        extra: { deep: 1 },
        left: 'x',
      }),
    ),
    { action: 'announce', info_hash: TOPIC, peer_id: bin('a') },
  )
})
