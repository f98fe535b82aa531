/**
 * Replication over real WebSockets on loopback: the scenarios of packages/replicate/test, with a
 * `listen` server peer and `nodeDial`/`Redialer` clients instead of in-memory pairs.
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { createMsg, equalBytes, type FeedId, toHex, verifyForkProof } from '@murmur/core'
import { encodeClock, encodeMsgs, WIRE } from '@murmur/replicate'
import { Store } from '@murmur/store'
import { ClassicLevel } from 'classic-level'
import { Redialer, type WsChannel } from '../src/index.js'
import { NodeWebSocket } from '../src/node.js'
import { socketClosed, statusWhere, within } from './helpers.js'
import {
  connectionTo,
  dialPeer,
  ed,
  FeedWriter,
  identity,
  makePeer,
  rawWsPeer,
  seqOf,
  serve,
  sha256,
  Teardown,
  until,
} from './replicate-helpers.js'

const hexes = (feeds: FeedId[]) => new Set(feeds.map(toHex))

test('catch-up of hundreds of messages across several feeds, then live both ways', async (t) => {
  const down = new Teardown()
  try {
    const a = down.add(await makePeer(1), (p) => p.close())
    const b = down.add(await makePeer(2), (p) => p.close())
    const writers = await Promise.all([11, 12, 13].map(async (n) => new FeedWriter(await identity(n))))
    for (const w of writers) {
      await a.follow(w.keys.publicKey)
      await a.store.appendMany(await w.many(120))
    }
    for (let i = 0; i < 80; i++) await a.post(`a ${i}`)
    await a.follow(b.id)
    await b.follow(a.id)
    for (let i = 0; i < 30; i++) await b.post(`b ${i}`)
    const aSeq = await seqOf(a.store, a.id)

    const server = down.add(await serve(a), (l) => l.close())
    const t0 = performance.now()
    const toA = await dialPeer(b, server.url)
    const toB = await connectionTo(a.rep, b.id)
    await until(
      async () => {
        for (const w of writers) if ((await seqOf(b.store, w.keys.publicKey)) !== 120) return false
        return (await seqOf(b.store, a.id)) === aSeq && (await seqOf(a.store, b.id)) === 31
      },
      'catch-up',
      10_000,
    )
    const total = 3 * 120 + aSeq + 31
    t.diagnostic(`catch-up of ${total} messages over a WebSocket in ${(performance.now() - t0).toFixed(0)} ms`)
    assert.equal(toA.progress().received, 3 * 120 + aSeq)

    for (const [from, to] of [
      [a, b],
      [b, a],
    ] as const) {
      const t1 = performance.now()
      const msg = await from.post('live!')
      await until(async () => (await to.store.get(msg.id)) !== undefined, 'a live post', 2000)
      t.diagnostic(`live post arrived in ${(performance.now() - t1).toFixed(1)} ms`)
    }
    assert.equal(toA.counters().invalid + toB.counters().invalid, 0)
    assert.equal(toA.counters().duplicates + toB.counters().duplicates, 0)
  } finally {
    await down.run()
  }
})

test('relay: A -> B -> C, with A gone before C asks; a peer that dials later gets A from B too', async () => {
  const down = new Teardown()
  try {
    const a = down.add(await makePeer(1), (p) => p.close())
    const b = down.add(await makePeer(2), (p) => p.close())
    const c = down.add(await makePeer(3), (p) => p.close())
    const late = down.add(await makePeer(4), (p) => p.close())
    await b.follow(a.id)
    await late.follow(a.id)
    const server = down.add(await serve(b), (l) => l.close())
    const cToB = await dialPeer(c, server.url)
    const aToB = await dialPeer(a, server.url)
    // Posted live, in a burst, while both are connected: B takes them all; C does not want them yet.
    for (let i = 0; i < 40; i++) await a.post(`from a ${i}`)
    await until(async () => (await seqOf(b.store, a.id)) === 40, 'B to get A')
    assert.equal(await seqOf(c.store, a.id), 0)
    const bToA = await connectionTo(b.rep, a.id)
    await a.close()
    assert.equal((await within(5000, 'A offline', aToB.closed)).code, 'local')
    await within(5000, 'B to see A go', bToA.closed)
    await until(() => server.connections === 1, "the listener to drop A's socket")

    // C follows A now: its new want crosses the open socket, and B serves A from its store.
    await c.follow(a.id)
    await until(async () => (await seqOf(c.store, a.id)) === 40, 'C to get A through B')
    assert.equal(cToB.counters().received, 40)
    // A peer that dials after A has gone gets A's feed from B the same way.
    const lateToB = await dialPeer(late, server.url)
    await until(async () => (await seqOf(late.store, a.id)) === 40, 'the late peer to get A through B')
    assert.equal(cToB.counters().invalid + lateToB.counters().invalid, 0)
  } finally {
    await down.run()
  }
})

test('scope: two hops of follows, never three; a blocked feed is not replicated, even live', async () => {
  const down = new Teardown()
  try {
    // C -> B -> D -> E, and B -> F, which C blocks. B serves; D, E, F are feeds B holds.
    const b = down.add(await makePeer(2), (p) => p.close())
    const c = down.add(await makePeer(3), (p) => p.close())
    const [d, e, f] = await Promise.all([4, 5, 6].map(async (n) => new FeedWriter(await identity(n))))
    const id = (w: FeedWriter | undefined) => (w as FeedWriter).keys.publicKey
    await b.store.appendMany([await d!.next({ type: 'contact', content: { target: id(e), following: true } })])
    await b.store.appendMany(await d!.many(5))
    await b.store.appendMany(await e!.many(5))
    await b.store.appendMany(await f!.many(5))
    await b.follow(id(d))
    await b.follow(id(f))
    for (let i = 0; i < 3; i++) await b.post(`b ${i}`)
    await c.follow(b.id)
    await c.block(id(f))
    const server = down.add(await serve(b), (l) => l.close())
    await dialPeer(c, server.url)
    const bToC = await connectionTo(b.rep, c.id)
    await until(
      async () => (await seqOf(c.store, b.id)) === 5 && (await seqOf(c.store, id(d))) === 6,
      'B (1 hop) and D (2 hops)',
    )
    const wanted = hexes(await c.rep.wanted())
    assert.ok(wanted.has(toHex(b.id)) && wanted.has(toHex(id(d))))
    for (const w of [e, f]) {
      assert.equal(wanted.has(toHex(id(w))), false)
      assert.equal(await seqOf(c.store, id(w)), 0)
    }

    // C blocks D while connected: once B has the UNWANT, D's new message is never sent to C.
    const before = bToC.status().remoteWants
    await c.block(id(d))
    await until(() => bToC.status().remoteWants === before - 1, 'the UNWANT over the socket')
    const sent = bToC.counters().sent
    await b.store.appendMany([await d!.next()])
    const fence = await b.post('after the block')
    await until(async () => (await c.store.get(fence.id)) !== undefined, "B's post after the block")
    assert.equal(bToC.counters().sent, sent + 1, "only B's post was sent")
    assert.equal(await seqOf(c.store, id(d)), 6)
  } finally {
    await down.run()
  }
})

test('blobs: a 300 KiB blob of a followed author crosses in chunks and is verified', async () => {
  const down = new Teardown()
  try {
    const a = down.add(await makePeer(1), (p) => p.close())
    const b = down.add(await makePeer(2), (p) => p.close())
    const c = down.add(await makePeer(3), (p) => p.close())
    const bytes = new Uint8Array(300 * 1024)
    for (let i = 0; i < bytes.length; i += 65536) crypto.getRandomValues(bytes.subarray(i, i + 65536))
    const cid = await a.store.blobs.put(bytes)
    await a.post('a picture', { blobs: [{ link: cid, type: 'image/png', size: bytes.length }] })
    await b.follow(a.id)
    const server = down.add(await serve(a), (l) => l.close())
    // B follows A: it fetches the blobs of A's posts by itself.
    const bToA = await dialPeer(b, server.url)
    await until(() => b.store.blobs.has(cid), 'the automatic fetch', 5000)
    assert.ok(equalBytes((await b.store.blobs.get(cid)) as Uint8Array, bytes))
    assert.equal(bToA.counters().blobsReceived, 1)
    assert.ok(bToA.counters().bytesIn > bytes.length, 'the bytes came over the socket')
    // C follows nobody: it asks for the blob by id.
    await dialPeer(c, server.url)
    assert.ok(equalBytes(await c.rep.fetchBlob(cid, { timeoutMs: 5000 }), bytes))
    assert.equal(a.rep.status().rejected['bad-blob'] + b.rep.status().rejected['bad-blob'], 0)
  } finally {
    await down.run()
  }
})

test('reconnect: a redialing client gets a post made after the server restarted on its store', async () => {
  const down = new Teardown()
  try {
    const dir = down.add(await mkdtemp(join(tmpdir(), 'murmur-restart-')), (d) =>
      rm(d, { recursive: true, force: true }),
    )
    const sKeys = await identity(1)
    const openDisk = () =>
      Store.open(new ClassicLevel(dir, { keyEncoding: 'view', valueEncoding: 'view' }), { me: sKeys.publicKey })
    const s1 = down.add(await makePeer(1, {}, await openDisk()), (p) => p.close())
    const c = down.add(await makePeer(2), (p) => p.close())
    await c.follow(s1.id)
    for (let i = 0; i < 5; i++) await s1.post(`before ${i}`)
    const first = down.add(await serve(s1), (l) => l.close())
    const port = first.port
    const channels: WsChannel[] = []
    const redialer = down.add(
      new Redialer(first.url, {
        WebSocket: NodeWebSocket,
        timeoutMs: 2000,
        minDelayMs: 20,
        maxDelayMs: 200,
        onChannel(channel) {
          channels.push(channel)
          c.rep.connect(channel, { initiator: true })
        },
      }),
      (r) => r.stop(),
    )
    await until(async () => (await seqOf(c.store, s1.id)) === 5, 'the first catch-up')

    // The server stops: its replicator and listener close; its store is closed and reopened.
    await first.close()
    await s1.close()
    await statusWhere(redialer, (s) => s.state !== 'open')
    await until(() => c.rep.connections().length === 0, 'the client to see the server go')
    const s2 = down.add(await makePeer(1, {}, await openDisk()), (p) => p.close())
    assert.equal(await seqOf(s2.store, s2.id), 5, 'the store kept its feed')
    down.add(await serve(s2, { port }), (l) => l.close())

    await statusWhere(redialer, (s) => s.state === 'open' && s.connections === 2)
    await connectionTo(s2.rep, c.id)
    const after = await s2.post('after the restart')
    await until(async () => (await c.store.get(after.id)) !== undefined, 'the post after the restart', 3000)
    assert.equal(channels.length, 2)
    assert.equal(await seqOf(c.store, s2.id), 6)
  } finally {
    await down.run()
  }
})

test('a misbehaving peer over a real socket is counted item by item; the honest client goes on', async () => {
  const down = new Teardown()
  try {
    const v = down.add(await makePeer(1, { limits: { window: 128 * 1024, maxInvalid: 50 } }), (p) => p.close())
    const h = down.add(await makePeer(2), (p) => p.close())
    const x = new FeedWriter(await identity(50))
    const y = new FeedWriter(await identity(51))
    const xs = await x.many(5)
    await h.store.appendMany([...xs, ...(await y.many(3))])
    for (let i = 0; i < 4; i++) await h.post(`honest ${i}`)
    await h.follow(v.id)
    for (const feed of [x.keys.publicKey, y.keys.publicKey, h.id]) await v.follow(feed)
    const channels: WsChannel[] = []
    const server = down.add(await serve(v, { channels }), (l) => l.close())

    // The honest client first: v gets x, y and h from it.
    const toVictim = await dialPeer(h, server.url)
    const honestSide = await connectionTo(v.rep, h.id)
    await until(
      async () =>
        (await seqOf(v.store, h.id)) === 5 &&
        (await seqOf(v.store, x.keys.publicKey)) === 5 &&
        (await seqOf(v.store, y.keys.publicKey)) === 3,
      'v to catch up from the honest client',
    )

    const r = await rawWsPeer(server.url, v.rep, 60)
    down.add(r.socket, (s) => s.terminate())
    const rawChannel = channels[1] as WsChannel
    await until(() => r.credit() > 0, 'credit from v')
    const rejected = () => r.conn.counters().rejected

    // 1. A forged signature on x's real next message.
    const forged = (await new FeedWriter(x.keys, xs[4]).next()).bytes.slice()
    forged[forged.length - 1] = (forged[forged.length - 1] as number) ^ 0x01
    r.session.send(encodeMsgs([forged]))
    await until(() => rejected()['bad-signature'] === 1, 'the forged signature')

    // 2. A fork: x signed another message at seq 5. A proof is kept; never the relay's fault.
    const other5 = await new FeedWriter(x.keys, xs[3]).next({ type: 'post', content: { text: 'another five' } })
    r.session.send(encodeMsgs([other5.bytes]))
    await until(() => v.rep.status().forks.length === 1, 'the fork')
    assert.equal(r.conn.counters().forks, 1)
    assert.equal(r.conn.counters().invalid, 1)

    // 3. A broken chain: y's seq 6 when v holds 3 (validly signed, but it does not follow on).
    const y6 = await createMsg(
      ed,
      y.keys,
      { seq: 5, id: other5.id },
      { type: 'post', content: { text: 'gap' } },
      sha256,
    )
    r.session.send(encodeMsgs([y6.bytes]))
    await until(() => rejected()['broken-chain'] === 1, 'the broken chain')

    // 4. Garbage: an unknown type, another version, a truncated clock, an unknown wire kind; and
    // text frames, which the channel drops before the protocol sees them (the last garbage frame,
    // sent after them on the same ordered socket, shows they were handled).
    r.session.send(new Uint8Array([(1 << 5) | 31, 1, 2]))
    r.session.send(new Uint8Array([4 << 5, 0]))
    r.session.send(encodeClock([{ feed: x.keys.publicKey, seq: 1, prefix: new Uint8Array(8) }]).subarray(0, 20))
    r.socket.send('not a binary frame')
    r.socket.send('nor this')
    r.channel.send(new Uint8Array([9, 1, 2, 3]))
    await until(() => rejected()['bad-frame'] === 6, 'the garbage frames (4 sealed, 2 text)')
    assert.equal(rawChannel.invalidFrames, 2)
    assert.equal(r.conn.state, 'ready', 'garbage under the limit does not disconnect')

    // 5. An oversized WebSocket frame: the server's `ws` refuses it (1009) and closes this socket only.
    const rawGone = socketClosed(r.socket)
    const huge = new Uint8Array(70_000).fill(7)
    huge[0] = WIRE.sealed
    r.socket.send(huge)
    assert.equal((await rawGone).code, 1009)
    const info = await within(5000, 'the raw connection to close', r.conn.closed)
    assert.equal(info.code, 'channel')
    assert.match(info.reason, /too large/)
    assert.equal(info.byRemote, true)

    // The honest client noticed nothing: connected, nothing held against it, live posts flow.
    assert.equal(toVictim.state, 'ready')
    assert.equal(honestSide.state, 'ready')
    assert.equal(toVictim.counters().invalid + honestSide.counters().invalid, 0)
    const toH = await v.post('to the honest client')
    await until(async () => (await h.store.get(toH.id)) !== undefined, 'the live post to h', 2000)
    const fromH = await h.post('still here')
    await until(async () => (await v.store.get(fromH.id)) !== undefined, 'the live post from h', 2000)

    // The status tells it all, by reason.
    const st = v.rep.status()
    assert.equal(st.rejected['bad-signature'], 1)
    assert.equal(st.rejected['broken-chain'], 1)
    assert.equal(st.rejected['bad-frame'], 6)
    assert.equal(st.rejected['oversized-frame'], 1, 'the frame the transport refused is counted too')
    const others = Object.entries(st.rejected).filter(
      ([k, n]) => n > 0 && !['bad-signature', 'broken-chain', 'bad-frame', 'oversized-frame'].includes(k),
    )
    assert.deepEqual(others, [], 'nothing else was counted')
    assert.equal(st.disconnected, 0, 'the socket was cut by the transport, not for invalid items')
    assert.equal(st.forks.length, 1)
    assert.ok(equalBytes(st.forks[0]!.author, x.keys.publicKey))
    const gone = st.recentlyClosed.find((p) => p.remote && equalBytes(p.remote, r.keys.publicKey))
    assert.equal(gone?.close?.code, 'channel')
    assert.equal(gone?.counters.invalid, 9)
    assert.equal(server.connections, 1)

    // Nothing invalid was stored: v's 3 follows and 1 post, x 1-5, y 1-3, h's 4 posts, follow and live post.
    assert.equal(v.store.size, 4 + 5 + 3 + 6)
    const head = await v.store.feedState(x.keys.publicKey)
    assert.ok(head?.forked && head.id.equals(xs[4]!.id), 'x stops at the fork, on the first branch')
    assert.equal(await seqOf(v.store, y.keys.publicKey), 3)
    assert.equal(await seqOf(v.store, r.keys.publicKey), 0)
    const proof = await v.store.forkProof(x.keys.publicKey)
    assert.ok(proof && (await verifyForkProof(ed, proof)).ok)
  } finally {
    await down.run()
  }
})
