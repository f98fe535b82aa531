import assert from 'node:assert/strict'
import { test } from 'node:test'
import { equalBytes, type FeedId, toHex, verifyForkProof } from '@murmur/core'
import type { Store } from '@murmur/store'
import { memoryChannelPair } from '../src/channel.js'
import { Replicator } from '../src/replicator.js'
import { ed, FeedWriter, identity, link, makePeer, seqOf, until, within } from './helpers.js'

const hexes = (feeds: FeedId[]) => new Set(feeds.map(toHex))

async function appendAll(store: Store, msgs: Parameters<Store['appendMany']>[0]) {
  for (const r of await store.appendMany(msgs)) assert.equal(r.kind, 'appended')
}

test('two peers catch up on hundreds of messages across several feeds, then stay live', async (t) => {
  const a = await makePeer(1)
  const b = await makePeer(2)
  // a follows three feeds it already holds; b follows a, so it wants them too (2 hops), and a
  // follows b back.
  const writers = await Promise.all([11, 12, 13].map(async (n) => new FeedWriter(await identity(n))))
  for (const w of writers) {
    await a.follow(w.keys.publicKey)
    await appendAll(a.store, await w.many(150))
  }
  for (let i = 0; i < 100; i++) await a.post(`a ${i}`)
  await a.follow(b.id)
  await b.follow(a.id)
  for (let i = 0; i < 40; i++) await b.post(`b ${i}`)
  const aSeq = await seqOf(a.store, a.id)

  const t0 = performance.now()
  const { ab, ba } = await link(a, b)
  await until(async () => {
    for (const w of writers) if ((await seqOf(b.store, w.keys.publicKey)) !== 150) return false
    return (await seqOf(b.store, a.id)) === aSeq && (await seqOf(a.store, b.id)) === 41
  }, 'catch-up')
  const ms = performance.now() - t0
  const total = 3 * 150 + aSeq + 41
  t.diagnostic(`catch-up of ${total} messages in ${ms.toFixed(0)} ms (${Math.round((total / ms) * 1000)} msgs/s)`)
  assert.ok(hexes(await b.rep.wanted()).has(toHex(writers[0]!.keys.publicKey)), '2 hops: a follows w')
  assert.equal(ba.progress().received, 3 * 150 + aSeq)
  assert.ok(ba.progress().expected >= ba.progress().received)

  // Live, both ways, well under the bound.
  for (const [from, to] of [
    [a, b],
    [b, a],
  ] as const) {
    const t1 = performance.now()
    const msg = await from.post('live!')
    await until(async () => (await to.store.get(msg.id)) !== undefined, 'a live post', 2000)
    t.diagnostic(`live post arrived in ${(performance.now() - t1).toFixed(1)} ms`)
  }
  // Nothing was echoed back, nothing was invalid.
  assert.equal(ab.counters().invalid + ba.counters().invalid, 0)
  assert.equal(ab.counters().duplicates + ba.counters().duplicates, 0)
  await Promise.all([a.close(), b.close()])
})

test("a burst of live posts all arrive (a post during the sender's reads is not lost)", async () => {
  // Regression: the pump cleared a feed's "new messages" mark after its awaited store reads, so
  // a post appended during those reads was never sent until the next one came.
  const a = await makePeer(21)
  const b = await makePeer(22)
  await b.follow(a.id)
  await link(a, b)
  for (let i = 0; i < 50; i++) await a.post(`burst ${i}`)
  await until(async () => (await seqOf(b.store, a.id)) === 50, 'all 50 posts of the burst', 5000)
  await Promise.all([a.close(), b.close()])
})

test('catch-up and live over a link with latency and jitter', async () => {
  const a = await makePeer(1)
  const b = await makePeer(2)
  await b.follow(a.id)
  for (let i = 0; i < 200; i++) await a.post(`p ${i}`)
  await link(a, b, { latencyMs: 5, jitterMs: 10 })
  await until(async () => (await seqOf(b.store, a.id)) === 200, 'catch-up with jitter')
  const live = await a.post('live')
  await until(async () => (await b.store.get(live.id)) !== undefined, 'live with jitter', 2000)
  await Promise.all([a.close(), b.close()])
})

