import assert from 'node:assert/strict'
import { test } from 'node:test'
import { formatFeedId, verifyForkProof } from '@murmur/core'
import { MemoryLevel } from 'memory-level'
import { Store } from '../src/index.js'
import { diskStore, dumpViews, ed, FeedWriter, identity, memoryStore, tempDir } from './helpers.js'

const code = (c: string) => (e: Error & { code?: string }) => e.code === c

test('append extends a feed; the head, log, id and seq indexes agree', async () => {
  const store = await memoryStore()
  const w = new FeedWriter(await identity(1))
  const msgs = await w.many(5)
  for (const m of msgs) assert.equal((await store.append(m)).kind, 'appended')
  const state = await store.feedState(w.keys.publicKey)
  assert.equal(state?.seq, 5)
  assert.equal(state?.first, 1)
  assert.ok(state?.id.equals((msgs[4] as { id: typeof state.id }).id))
  assert.equal(store.size, 5)
  for (const m of msgs) assert.deepEqual((await store.get(m.id))?.bytes, m.bytes)
  const seqs = []
  for await (const m of store.messages(w.keys.publicKey)) seqs.push(m.value.seq)
  assert.deepEqual(seqs, [1, 2, 3, 4, 5])
  const back = []
  for await (const m of store.messages(w.keys.publicKey, { from: 2, to: 4, reverse: true })) back.push(m.value.seq)
  assert.deepEqual(back, [4, 3, 2])
  const offsets = []
  for await (const e of store.log()) offsets.push(e.offset)
  assert.deepEqual(offsets, [0, 1, 2, 3, 4])
  await store.close()
})

test('a message that does not extend the head is refused with a typed error', async () => {
  const store = await memoryStore()
  const w = new FeedWriter(await identity(1))
  const [m1, m2, m3] = await w.many(3)
  await store.append(m1!)
  await assert.rejects(store.append(m3!), code('NOT_NEXT'), 'a gap')
  assert.equal((await store.append(m1!)).kind, 'duplicate')
  // A message at seq 2 that names another message as prev: its author forked before seq 2.
  const other = new FeedWriter(w.keys)
  const alt1 = await other.next({ type: 'post', content: { text: 'another first' } })
  const alt2 = await other.next()
  await assert.rejects(store.append(alt2), code('NOT_NEXT'))
  assert.equal((await store.feedState(w.keys.publicKey))?.seq, 1)
  await store.append(m2!)
  // The other first message is a fork at seq 1: kept as a proof, the feed stops.
  const r = await store.append(alt1)
  assert.equal(r.kind, 'forked')
  assert.ok(r.kind === 'forked' && (await verifyForkProof(ed, r.proof)).ok)
  assert.equal((await store.feedState(w.keys.publicKey))?.forked, true)
  await assert.rejects(store.append(m3!), code('FEED_FORKED'), 'nothing more is taken from a forked feed')
  const proof = await store.forkProof(w.keys.publicKey)
  assert.ok(proof)
  assert.equal(proof.seq, 1)
  assert.ok((await verifyForkProof(ed, proof)).ok)
  assert.equal(store.size, 2, 'the forking message is not in the log, only in the proof')
  await store.close()
})

test('a store may hold a feed from any seq on (a suffix)', async () => {
  const store = await memoryStore()
  const w = new FeedWriter(await identity(2))
  const msgs = await w.many(10)
  for (const m of msgs.slice(6)) await store.append(m)
  const state = await store.feedState(w.keys.publicKey)
  assert.equal(state?.first, 7)
  assert.equal(state?.seq, 10)
  await assert.rejects(store.append(msgs[2]!), code('NOT_NEXT'), 'before the first held message')
  assert.equal((await store.append(msgs[7]!)).kind, 'duplicate')
  await store.close()
})

