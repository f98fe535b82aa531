import assert from 'node:assert/strict'
import { test } from 'node:test'
import { equalBytes, type FeedId } from '@murmur/core'
import type { Store } from '@murmur/store'
import { encodeMsgs, type Frame } from '../src/frames.js'
import { Replicator } from '../src/replicator.js'
import { ed, FeedWriter, identity, link, makePeer, rawPeer, seqOf, until } from './helpers.js'

const TAIL = { fromHops: 2, messages: 10 }

/** The seqs of `feed` a store holds: its first and its head. */
async function span(store: Store, feed: FeedId): Promise<{ first: number; seq: number } | undefined> {
  const s = await store.feedState(feed)
  return s && { first: s.first, seq: s.seq }
}

async function appendAll(store: Store, msgs: Parameters<Store['appendMany']>[0]) {
  for (const r of await store.appendMany(msgs)) assert.equal(r.kind, 'appended')
}

test('tail: a new peer takes its follows whole and only the newest part of 2-hop feeds, then live', async () => {
  const c = await makePeer(3)
  const b = await makePeer(2)
  await b.follow(c.id)
  for (let i = 0; i < 100; i++) await c.post(`c ${i}`)
  for (let i = 0; i < 30; i++) await b.post(`b ${i}`)
  await link(b, c)
  await until(async () => (await seqOf(b.store, c.id)) === 100, 'b to hold all of c')

  const a = await makePeer(1, { tail: TAIL })
  await a.follow(b.id)
  const { ab } = await link(a, b)
  await until(
    async () => (await seqOf(a.store, b.id)) === 31 && (await seqOf(a.store, c.id)) === 100,
    "a to get b and c's tail",
  )
  assert.deepEqual(await span(a.store, b.id), { first: 1, seq: 31 }, 'a follow is whole')
  assert.deepEqual(await span(a.store, c.id), { first: 91, seq: 100 }, 'a 2-hop feed is its newest 10')
  assert.equal(ab.counters().received, 31 + 10)
  assert.equal(ab.progress().expected, 31 + 10, 'progress expects the tail, not the whole feed')

  // Live: c's new posts reach a through b, on top of the suffix.
  for (let i = 0; i < 5; i++) await c.post(`c live ${i}`)
  await until(async () => (await seqOf(a.store, c.id)) === 105, "c's live posts at a")
  assert.deepEqual(await span(a.store, c.id), { first: 91, seq: 105 })

  // A peer without the option still gets every feed whole.
  const d = await makePeer(4)
  await d.follow(b.id)
  await link(d, b)
  await until(async () => (await seqOf(d.store, c.id)) === 105, 'd to get all of c')
  assert.deepEqual(await span(d.store, c.id), { first: 1, seq: 105 })

  // From a, which holds only a suffix of c: a peer asking for a tail gets what a has of it...
  const g = await makePeer(5, { tail: { fromHops: 2, messages: 20 } })
  await g.follow(b.id)
  const { ab: ga } = await link(g, a)
  await until(async () => (await seqOf(g.store, c.id)) === 105, "g to get c's tail from a")
  assert.deepEqual(await span(g.store, c.id), { first: 91, seq: 105 })
  // ...and a peer asking for the whole feed gets none of it (it could never complete it).
  const e = await makePeer(6)
  await e.follow(b.id)
  const { ab: ea, ba: ae } = await link(e, a)
  await until(() => ae.remoteSeq(c.id) === 0, "a to read e's clock entry for c")
  // a's sender looks at c before the post below (its feeds take turns in the order marked).
  const barrier = await b.post('after e asked for c')
  await until(async () => (await e.store.get(barrier.id)) !== undefined, 'the post after the ask')
  assert.equal(await seqOf(e.store, c.id), 0)

  for (const conn of [ab, ga, ea, ae]) assert.equal(conn.counters().invalid, 0)
  await Promise.all([a, b, c, d, e, g].map((p) => p.close()))
})

