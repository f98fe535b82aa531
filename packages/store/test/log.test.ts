/**
 * The log's blocks (log.ts), the store format and its migration from format 1 (format.ts), and
 * views indexed within the append's own batch (indexer.ts `appendWith`).
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { type CID, toHex, type VerifiedMsg } from '@murmur/core'
import { MemoryLevel } from 'memory-level'
import { BLOCK_BYTES, BLOCK_ENTRIES, encodeFeedState, encodeV1LogEntry, key, u64 } from '../src/codec.js'
import { Store } from '../src/index.js'
import { type BatchOp, rootKey } from '../src/view.js'
import { dumpViews, FeedWriter, identity } from './helpers.js'

const code = (c: string) => (e: Error & { code?: string }) => e.code === c
const newDb = () => new MemoryLevel<Uint8Array, Uint8Array>({ keyEncoding: 'view', valueEncoding: 'view' })
const rowsOptions = { keyEncoding: 'view', valueEncoding: 'view' } as const

async function seqs(it: AsyncIterable<{ value: { seq: number } }>): Promise<number[]> {
  const out: number[] = []
  for await (const m of it) out.push(m.value.seq)
  return out
}

test('a feed appended in one batch spans several blocks, and every way of reading it agrees', async () => {
  const store = await Store.open(newDb())
  const a = new FeedWriter(await identity(1))
  const b = new FeedWriter(await identity(2))
  // Interleaved feeds; a's run is longer than a block, and some of b's messages are large.
  const msgs: VerifiedMsg[] = []
  const big = 'x'.repeat(6000)
  for (let i = 0; i < 3 * BLOCK_ENTRIES + 5; i++) {
    msgs.push(await a.next())
    if (i % 10 === 0) msgs.push(await b.next({ type: 'post', content: { text: `${i} ${big}` } }))
  }
  assert.ok(11 * 6000 > BLOCK_BYTES, 'b needs more than one block by size')
  const results = await store.appendMany(msgs)
  assert.ok(results.every((r) => r.kind === 'appended'))
  // Each feed's messages take consecutive offsets, in seq order, feeds in order of appearance.
  const offsets = results.map((r) => (r.kind === 'appended' ? r.offset : -1))
  const aCount = 3 * BLOCK_ENTRIES + 5
  assert.deepEqual(
    offsets.filter((_, i) => equalFeed(msgs[i], a)),
    Array.from({ length: aCount }, (_, i) => i),
  )
  assert.deepEqual(
    offsets.filter((_, i) => !equalFeed(msgs[i], a)),
    Array.from({ length: 11 }, (_, i) => aCount + i),
  )
  assert.equal(store.size, msgs.length)

  for (const m of msgs) assert.deepEqual((await store.get(m.id))?.bytes, m.bytes, 'by id')
  for (const [i, m] of msgs.entries()) {
    const e = await store.entry(offsets[i] as number)
    assert.ok(e?.id.equals(m.id), 'by offset')
  }
  assert.equal(await store.entry(msgs.length), undefined)
  const n = 3 * BLOCK_ENTRIES + 5
  const pa = a.keys.publicKey
  assert.deepEqual(await seqs(store.messages(pa)), range(1, n))
  assert.deepEqual(await seqs(store.messages(pa, { from: 30, to: 70 })), range(30, 70))
  assert.deepEqual(await seqs(store.messages(pa, { from: 30, to: 70, reverse: true })), range(30, 70).reverse())
  assert.deepEqual(await seqs(store.messages(pa, { to: 33, reverse: true })), range(1, 33).reverse())
  assert.deepEqual(await seqs(store.messages(pa, { from: n, to: n + 5 })), [n])
  assert.deepEqual(await seqs(store.messages(pa, { from: 5, to: 4 })), [])
  assert.deepEqual(await seqs(store.messages(b.keys.publicKey, { reverse: true })), range(1, 11).reverse())

  const bytes = await store.feedBytes(pa, { from: 20, to: 90, limit: 45 })
  assert.deepEqual(
    bytes.map((x) => x.seq),
    range(20, 64),
  )
  for (const x of bytes) assert.deepEqual(x.bytes, msgs.find((m) => equalFeed(m, a) && m.value.seq === x.seq)?.bytes)
  assert.deepEqual(
    (await store.feedBytes(pa, { from: 60, to: 62, limit: 100 })).map((x) => x.seq),
    [60, 61, 62],
  )
  assert.deepEqual(await store.feedBytes(pa, { from: 1, to: 5, limit: 0 }), [])

  const fromMiddle = []
  for await (const e of store.log({ from: 40 })) fromMiddle.push(e.offset)
  assert.deepEqual(fromMiddle, range(40, msgs.length - 1))

  // A duplicate inside a block is recognised as one, and a later message chains on.
  assert.equal((await store.append(msgs[50] as VerifiedMsg)).kind, 'duplicate')
  assert.equal((await store.append(await a.next())).kind, 'appended')
  assert.deepEqual(await seqs(store.messages(pa, { from: n - 1 })), [n - 1, n, n + 1])
  await store.close()
})

test('views indexed inside the append batch: caught up as soon as the append resolves', async () => {
  const me = await identity(9)
  const store = await Store.open(newDb(), { me: me.publicKey })
  const w = new FeedWriter(await identity(1))
  const first = await w.many(10)
  await store.appendMany(first)
  assert.equal(store.indexedTo, store.size, 'no catch-up needed')
  const page = await store.views.timeline.page({ authors: 'all', limit: 3 })
  assert.deepEqual(
    page.items.map((i) => i.msg.value.seq),
    [10, 9, 8],
  )
  // The same rows as a rebuild from the log, which reads blocks back.
  const inline = await dumpViews(store)
  for (const name of Object.keys(store.views)) await store.rebuildView(name)
  assert.deepEqual(await dumpViews(store), inline)
  await store.close()
})

test('a view that throws while indexing inside an append fails indexing, not the append', async () => {
  const store = await Store.open(newDb())
  const w = new FeedWriter(await identity(1))
  await store.appendMany(await w.many(2))
  store.views.votes.apply = () => {
    throw new Error('a broken view')
  }
  const [r] = await store.appendMany([await w.next()])
  assert.equal(r?.kind, 'appended')
  assert.equal(store.size, 3)
  assert.equal((await store.feedState(w.keys.publicKey))?.seq, 3)
  await assert.rejects(store.indexed(), /a broken view/)
  await store.close()
})

test('a store of format 1 (one row per message) is migrated in place on open', async () => {
  const db = newDb()
  const me = await identity(9)
  const a = new FeedWriter(await identity(1))
  const b = new FeedWriter(await identity(2))
  const msgs: VerifiedMsg[] = []
  for (let i = 0; i < 1500; i++) msgs.push(await (i % 3 === 0 ? b : a).next())
  await writeV1(db, msgs, { me: me.publicKey, stopAt: 1200 })

  const store = await Store.open(db, { me: me.publicKey })
  assert.equal(store.size, msgs.length)
  assert.equal(store.indexedTo, 1200, 'the views kept their checkpoints: offsets did not change')
  await store.indexed()
  for (const m of msgs) assert.deepEqual((await store.get(m.id))?.bytes, m.bytes)
  assert.deepEqual(await seqs(store.messages(a.keys.publicKey, { from: 990, to: 1000 })), range(990, 1000))
  assert.equal((await store.feedBytes(b.keys.publicKey, { from: 1, to: 500, limit: 500 })).length, 500)
  const page = await store.views.timeline.page({ authors: 'all', limit: 2 })
  assert.equal(page.items.length, 2)
  assert.equal((await store.append(await a.next())).kind, 'appended')
  await store.indexed()
  const migrated = await dumpViews(store)
  for (const name of Object.keys(store.views)) await store.rebuildView(name)
  assert.deepEqual(await dumpViews(store), migrated, 'the views agree with a rebuild from the new log')
  await store.close()

  const again = await Store.open(db)
  assert.equal(again.size, msgs.length + 1)
  await again.close()
})

test('a migration cut short resumes where it stopped', async () => {
  const db = newDb()
  const a = new FeedWriter(await identity(1))
  const msgs = await a.many(2500)
  await writeV1(db, msgs)
  // What a migration killed after its first chunk leaves: the first 1000 rows in the new
  // layout and the marker of how far it got. Done here by a full migration of a copy.
  const done = newDb()
  await writeV1(done, msgs)
  await (await Store.open(done)).close()
  await done.open()
  const ops: BatchOp[] = []
  for (const name of ['log', 'feed']) {
    const from = done.sublevel<Uint8Array, Uint8Array>(name, rowsOptions)
    const to = db.sublevel<Uint8Array, Uint8Array>(name, rowsOptions)
    for await (const [k, v] of from.iterator())
      if (name === 'log' ? readOffset(k) < 1000 : readOffset(k, 32) <= 1000)
        ops.push({ type: 'put', key: rootKey(to, k), value: v })
  }
  const meta = db.sublevel<Uint8Array, Uint8Array>('meta', rowsOptions)
  ops.push({ type: 'put', key: rootKey(meta, new TextEncoder().encode('migrating')), value: u64(1000) })
  await db.batch(ops)

  const store = await Store.open(db)
  assert.equal(store.size, 2500)
  assert.deepEqual(await seqs(store.messages(a.keys.publicKey)), range(1, 2500))
  for (const m of [msgs[0], msgs[999], msgs[1000], msgs[2499]] as VerifiedMsg[])
    assert.deepEqual((await store.get(m.id))?.bytes, m.bytes)
  await store.close()
})

test('a store of a format this code does not know is refused, not misread', async () => {
  const db = newDb()
  await (await Store.open(db)).close()
  const meta = db.sublevel<Uint8Array, Uint8Array>('meta', rowsOptions)
  await db.open()
  await meta.put(new TextEncoder().encode('format'), u64(99))
  await assert.rejects(Store.open(db), code('CORRUPT'))
  await db.close()
})

function equalFeed(m: VerifiedMsg | undefined, w: FeedWriter): boolean {
  return m !== undefined && toHex(m.value.author) === toHex(w.keys.publicKey)
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i)
}

function readOffset(k: Uint8Array, at = 0): number {
  return new DataView(k.buffer, k.byteOffset).getUint32(at + 4)
}

/**
 * Writes `msgs` as a format 1 store did: one log row per message, `feed` author ‖ seq ->
 * offset, `id` -> offset, the heads, and the views indexed up to `stopAt` by a store of today
 * (their rows did not change: they name offsets).
 */