test('the want set follows the graph while connected: a new follow flows, a block stops it', async () => {
  const a = await makePeer(1)
  const b = await makePeer(2)
  for (let i = 0; i < 20; i++) await a.post(`a ${i}`)
  const { ab } = await link(a, b)
  assert.equal(await seqOf(b.store, a.id), 0)
  await b.follow(a.id)
  await until(async () => (await seqOf(b.store, a.id)) === 20, 'the new follow to replicate')
  // b blocks a: b no longer wants a, and a hears it (its view of b's wants shrinks).
  const before = ab.status().remoteWants
  await b.block(a.id)
  await until(() => ab.status().remoteWants === before - 1, 'the UNWANT')
  assert.equal(hexes(await b.rep.wanted()).has(toHex(a.id)), false)
  // From now on a never sends its feed to b: the post is not even queued for b.
  await a.post('after the block')
  assert.equal(ab.counters().sent, 20)
  assert.equal(await seqOf(b.store, a.id), 20)
  await Promise.all([a.close(), b.close()])
})

test('relay: A reaches C through B while A is offline', async () => {
  const a = await makePeer(1)
  const b = await makePeer(2)
  const c = await makePeer(3)
  await b.follow(a.id)
  await c.follow(a.id)
  for (let i = 0; i < 50; i++) await a.post(`from a ${i}`)
  const { ab } = await link(a, b)
  await until(async () => (await seqOf(b.store, a.id)) === 50, 'b to get a')
  await a.close()
  await within(ab.closed, 'a offline')
  const { ba: cb } = await link(c, b)
  await until(async () => (await seqOf(c.store, a.id)) === 50, 'c to get a through b')
  assert.equal(cb.counters().received, 0) // (cb is b's side: it received nothing from c)
  await Promise.all([b.close(), c.close()])
})

test('scope: two hops of follows, never three, never a blocked feed', async () => {
  const me = await makePeer(1)
  const src = await makePeer(2)
  const [f1, f2, f3, blocked, blocked2] = await Promise.all(
    [21, 22, 23, 24, 25].map(async (n) => new FeedWriter(await identity(n))),
  )
  const id = (w: FeedWriter | undefined) => (w as FeedWriter).keys.publicKey
  const contact = (target: FeedId) => ({ type: 'contact' as const, content: { target, following: true } })
  // me -> f1 -> f2 -> f3; me -> blocked (then blocks it); f1 -> blocked2, which me blocks.
  await appendAll(src.store, [await f1!.next(contact(id(f2))), await f1!.next(contact(id(blocked2)))])
  await appendAll(src.store, [await f2!.next(contact(id(f3))), ...(await f2!.many(5))])
  await appendAll(src.store, await f3!.many(5))
  await appendAll(src.store, await blocked!.many(5))
  await appendAll(src.store, await blocked2!.many(5))
  await me.follow(id(f1))
  await me.follow(id(blocked))
  await me.block(id(blocked))
  await me.block(id(blocked2))
  await link(me, src)
  await until(async () => (await seqOf(me.store, id(f2))) === 6, 'f2 (2 hops) to arrive')
  const wanted = hexes(await me.rep.wanted())
  assert.ok(wanted.has(toHex(id(f1))) && wanted.has(toHex(id(f2))))
  for (const w of [f3, blocked, blocked2]) {
    assert.equal(wanted.has(toHex(id(w))), false)
    assert.equal(await seqOf(me.store, id(w)), 0)
  }
  // hops is configurable: with 3, f3 comes too.
  const far = await makePeer(3, { hops: 3 })
  await far.follow(id(f1))
  await link(far, src)
  await until(async () => (await seqOf(far.store, id(f3))) === 5, 'f3 at 3 hops')
  await Promise.all([me.close(), src.close(), far.close()])
})