test('tail: peers serving one tail from different heads are not blamed; one past our head starts again', async () => {
  const a = await makePeer(1, { tail: TAIL })
  const b = await makePeer(2)
  const cw = new FeedWriter(await identity(30))
  const xw = new FeedWriter(await identity(31))
  const yw = new FeedWriter(await identity(32))
  const c = cw.keys.publicKey
  const cs = await cw.many(120)
  // a follows x, x follows c: c is 2 hops away. b holds x and c to 100.
  await appendAll(b.store, [await xw.next({ type: 'contact', content: { target: c, following: true } })])
  await appendAll(b.store, cs.slice(0, 100))
  await a.follow(xw.keys.publicKey)
  const r = await rawPeer(a.rep, 40)
  await until(() => r.credit() > 0, 'credit for r')
  const { ab } = await link(a, b)
  await until(async () => (await seqOf(a.store, c)) === 100, "c's tail from b")
  assert.deepEqual(await span(a.store, c), { first: 91, seq: 100 })
  const entryOf = (f: Frame) => (f.type === 'clock' ? f.entries.find((e) => equalBytes(e.feed, c)) : undefined)
  assert.equal(r.frames.map(entryOf).find((e) => e)?.tail, 10, 'r was asked for the same tail')

  // r serves the tail from its own, later head (120), after b's came: 85-87 fall before what a
  // holds now, 111-120 past its head. Neither is r's fault.
  const sent = r.frames.length
  r.session.send(encodeMsgs(cs.slice(84, 87).map((m) => m.bytes)))
  r.session.send(encodeMsgs(cs.slice(110, 120).map((m) => m.bytes)))
  // a asks r to start again after its head: an UNWANT of c, then a CLOCK at 100.
  await until(() => r.frames.slice(sent).some((f) => entryOf(f)?.seq === 100), 'the restart')
  const after = r.frames.slice(sent)
  const unwant = after.findIndex((f) => f.type === 'unwant' && f.feeds.some((feed) => equalBytes(feed, c)))
  assert.ok(unwant >= 0 && unwant < after.findIndex((f) => entryOf(f)?.seq === 100), 'UNWANT, then CLOCK')
  r.session.send(encodeMsgs(cs.slice(100, 120).map((m) => m.bytes)))
  await until(async () => (await seqOf(a.store, c)) === 120, 'the rest from r')
  assert.deepEqual(await span(a.store, c), { first: 91, seq: 120 })
  assert.equal(r.conn.counters().invalid, 0)
  assert.equal(r.conn.counters().duplicates, 3 + 10)
  assert.equal(r.conn.counters().received, 20)

  // A feed asked for whole (a follow) may not start past seq 1: that is a broken chain.
  await a.follow(yw.keys.publicKey)
  const ys = await yw.many(5)
  await until(
    () => r.frames.some((f) => f.type === 'clock' && f.entries.some((e) => equalBytes(e.feed, ys[0]!.value.author))),
    'the ask for y',
  )
  r.session.send(encodeMsgs(ys.slice(3).map((m) => m.bytes)))
  await until(() => r.conn.counters().rejected['broken-chain'] === 1, 'the suffix not asked for')
  await until(
    () => r.frames.some((f) => f.type === 'unwant' && f.feeds.some((feed) => equalBytes(feed, yw.keys.publicKey))),
    'y no longer asked of r',
  )
  assert.equal(await seqOf(a.store, yw.keys.publicKey), 0)
  assert.equal(ab.counters().invalid, 0)
  await Promise.all([a.close(), b.close()])
})

test('tail: two peers with different heads serve it at once, over slow links either way round', async (t) => {
  const cw = new FeedWriter(await identity(30))
  const xw = new FeedWriter(await identity(31))
  const c = cw.keys.publicKey
  const cs = await cw.many(120)
  const x1 = await xw.next({ type: 'contact', content: { target: c, following: true } })
  for (const slow of ['behind', 'ahead'] as const) {
    const a = await makePeer(1, { tail: TAIL })
    const behind = await makePeer(2) // holds c to 100
    const ahead = await makePeer(3) // holds c to 120
    await appendAll(behind.store, [x1, ...cs.slice(0, 100)])
    await appendAll(ahead.store, [x1, ...cs])
    const lag = { latencyMs: 30 }
    const { ab: toBehind } = await link(a, behind, slow === 'behind' ? lag : {})
    const { ab: toAhead } = await link(a, ahead, slow === 'ahead' ? lag : {})
    // Connected to both before c is wanted, so both are asked for its tail at once.
    await a.follow(xw.keys.publicKey)
    await until(async () => (await seqOf(a.store, c)) === 120, `all of the tail (${slow} is slow)`)
    const first = (await span(a.store, c))?.first
    assert.ok(first === 91 || first === 111, `the feed starts where one of the tails did, not at ${first}`)
    assert.equal(toBehind.counters().invalid + toAhead.counters().invalid, 0)
    const raced = toBehind.counters().duplicates + toAhead.counters().duplicates
    t.diagnostic(`${slow} slow: c starts at ${first}; ${raced} messages came in second`)
    await Promise.all([a.close(), behind.close(), ahead.close()])
  }
})

test('tail: options are checked', async () => {
  const a = await makePeer(1)
  const base = { store: a.store, ed, keys: a.keys }
  for (const tail of [
    { fromHops: 0, messages: 10 },
    { fromHops: 2, messages: 0 },
    { fromHops: 1.5, messages: 10 },
    { fromHops: 2, messages: Number.NaN },
  ]) {
    assert.throws(() => new Replicator({ ...base, tail }), { code: 'INVALID_ARGUMENT' }, JSON.stringify(tail))
  }
  assert.deepEqual(new Replicator({ ...base, tail: TAIL }).tail, TAIL)
  await a.close()
})