async function writeV1(
  db: MemoryLevel<Uint8Array, Uint8Array>,
  msgs: VerifiedMsg[],
  opts: { me?: Uint8Array; stopAt?: number } = {},
): Promise<void> {
  if (opts.stopAt !== undefined) {
    // The views' rows and checkpoints: those of a current store given the same messages.
    const scratch = await Store.open(newDb(), { ...(opts.me ? { me: opts.me } : {}), autoIndex: false })
    // One at a time: a batch would give each feed's messages consecutive offsets.
    for (const m of msgs.slice(0, opts.stopAt)) await scratch.appendMany([m], { received: 1 })
    await scratch.index()
    const ops: BatchOp[] = []
    for await (const [k, v] of scratch.db.iterator() as AsyncIterable<[Uint8Array, Uint8Array]>) {
      const text = new TextDecoder().decode(k.subarray(0, 8))
      if (text.startsWith('!ckpt!') || text.startsWith('!v-')) ops.push({ type: 'put', key: k, value: v })
    }
    await scratch.close()
    await db.batch(ops)
  }
  const sub = (name: string) => db.sublevel<Uint8Array, Uint8Array>(name, rowsOptions)
  const [log, feed, ids, heads] = ['log', 'feed', 'id', 'head'].map(sub) as ReturnType<typeof sub>[]
  const ops: BatchOp[] = []
  const last = new Map<string, { seq: number; id: CID; first: number; author: Uint8Array }>()
  for (const [offset, m] of msgs.entries()) {
    const author = m.value.author
    ops.push(
      { type: 'put', key: rootKey(log!, u64(offset)), value: encodeV1LogEntry(1, m.id, m.bytes) },
      { type: 'put', key: rootKey(feed!, key(author, u64(m.value.seq))), value: u64(offset) },
      { type: 'put', key: rootKey(ids!, m.id.bytes), value: u64(offset) },
    )
    const k = toHex(author)
    last.set(k, { seq: m.value.seq, id: m.id, first: last.get(k)?.first ?? m.value.seq, author })
  }
  for (const s of last.values()) {
    ops.push({ type: 'put', key: rootKey(heads!, s.author), value: encodeFeedState({ ...s, forked: false }) })
  }
  await db.batch(ops)
}