test("hosting: 'peers' hosts the remote's feed and its follows; 'follows' does not", async () => {
  const user = await makePeer(1)
  const friend = new FeedWriter(await identity(31))
  await appendAll(user.store, await friend.many(4))
  await user.follow(friend.keys.publicKey)
  for (let i = 0; i < 10; i++) await user.post(`user ${i}`)
  const userSeq = await seqOf(user.store, user.id)

  const host = await makePeer(2, { host: 'peers' })
  const { ab: toUser } = await link(host, user)
  await until(async () => (await seqOf(host.store, user.id)) === userSeq, "the user's own feed")
  await until(async () => (await seqOf(host.store, friend.keys.publicKey)) === 4, "the user's follows")
  const st = host.rep.status()
  assert.equal(st.hosted, 2)
  // The browser goes away: a third peer gets the user's posts from the host.
  toUser.close()
  await user.close()
  const reader = await makePeer(3)
  await reader.follow(user.id)
  await link(reader, host)
  await until(async () => (await seqOf(reader.store, user.id)) === userSeq, 'the user through the host')

  const strict = await makePeer(4, { host: 'follows' })
  const user2 = await makePeer(5)
  await user2.post('hello')
  const { ba } = await link(strict, user2)
  // Once the user has the strict peer's clock, it knows all it wants: only itself.
  await until(() => ba.status().remoteWants > 0, 'the clock')
  assert.equal(ba.status().remoteWants, 1)
  assert.equal(hexes(await strict.rep.wanted()).has(toHex(user2.id)), false)
  assert.equal(await seqOf(strict.store, user2.id), 0)
  await Promise.all([host.close(), reader.close(), strict.close(), user2.close()])
})

test('hosting limits: at most maxHostedFeeds beyond its own graph', async () => {
  const host = await makePeer(1, { host: 'peers', limits: { maxHostedFeeds: 1 } })
  const u1 = await makePeer(2)
  const u2 = await makePeer(3)
  await u1.post('one')
  await u2.post('two')
  await link(host, u1)
  await until(async () => (await seqOf(host.store, u1.id)) === 1, 'the first user')
  await link(host, u2)
  const wanted = hexes(await host.rep.wanted())
  assert.equal(wanted.has(toHex(u2.id)), false)
  assert.equal(host.rep.status().hosted, 1)
  await Promise.all([host.close(), u1.close(), u2.close()])
})

test('hosting limits: hosting stops taking more once hosted feeds reach their byte limit', async () => {
  const host = await makePeer(1, { host: 'peers', limits: { maxHostedBytes: 1000 } })
  const user = await makePeer(2)
  for (let i = 0; i < 3; i++) await user.post(`some text ${i} ${'y'.repeat(400)}`)
  await link(host, user)
  await until(() => !host.rep.status().hostingOpen, 'the byte limit')
  const st = host.rep.status()
  assert.ok(st.hostedBytes >= 1000)
  await until(async () => !hexes(await host.rep.wanted()).has(toHex(user.id)), 'hosting to stop')
  assert.equal(host.rep.status().hosted, 0)
  // What was taken is kept (and served); nothing more is asked for.
  assert.ok((await seqOf(host.store, user.id)) >= 2)
  await Promise.all([host.close(), user.close()])
})

test('misuse throws typed errors', async () => {
  const a = await makePeer(1)
  const base = { store: a.store, ed, keys: a.keys }
  assert.throws(() => new Replicator({ ...base, networkKey: new Uint8Array(5) }), { code: 'INVALID_ARGUMENT' })
  assert.throws(() => new Replicator({ ...base, hops: -1 }), { code: 'INVALID_ARGUMENT' })
  assert.throws(() => new Replicator({ ...base, limits: { window: 1000 } }), { code: 'INVALID_ARGUMENT' })
  const [c] = memoryChannelPair()
  assert.throws(() => a.rep.connect(c, { initiator: true, expectedRemote: new Uint8Array(3) }), {
    code: 'INVALID_ARGUMENT',
  })
  await a.close()
  assert.throws(() => a.rep.connect(c, { initiator: true }), { code: 'NOT_OPEN' })
})