test('appendMany checks each message against the ones before it and reports refusals', async () => {
  const store = await memoryStore()
  const a = new FeedWriter(await identity(1))
  const b = new FeedWriter(await identity(2))
  const as = await a.many(3)
  const bs = await b.many(3)
  const results = await store.appendMany([as[0]!, bs[0]!, as[1]!, bs[2]!, as[2]!, as[2]!, bs[1]!, bs[2]!])
  assert.deepEqual(
    results.map((r) => r.kind),
    ['appended', 'appended', 'appended', 'refused', 'appended', 'duplicate', 'appended', 'appended'],
  )
  assert.equal(store.size, 6)
  await store.close()
})

test('a feedState read racing an append never hides the append (nor lets the next one restart the feed)', async () => {
  // feedState reads outside the write lock. A read of a feed not cached yet that is still in
  // flight when an append commits must not cache what it read over the append's newer state:
  // the head would go back, and the next message would be taken as the start of a new feed.
  const db = new MemoryLevel<Uint8Array, Uint8Array>({ keyEncoding: 'view', valueEncoding: 'view' })
  type Get = (key: Uint8Array, options: object) => Promise<Uint8Array | undefined>
  const level = db as unknown as { _get: Get }
  const get = level._get.bind(db)
  let slowNext = false
  level._get = async (key, options) => {
    const slow = slowNext
    slowNext = false
    const value = await get(key, options)
    if (slow) await new Promise((r) => setTimeout(r, 50))
    return value
  }
  const store = await Store.open(db)
  const w = new FeedWriter(await identity(7))
  const [m1, m2] = await w.many(2)
  slowNext = true
  const read = store.feedState(w.keys.publicKey) // reads "no such feed", answers after the append
  assert.equal((await store.append(m1!)).kind, 'appended')
  await read
  assert.equal((await store.feedState(w.keys.publicKey))?.seq, 1, 'the head after the append')
  assert.equal((await store.append(m2!)).kind, 'appended')
  assert.deepEqual(await store.feedState(w.keys.publicKey).then((s) => [s?.first, s?.seq]), [1, 2])
  await store.close()
})

test('two concurrent publishes never sign the same seq', async () => {
  const keys = await identity(3)
  const store = await memoryStore({ me: keys.publicKey })
  const posts = await Promise.all(
    Array.from({ length: 20 }, (_, i) => store.publish(ed, keys, { type: 'post', content: { text: `n${i}` } })),
  )
  assert.deepEqual(
    posts.map((p) => p.value.seq).sort((x, y) => x - y),
    Array.from({ length: 20 }, (_, i) => i + 1),
  )
  assert.equal((await store.feedState(keys.publicKey))?.seq, 20)
  await store.close()
})

test('a classic-level store reopens with the same feeds, log and views', async () => {
  const dir = await tempDir()
  try {
    const me = await identity(4)
    let store = await diskStore(dir.path, { me: me.publicKey })
    const friend = new FeedWriter(await identity(5))
    await store.publish(ed, me, { type: 'contact', content: { target: friend.keys.publicKey, following: true } })
    for (const m of await friend.many(30)) await store.append(m)
    await store.publish(ed, me, { type: 'post', content: { text: 'mine' } })
    await store.indexed()
    const before = await dumpViews(store)
    const page = await store.views.timeline.page({ limit: 50 })
    await store.close()
    store = await diskStore(dir.path, { me: me.publicKey })
    assert.equal(store.size, 32)
    assert.equal((await store.feedState(friend.keys.publicKey))?.seq, 30)
    assert.deepEqual(await dumpViews(store), before)
    const again = await store.views.timeline.page({ limit: 50 })
    assert.deepEqual(
      again.items.map((i) => i.msg.id.toString()),
      page.items.map((i) => i.msg.id.toString()),
    )
    assert.equal(again.items.length, 31)
    await store.close()
  } finally {
    await dir.remove()
  }
})

test('errors name the feed in its text form', async () => {
  const store = await memoryStore()
  const w = new FeedWriter(await identity(6))
  const [, m2] = await w.many(2)
  await store.append((await new FeedWriter(w.keys).many(1))[0]!)
  await assert.rejects(store.append((await w.many(1))[0]!), (e: Error) =>
    e.message.includes(formatFeedId(w.keys.publicKey)),
  )
  assert.ok(m2)
  await store.close()
})
