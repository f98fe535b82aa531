import assert from 'node:assert/strict'
import { test } from 'node:test'
import { createMsg, equalBytes, verifyForkProof } from '@murmur/core'
import { encodeClock, encodeGet, encodeMsgs, WIRE } from '../src/frames.js'
import { ed, FeedWriter, identity, link, makePeer, rawPeer, seqOf, sha256, until, within } from './helpers.js'

test('a misbehaving peer is counted item by item and disconnected; an honest peer goes on untouched', async () => {
  const v = await makePeer(1, {
    limits: { window: 128 * 1024, controlPerSecond: 50, controlBurst: 50, maxInvalid: 50 },
  })
  const h = await makePeer(2)
  const x = new FeedWriter(await identity(50))
  const y = new FeedWriter(await identity(51))
  const xs = await x.many(5)
  const ys = await y.many(3)
  await h.store.appendMany([...xs, ...ys])
  for (let i = 0; i < 4; i++) await h.post(`honest ${i}`)
  for (const w of [x, y]) await v.follow(w.keys.publicKey)
  await v.follow(h.id)

  // The honest peer first: v gets x, y and h.
  const { ab: toHonest, ba: honestSide } = await link(v, h)
  await until(
    async () => (await seqOf(v.store, h.id)) === 4 && (await seqOf(v.store, y.keys.publicKey)) === 3,
    'v to catch up',
  )
  await until(async () => (await seqOf(v.store, x.keys.publicKey)) === 5, 'x')

  const r = await rawPeer(v.rep, 60, { maxFrame: 100_000 })
  await until(() => r.credit() > 0, 'credit from v')
  const rejected = () => r.conn.counters().rejected

  // 1. A forged signature on a real author's next message.
  const x6 = await new FeedWriter(x.keys, xs[4]).next()
  const forged = x6.bytes.slice()
  forged[forged.length - 1] = (forged[forged.length - 1] as number) ^ 0x01
  r.session.send(encodeMsgs([forged]))
  await until(() => rejected()['bad-signature'] === 1, 'the forged signature')

  // 2. A fork: the author signed another message at seq 5. Kept as a proof, never the relay's fault.
  const other5 = await new FeedWriter(x.keys, xs[3]).next({ type: 'post', content: { text: 'another five' } })
  r.session.send(encodeMsgs([other5.bytes]))
  await until(() => v.rep.status().forks.length === 1, 'the fork')
  assert.equal(r.conn.counters().forks, 1)
  assert.equal(r.conn.counters().invalid, 1)

  // 3. A broken chain: y's seq 6 when v holds 3 (validly signed, but it does not follow).
  const y6 = await createMsg(ed, y.keys, { seq: 5, id: x6.id }, { type: 'post', content: { text: 'gap' } }, sha256)
  r.session.send(encodeMsgs([y6.bytes]))
  await until(() => rejected()['broken-chain'] === 1, 'the broken chain')

  // 4. Garbage frames: an unknown type, another version, a truncated clock, an unknown wire kind.
  r.session.send(new Uint8Array([(1 << 5) | 31, 1, 2]))
  r.session.send(new Uint8Array([4 << 5, 0]))
  r.session.send(encodeClock([{ feed: x.keys.publicKey, seq: 1, prefix: new Uint8Array(8) }]).subarray(0, 20))
  r.channel.send(new Uint8Array([9, 1, 2, 3]))
  await until(() => rejected()['bad-frame'] === 4, 'the garbage frames')

  // 5. Oversized: a 70 kB wire frame (never opened), and a message over 8 KiB.
  const huge = new Uint8Array(70_000).fill(7)
  huge[0] = WIRE.sealed
  r.channel.send(huge)
  r.session.send(encodeMsgs([new Uint8Array(9000).fill(1)]))
  await until(() => rejected()['oversized-frame'] === 1 && rejected()['too-large'] === 1, 'the oversized items')

  // 6. A message of a feed v never asked for.
  const mine = await createMsg(ed, r.keys, undefined, { type: 'post', content: { text: 'take me' } }, sha256)
  r.session.send(encodeMsgs([mine.bytes]))
  await until(() => rejected().unwanted === 1, 'the unwanted message')

  // 7. Bulk data beyond the credit granted (128 KiB): the excess is dropped unread.
  for (let i = 0; i < 4; i++) r.session.send(encodeMsgs([new Uint8Array(60_000).fill(2)]))
  await until(
    () => rejected()['over-credit'] === 2 && rejected()['too-large'] === 3,
    `the excess ${JSON.stringify(rejected())}`,
  )

  // 8. A flood of requests: past the rate, each is counted, and past the limit r is disconnected.
  assert.equal(r.conn.state, 'ready')
  for (let i = 0; i < 200; i++) r.session.send(encodeGet(x.keys.publicKey, 1))
  const info = await within(r.closed, 'the disconnect')
  assert.equal(info.code, 'remote')
  assert.match(info.reason, /invalid items/)
  assert.equal((await r.conn.closed).code, 'misbehaving')
  assert.ok(rejected().flood > 0)

  // The honest peer noticed nothing: still connected, nothing held against it, live posts flow.
  assert.equal(toHonest.state, 'ready')
  assert.equal(toHonest.counters().invalid, 0)
  assert.equal(honestSide.counters().invalid, 0)
  const live = await h.post('still here')
  await until(async () => (await v.store.get(live.id)) !== undefined, 'the honest live post', 2000)

  // Status tells it all.
  const st = v.rep.status()
  assert.equal(st.disconnected, 1)
  assert.equal(st.rejected['bad-signature'], 1)
  assert.equal(st.rejected['broken-chain'], 1)
  assert.equal(st.rejected['bad-frame'], 4)
  assert.equal(st.rejected['oversized-frame'], 1)
  assert.equal(st.rejected['too-large'], 3)
  assert.equal(st.rejected.unwanted, 1)
  assert.equal(st.rejected['over-credit'], 2)
  assert.ok(st.rejected.flood > 0)
  assert.ok(equalBytes(st.forks[0]!.author, x.keys.publicKey))
  const gone = st.recentlyClosed.find((p) => p.remote && equalBytes(p.remote, r.keys.publicKey))
  assert.equal(gone?.close?.code, 'misbehaving')
  assert.equal(gone?.counters.invalid, 50)

  // Nothing invalid was stored: v's log is its 3 follows, x 1-5, y 1-3 and h's 5 posts.
  assert.equal(v.store.size, 3 + 5 + 3 + 5)
  const head = await v.store.feedState(x.keys.publicKey)
  assert.ok(head?.forked && head.id.equals(xs[4]!.id), 'x stops at the fork, on the first branch')
  assert.equal(await seqOf(v.store, y.keys.publicKey), 3)
  assert.equal(await seqOf(v.store, r.keys.publicKey), 0)
  const proof = await v.store.forkProof(x.keys.publicKey)
  assert.ok(proof && (await verifyForkProof(ed, proof)).ok)
  await Promise.all([v.close(), h.close()])
})