test('flow control: a slow receiver never makes the sender buffer beyond the window', async () => {
  const window = 64 * 1024
  const a = await makePeer(1, { limits: { window, highWaterMark: window } })
  const b = await makePeer(2, { limits: { window, batchMessages: 50 } })
  await b.follow(a.id)
  const big = 'x'.repeat(1500)
  for (let i = 0; i < 400; i++) await a.post(`${i} ${big}`)
  // b's store is slow: every append waits.
  const append = b.store.appendMany.bind(b.store)
  let slowCalls = 0
  b.store.appendMany = async (msgs, opts) => {
    slowCalls++
    await new Promise((r) => setTimeout(r, 4))
    return append(msgs, opts)
  }
  const [ca, cb] = memoryChannelPair({ latencyMs: 1 })
  let maxBuffered = 0
  const send = ca.send.bind(ca)
  ca.send = (frame) => {
    send(frame)
    maxBuffered = Math.max(maxBuffered, ca.bufferedAmount)
  }
  const ab = a.rep.connect(ca, { initiator: true })
  b.rep.connect(cb, { initiator: false })
  await until(async () => (await seqOf(b.store, a.id)) === 400, 'the slow catch-up', 15000)
  assert.ok(slowCalls > 5, 'the store was slow many times')
  assert.ok(maxBuffered <= window + 2048, `buffered ${maxBuffered} > window ${window}`)
  assert.ok(ab.counters().sent >= 400)
  await Promise.all([a.close(), b.close()])
})

test('a fork seen through clocks: both branches at one seq give a proof, and the feed stops', async () => {
  const a = await makePeer(1)
  const b = await makePeer(2)
  const author = await identity(40)
  const base = new FeedWriter(author)
  const common = await base.many(3)
  const left = new FeedWriter(author, common[2])
  const right = new FeedWriter(author, common[2])
  await appendAll(a.store, [...common, await left.next({ type: 'post', content: { text: 'left' } })])
  await appendAll(b.store, [...common, await right.next({ type: 'post', content: { text: 'right' } })])
  await a.follow(author.publicKey)
  await b.follow(author.publicKey)
  const { ab, ba } = await link(a, b)
  await until(() => a.rep.status().forks.length === 1 && b.rep.status().forks.length === 1, 'both to see the fork')
  for (const p of [a, b]) {
    const proof = await p.store.forkProof(author.publicKey)
    assert.ok(proof)
    assert.equal((await verifyForkProof(ed, proof)).ok, true)
    assert.equal((await p.store.feedState(author.publicKey))?.forked, true)
    assert.equal(hexes(await p.rep.wanted()).has(toHex(author.publicKey)), false, 'the feed stops at the fork')
  }
  // Never the relaying peer's fault.
  assert.equal(ab.counters().invalid + ba.counters().invalid, 0)
  assert.ok(equalBytes(a.rep.status().forks[0]!.author, author.publicKey))
  await Promise.all([a.close(), b.close()])
})

test('a fork seen through a prev that does not match: the peer is asked, the proof is kept', async () => {
  const a = await makePeer(1)
  const b = await makePeer(2)
  const author = await identity(41)
  const common = await new FeedWriter(author).many(2)
  const left = new FeedWriter(author, common[1])
  const right = new FeedWriter(author, common[1])
  await appendAll(a.store, [...common, await left.next()])
  // b is ahead on the other branch: its seq 4 names its own seq 3.
  await appendAll(b.store, [...common, await right.next({ type: 'post', content: { text: 'r3' } }), await right.next()])
  await a.follow(author.publicKey)
  const { ab } = await link(a, b)
  await until(() => a.rep.status().forks.length === 1, 'a to see the fork')
  assert.equal(ab.counters().invalid, 0)
  assert.equal(ab.counters().forks, 1)
  await Promise.all([a.close(), b.close()])
})

test('a pinned feed replicates whole without a follow, and stops when unpinned', async () => {
  const a = await makePeer(1)
  const b = await makePeer(2)
  for (let i = 0; i < 30; i++) await a.post(`release ${i}`)
  await link(a, b)
  assert.equal(await seqOf(b.store, a.id), 0)
  await b.rep.pin([a.id])
  await until(async () => (await seqOf(b.store, a.id)) === 30, 'the pinned feed to replicate')
  assert.equal(await b.store.views.graph.isFollowing(b.id, a.id), false, 'no follow was written')
  await b.rep.pin([])
  assert.ok(!hexes(await b.rep.wanted()).has(toHex(a.id)), 'unpinned: no longer wanted')
  await Promise.all([a.close(), b.close()])
})
