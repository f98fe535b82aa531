/**
 * The six views and their queries, on memory-level with real signed messages: the store's own
 * identity writes through `publish`, other feeds are signed here and appended as if they
 * arrived from peers. Every test has its own database.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  blobId,
  type CID,
  cidOf,
  createMsg,
  DAG_CBOR,
  type Draft,
  type FeedId,
  isMurmurError,
  type Keypair,
  keypairFromSeed,
  type Msg,
  toHex,
  utf8,
  type VerifiedMsg,
} from '@murmur/core'
import { createSodiumEd25519 } from '@murmur/core/sodium'
import { MemoryLevel } from 'memory-level'
import { encodeCheckpoint } from '../src/codec.js'
import { type Rows, Store, type StoreOptions } from '../src/index.js'

const ed = createSodiumEd25519()
const T0 = 1_800_000_000_000
const VIEW_NAMES = ['timeline', 'threads', 'graph', 'profiles', 'votes', 'blocks'] as const

const code = (c: string) => (err: unknown) => isMurmurError(err) && err.code === c

/** A deterministic identity from a small number. */
function identity(n: number): Promise<Keypair> {
  const seed = new Uint8Array(32)
  new DataView(seed.buffer).setUint32(0, 1000 + n)
  return keypairFromSeed(ed, seed)
}

const newDb = () => new MemoryLevel<Uint8Array, Uint8Array>({ keyEncoding: 'view', valueEncoding: 'view' })

/** A store on a fresh memory-level db with a clock that moves 1 s per reading. */
class World {
  t = T0
  readonly now = (): number => {
    this.t += 1000
    return this.t
  }
  readonly db = newDb()
  readonly me: Keypair | undefined
  readonly #heads = new Map<string, VerifiedMsg>()
  #store: Store | undefined

  private constructor(me: Keypair | undefined) {
    this.me = me
  }

  static async open(me?: Keypair, opts: StoreOptions = {}): Promise<World> {
    const w = new World(me)
    w.#store = await Store.open(w.db, { now: w.now, ...(me ? { me: me.publicKey } : {}), ...opts })
    return w
  }

  get store(): Store {
    if (!this.#store) throw new Error('not open')
    return this.#store
  }

  /** Signs `draft` on `keys`' feed without appending it (dated now unless `ts` is given). */
  async sign(keys: Keypair, draft: Draft, ts = this.t): Promise<VerifiedMsg> {
    const k = toHex(keys.publicKey)
    const h = this.#heads.get(k)
    const msg = await createMsg(ed, keys, h && { seq: h.value.seq, id: h.id }, { ...draft, ts })
    this.#heads.set(k, msg)
    return msg
  }

  /** Writes `draft` on `keys`' feed: `publish` for the store's own identity, else sign and append. */
  async write(keys: Keypair, draft: Draft, ts?: number): Promise<VerifiedMsg> {
    if (keys === this.me) return this.store.publish(ed, keys, ts === undefined ? draft : { ...draft, ts })
    const msg = await this.sign(keys, draft, ts)
    await this.store.append(msg)
    return msg
  }

  post(keys: Keypair, text: string, more: { root?: CID; branch?: CID[] } = {}, ts?: number): Promise<VerifiedMsg> {
    return this.write(keys, { type: 'post', content: { text, ...more } }, ts)
  }

  follow(keys: Keypair, target: Keypair, following = true): Promise<VerifiedMsg> {
    return this.write(keys, { type: 'contact', content: { target: target.publicKey, following } })
  }

  block(keys: Keypair, target: Keypair, blocking = true): Promise<VerifiedMsg> {
    return this.write(keys, { type: 'contact', content: { target: target.publicKey, blocking } })
  }

  about(
    keys: Keypair,
    target: Keypair,
    fields: { name?: string; description?: string; image?: CID },
  ): Promise<VerifiedMsg> {
    return this.write(keys, { type: 'about', content: { target: target.publicKey, ...fields } })
  }

  vote(keys: Keypair, link: CID, value: 0 | 1): Promise<VerifiedMsg> {
    return this.write(keys, { type: 'vote', content: { link, value } })
  }
}

/** Every row of a view, as hex pairs. */
async function dump(rows: Rows): Promise<[string, string][]> {
  const out: [string, string][] = []
  for await (const [k, v] of rows.iterator()) out.push([toHex(k), toHex(v)])
  return out
}

async function dumpAll(store: Store): Promise<Record<string, [string, string][]>> {
  const out: Record<string, [string, string][]> = {}
  for (const name of VIEW_NAMES) out[name] = await dump(store.views[name].rows)
  return out
}

const hexes = (ids: readonly FeedId[]): string[] => ids.map(toHex).sort()
const ids = (msgs: readonly Msg[]): string[] => msgs.map((m) => m.id.toString())
const texts = (msgs: readonly Msg[]): string[] => msgs.map((m) => (m.value.content as { text: string }).text)

/** A log with every kind of message each view reads (and some it must ignore). */
async function richLog(w: World, me: Keypair): Promise<void> {
  const [b, c, d] = await Promise.all([identity(2), identity(3), identity(4)])
  const root = await w.post(me, 'root')
  const r1 = await w.post(b, 'r1', { root: root.id, branch: [root.id] })
  await w.post(c, 'r2', { root: root.id, branch: [r1.id, root.id] })
  await w.post(d, 'from the future', {}, T0 + 10 ** 10)
  await w.follow(me, b)
  await w.follow(me, c)
  await w.follow(b, c)
  await w.follow(c, d)
  await w.follow(me, c, false)
  await w.block(me, d)
  await w.block(b, d)
  await w.block(b, d, false)
  await w.write(me, { type: 'contact', content: { target: c.publicKey, following: true, blocking: false } })
  await w.about(me, me, { name: 'me', description: 'hello' })
  await w.about(b, b, { name: 'bee', image: blobId(utf8('a picture')) })
  await w.about(me, b, { name: 'Bea' })
  await w.about(c, b, { name: 'B' })
  await w.about(b, b, { description: '' })
  await w.about(b, b, { name: 'bee 2' })
  await w.vote(b, root.id, 1)
  await w.vote(c, root.id, 1)
  await w.vote(c, root.id, 0)
  await w.vote(me, r1.id, 1)
  await w.store.publish(ed, me, { type: 'gizmo', content: { views: 'ignore me' } })
  await w.store.publish(ed, me, { type: 'box', content: new Uint8Array(40) })
  await w.write(me, { type: 'peer', content: { urls: ['wss://example.test/murmur'] } })
}

// ---------------------------------------------------------------- timeline

test('timeline: a post dated in the future does not sit above newer posts', async () => {
  const me = await identity(1)
  const b = await identity(2)
  const w = await World.open(me)
  await w.follow(me, b)
  const p1 = await w.post(me, 'first')
  const future = await w.post(b, 'dated a year ahead', {}, w.t + 365 * 24 * 3600 * 1000)
  const p3 = await w.post(me, 'third')
  const { items, next } = await w.store.views.timeline.page()
  assert.deepEqual(ids(items.map((i) => i.msg)), ids([p3, future, p1]))
  const f = items[1]
  assert.ok(f)
  assert.equal(f.sortTime, f.received, 'a future post sorts at the time it was received')
  assert.ok(f.msg.value.ts > f.received)
  assert.equal(next, undefined)
  await w.store.close()
})

test('timeline: only me and the feeds I follow, never feeds I block; everything when there is no me', async () => {
  const [me, b, c, d] = await Promise.all([identity(1), identity(2), identity(3), identity(4)])
  const w = await World.open(me)
  await w.follow(me, b)
  await w.follow(me, d)
  await w.block(me, d)
  for (const k of [me, b, c, d]) await w.post(k, `hello from ${toHex(k.publicKey).slice(0, 4)}`)
  const tl = w.store.views.timeline
  const authors = async (opts = {}) => hexes((await tl.page(opts)).items.map((i) => i.msg.value.author))
  assert.deepEqual(await authors(), hexes([me.publicKey, b.publicKey]))
  assert.deepEqual(await authors({ authors: 'all' }), hexes([me.publicKey, b.publicKey, c.publicKey]))
  assert.deepEqual(await authors({ authors: [c.publicKey, d.publicKey] }), hexes([c.publicKey]))
  await w.follow(me, b, false)
  await w.block(me, d, false)
  assert.deepEqual(await authors(), hexes([me.publicKey, d.publicKey]), 'unfollowed gone, unblocked back')

  // A store with no identity of its own shows every post.
  const anon = await Store.open(w.db, {})
  assert.equal((await anon.views.timeline.page()).items.length, 4)
  await anon.close()
})

test('timeline: paging with the cursor returns each post exactly once, newest first', async () => {
  const [me, b, c] = await Promise.all([identity(1), identity(2), identity(3)])
  const w = await World.open(me)
  await w.follow(me, b)
  const expected: VerifiedMsg[] = []
  for (let i = 0; i < 30; i++) {
    const who = [me, b, c, c][i % 4] as Keypair
    // Claimed times jump around; sort time is min(received, ts).
    const m = await w.post(who, `post ${i}`, {}, w.t - (i % 3) * 1500)
    if (who !== c) expected.push(m)
  }
  const tl = w.store.views.timeline
  const sortTime = (m: Msg) => m.value.ts // every ts here is below its received time
  const want = ids([...expected].sort((x, y) => sortTime(y) - sortTime(x)))

  for (const opts of [{ limit: 4 }, { limit: 5, maxScan: 3 }, { limit: 100 }]) {
    const seen: Msg[] = []
    let before: string | undefined
    let pages = 0
    do {
      const page = await tl.page({ ...opts, ...(before === undefined ? {} : { before }) })
      assert.ok(page.items.length <= opts.limit)
      for (const it of page.items) seen.push(it.msg)
      for (let i = 1; i < page.items.length; i++) {
        assert.ok((page.items[i - 1]?.sortTime as number) >= (page.items[i]?.sortTime as number), 'newest first')
      }
      before = page.next
      assert.ok(++pages < 100)
    } while (before !== undefined)
    assert.deepEqual(ids(seen), want, `paging with ${JSON.stringify(opts)}`)
  }
  await assert.rejects(tl.page({ before: 'not a cursor' }), code('INVALID_ARGUMENT'))
  await w.store.close()
})

test('timeline: byAuthor pages one feed, posts only, newest first', async () => {
  const [me, b, c] = await Promise.all([identity(1), identity(2), identity(3)])
  const w = await World.open(me)
  const posts: VerifiedMsg[] = []
  for (let i = 0; i < 7; i++) {
    posts.push(await w.post(b, `b ${i}`))
    if (i % 2 === 0) await w.follow(b, c, i % 4 === 0)
  }
  await w.post(c, 'not b')
  const tl = w.store.views.timeline
  const seen: Msg[] = []
  let before: number | undefined
  do {
    const page = await tl.byAuthor(b.publicKey, { limit: 3, ...(before === undefined ? {} : { before }) })
    assert.ok(page.items.length <= 3)
    seen.push(...page.items)
    before = page.next
  } while (before !== undefined)
  assert.deepEqual(ids(seen), ids([...posts].reverse()))
  assert.deepEqual((await tl.byAuthor(me.publicKey)).items, [])
  await w.store.close()
})

// ---------------------------------------------------------------- threads

test('threads: replies in causal order, then by time and id; unknown branches still shown', async () => {
  const [me, b, c, d, e] = await Promise.all([identity(1), identity(2), identity(3), identity(4), identity(5)])
  const w = await World.open(me)
  const base = T0 - 100_000 // every claimed time below every received time: sort time = ts
  const root = await w.post(me, 'root', {}, base)
  const stranger = await w.sign(e, { type: 'post', content: { text: 'never arrives' } }, base)
  // r1 is signed first, but r2 (which answers it, from a feed with a slow clock) arrives first.
  const r1 = await w.sign(b, { type: 'post', content: { text: 'r1', root: root.id, branch: [root.id] } }, base + 50)
  const r2 = await w.post(c, 'r2', { root: root.id, branch: [r1.id] }, base + 10)
  await w.store.append(r1)
  const r5 = await w.post(d, 'r5', { root: root.id, branch: [root.id] }, base + 20)
  const r4 = await w.post(e, 'r4', { root: root.id, branch: [stranger.id] }, base + 5)
  const r3 = await w.post(d, 'r3', { root: root.id, branch: [r1.id, r2.id] }, base + 60)
  const r6 = await w.post(b, 'r6', { root: root.id, branch: [r3.id] }, base + 70)
  const r7 = await w.post(c, 'r7', { root: root.id, branch: [r3.id] }, base + 70)
  await w.post(b, 'another thread', { root: r1.id })
  await w.post(b, 'not a reply')

  const t = await w.store.views.threads.thread(root.id)
  assert.equal(t.root?.id.toString(), root.id.toString())
  const tie = [r6, r7].sort((x, y) => (x.id.toString() < y.id.toString() ? -1 : 1))
  // r4 names an unknown message and r5 only the root: both are free from the start; r2 has
  // the earliest time but waits for r1, and r3 for both.
  assert.deepEqual(texts(t.replies), texts([r4, r5, r1, r2, r3, ...tie]))

  // A thread whose root has not arrived: its replies are still listed.
  const orphan = await w.post(c, 'answers the stranger', { root: stranger.id, branch: [stranger.id] })
  const o = await w.store.views.threads.thread(stranger.id)
  assert.equal(o.root, undefined)
  assert.deepEqual(ids(o.replies), ids([orphan]))
  assert.deepEqual((await w.store.views.threads.thread(r2.id)).replies, [])
  await w.store.close()
})

// ---------------------------------------------------------------- graph

test('graph: follows and followers; unfollow removes the edge', async () => {
  const [me, b, c] = await Promise.all([identity(1), identity(2), identity(3)])
  const w = await World.open(me)
  const g = w.store.views.graph
  await w.follow(me, b)
  await w.follow(me, c)
  await w.follow(b, c)
  await w.block(b, me) // a block is not an unfollow in this view
  assert.deepEqual(hexes(await g.follows(me.publicKey)), hexes([b.publicKey, c.publicKey]))
  assert.deepEqual(hexes(await g.followers(c.publicKey)), hexes([me.publicKey, b.publicKey]))
  assert.equal(await g.isFollowing(me.publicKey, c.publicKey), true)
  assert.equal(await g.isFollowing(c.publicKey, me.publicKey), false)
  await w.follow(me, c, false)
  assert.deepEqual(hexes(await g.follows(me.publicKey)), hexes([b.publicKey]))
  assert.deepEqual(hexes(await g.followers(c.publicKey)), hexes([b.publicKey]))
  assert.equal(await g.isFollowing(me.publicKey, c.publicKey), false)
  await w.follow(me, c)
  assert.equal(await g.isFollowing(me.publicKey, c.publicKey), true, 'follow again after unfollow')
  await w.store.close()
})

test('graph: hops to 2 by default, further on request; blocked feeds neither entered nor walked through', async () => {
  const ks = await Promise.all([1, 2, 3, 4, 5, 6, 7].map(identity))
  const [me, b, c, d, e, f, h] = ks as [Keypair, Keypair, Keypair, Keypair, Keypair, Keypair, Keypair]
  const w = await World.open(me)
  const g = w.store.views.graph
  for (const [x, y] of [
    [me, b],
    [b, c],
    [c, d],
    [me, e],
    [e, f],
    [f, h],
    [b, me],
  ] as const) {
    await w.follow(x, y)
  }
  const hex = (k: Keypair) => toHex(k.publicKey)
  const asObj = (m: Map<string, number>) => Object.fromEntries([...m].sort(([a], [b]) => (a < b ? -1 : 1)))
  const expect = (pairs: [Keypair, number][]) => asObj(new Map(pairs.map(([k, n]) => [hex(k), n])))
  assert.deepEqual(
    asObj(await g.hops()),
    expect([
      [me, 0],
      [b, 1],
      [e, 1],
      [c, 2],
      [f, 2],
    ]),
  )
  assert.deepEqual(
    asObj(await g.hops({ max: 3 })),
    expect([
      [me, 0],
      [b, 1],
      [e, 1],
      [c, 2],
      [f, 2],
      [d, 3],
      [h, 3],
    ]),
  )
  assert.deepEqual(
    asObj(await g.hops({ from: c.publicKey, max: 5 })),
    expect([
      [c, 0],
      [d, 1],
    ]),
  )
  await w.block(me, e)
  assert.deepEqual(
    asObj(await g.hops({ max: 3 })),
    expect([
      [me, 0],
      [b, 1],
      [c, 2],
      [d, 3],
    ]),
  )
  await w.block(me, c)
  assert.deepEqual(
    asObj(await g.hops({ max: 3 })),
    expect([
      [me, 0],
      [b, 1],
    ]),
  )
  // Another feed's blocks are its own business.
  assert.deepEqual(
    asObj(await g.hops({ from: b.publicKey, max: 1 })),
    expect([
      [b, 0],
      [c, 1],
      [me, 1],
    ]),
  )

  const anon = await Store.open(w.db, {})
  await assert.rejects(anon.views.graph.hops(), code('INVALID_ARGUMENT'))
  await anon.close()
})

test('graph: suggestions are the follows of my follows, ranked by how many of mine follow them', async () => {
  const ks = await Promise.all([1, 2, 3, 4, 5, 6].map(identity))
  const [me, b, c, e, f, x] = ks as [Keypair, Keypair, Keypair, Keypair, Keypair, Keypair]
  const w = await World.open(me)
  await w.follow(me, b)
  await w.follow(me, e)
  await w.block(me, x)
  for (const [y, z] of [
    [b, c],
    [b, f],
    [e, c],
    [e, me],
    [e, b],
    [e, x],
    [c, f],
  ] as const) {
    await w.follow(y, z)
  }
  const s = await w.store.views.graph.suggestions()
  assert.deepEqual(
    s.map((x) => [toHex(x.id), x.count]),
    [
      [toHex(c.publicKey), 2],
      [toHex(f.publicKey), 1],
    ],
  )
  assert.equal((await w.store.views.graph.suggestions(1)).length, 1)
  await w.store.close()
})

// ---------------------------------------------------------------- profiles

test('profiles: latest about per field wins; a petname wins over the self-chosen name; friend names listed', async () => {
  const ks = await Promise.all([1, 2, 3, 4, 5].map(identity))
  const [me, t, b, s, d] = ks as [Keypair, Keypair, Keypair, Keypair, Keypair]
  const w = await World.open(me)
  const pv = w.store.views.profiles
  await w.follow(me, b)
  await w.follow(me, d)
  await w.block(me, d)
  const image = blobId(utf8('a face'))
  await w.about(t, t, { name: 'tee', description: 'one' })
  await w.about(t, t, { name: 'Tee Two' })
  await w.about(t, t, { image })
  let p = await pv.profile(t.publicKey)
  assert.equal(p.name, 'Tee Two')
  assert.equal(p.description, 'one', 'fields an about leaves out keep their value')
  assert.equal(p.image?.toString(), image.toString())
  assert.equal(p.displayName, 'Tee Two')
  assert.equal(p.nameSource, 'self')
  assert.deepEqual(p.friendNames, [])

  await w.about(me, t, { name: 'Teddy', description: 'my description of them is not theirs' })
  await w.about(b, t, { name: 'T from B' })
  await w.about(s, t, { name: 'Impostor' }) // not followed
  await w.about(d, t, { name: 'blocked' }) // followed but blocked
  p = await pv.profile(t.publicKey)
  assert.equal(p.petname, 'Teddy')
  assert.equal(p.displayName, 'Teddy')
  assert.equal(p.nameSource, 'petname')
  assert.equal(p.name, 'Tee Two', 'the self-chosen name stays visible')
  assert.equal(p.description, 'one')
  assert.deepEqual(
    p.friendNames.map((n) => [toHex(n.by), n.name]),
    [[toHex(b.publicKey), 'T from B']],
  )

  await w.about(me, t, { name: 'Ted' })
  assert.equal((await pv.profile(t.publicKey)).petname, 'Ted', 'my latest petname')
  await w.about(me, t, { name: '' })
  p = await pv.profile(t.publicKey)
  assert.equal(p.petname, undefined, 'an empty name clears it')
  assert.equal(p.nameSource, 'self')

  await w.about(me, me, { name: 'me myself' })
  p = await pv.profile(me.publicKey)
  assert.equal(p.name, 'me myself')
  assert.equal(p.petname, undefined, 'my own name is a self-chosen one, not a petname')
  assert.equal(p.nameSource, 'self')

  p = await pv.profile((await identity(99)).publicKey)
  assert.deepEqual(p, { id: p.id, friendNames: [], nameSource: 'none' })
  await w.store.close()
})

// ---------------------------------------------------------------- votes

test('votes: like, unlike and like again; the latest vote of each author counts', async () => {
  const [me, b, c] = await Promise.all([identity(1), identity(2), identity(3)])
  const w = await World.open(me)
  const vv = w.store.views.votes
  const post = await w.post(me, 'like me')
  const other = await w.post(b, 'another')
  await w.vote(me, post.id, 1)
  await w.vote(b, post.id, 1)
  await w.vote(c, other.id, 1)
  let v = await vv.votes(post.id)
  assert.equal(v.count, 2)
  assert.deepEqual(hexes(v.voters), hexes([me.publicKey, b.publicKey]))
  await w.vote(b, post.id, 0)
  v = await vv.votes(post.id)
  assert.equal(v.count, 1)
  assert.deepEqual(hexes(v.voters), hexes([me.publicKey]))
  assert.equal(await vv.likedBy(post.id, b.publicKey), false)
  assert.equal(await vv.likedBy(post.id, me.publicKey), true)
  await w.vote(b, post.id, 1)
  await w.vote(b, post.id, 1)
  assert.equal((await vv.votes(post.id)).count, 2, 'liking twice is one like')
  assert.equal(await vv.likedBy(post.id, b.publicKey), true)
  assert.equal((await vv.votes(other.id)).count, 1)
  assert.deepEqual(await vv.votes(root404()), { count: 0, voters: [] })
  await w.store.close()
})

/** The id of a message that no store holds. */
const root404 = (): CID => cidOf(DAG_CBOR, utf8('nothing'))

// ---------------------------------------------------------------- blocks

test('blocks: block, unblock, who blocks whom', async () => {
  const [me, b, c, d] = await Promise.all([identity(1), identity(2), identity(3), identity(4)])
  const w = await World.open(me)
  const bv = w.store.views.blocks
  await w.block(me, b)
  await w.block(me, c)
  await w.block(d, b)
  await w.follow(me, d) // a follow is not a block
  assert.deepEqual(hexes(await bv.blocked()), hexes([b.publicKey, c.publicKey]))
  assert.deepEqual(hexes(await bv.blocked(d.publicKey)), hexes([b.publicKey]))
  assert.deepEqual(hexes(await bv.blockedBy(b.publicKey)), hexes([me.publicKey, d.publicKey]))
  assert.equal(await bv.isBlocked(b.publicKey), true)
  assert.equal(await bv.isBlocked(d.publicKey), false)
  assert.equal(await bv.isBlocked(c.publicKey, d.publicKey), false)
  await w.block(me, b, false)
  assert.equal(await bv.isBlocked(b.publicKey), false)
  assert.deepEqual(hexes(await bv.blocked()), hexes([c.publicKey]))
  assert.deepEqual(hexes(await bv.blockedBy(b.publicKey)), hexes([d.publicKey]))

  const anon = await Store.open(w.db, {})
  assert.deepEqual(await anon.views.blocks.blocked(), [])
  assert.equal(await anon.views.blocks.isBlocked(c.publicKey), false)
  assert.deepEqual(hexes(await anon.views.blocks.blocked(me.publicKey)), hexes([c.publicKey]))
  await anon.close()
})

// ---------------------------------------------------------------- rebuilds

test('every view: drop and rebuild gives exactly the same rows', async () => {
  const me = await identity(1)
  const w = await World.open(me)
  await richLog(w, me)
  await w.store.indexed()
  const before = await dumpAll(w.store)
  for (const name of VIEW_NAMES) assert.ok((before[name] as unknown[]).length > 0, `${name} has rows`)
  for (const name of VIEW_NAMES) {
    await w.store.rebuildView(name)
    assert.deepEqual(await dump(w.store.views[name].rows), before[name], `${name} rebuilt`)
  }
  assert.deepEqual(await dumpAll(w.store), before)
  await assert.rejects(w.store.rebuildView('nope'), code('INVALID_ARGUMENT'))
  await w.store.close()
})

test('every view: reopening after a version bump clears the rows and rebuilds the same ones', async () => {
  const me = await identity(1)
  const w = await World.open(me)
  await richLog(w, me)
  await w.store.indexed()
  const before = await dumpAll(w.store)
  const size = w.store.size
  await w.store.close()

  // As if the code of every view had moved on a version: stale checkpoints, and a stray row
  // each that the old code would have written and the new one never does.
  await w.db.open()
  const opts = { keyEncoding: 'view', valueEncoding: 'view' } as const
  const ckpt = w.db.sublevel<Uint8Array, Uint8Array>('ckpt', opts)
  for (const name of VIEW_NAMES) {
    await ckpt.put(utf8(name), encodeCheckpoint(0, size))
    await w.db.sublevel<Uint8Array, Uint8Array>(`v-${name}`, opts).put(utf8('stale'), utf8('row'))
  }
  await w.db.close()

  const again = await Store.open(w.db, { me: me.publicKey })
  await again.indexed()
  assert.equal(again.indexedTo, size)
  assert.deepEqual(await dumpAll(again), before)
  await again.close()
})

// ---------------------------------------------------------------- waiting for the indexer

test('a query right after appends sees them: it waits for indexing', async () => {
  const [me, b] = await Promise.all([identity(1), identity(2)])
  for (const autoIndex of [true, false]) {
    const w = await World.open(me, { autoIndex })
    await w.follow(me, b)
    const p = await w.post(b, 'just now')
    await w.post(me, 'me too')
    const liked = await w.vote(me, p.id, 1)
    if (!autoIndex) assert.equal(w.store.indexedTo, 0, 'nothing indexed yet')
    const page = await w.store.views.timeline.page()
    assert.deepEqual(texts(page.items.map((i) => i.msg)), ['me too', 'just now'], `autoIndex ${autoIndex}`)
    assert.equal(w.store.indexedTo, w.store.size)
    await w.vote(me, p.id, 0)
    assert.equal((await w.store.views.votes.votes(p.id)).count, 0, 'the unlike right after is seen too')
    assert.ok(liked)
    await w.store.close()
  }
})

test('indexed(1) with a huge backlog and autoIndex false rejects with TIMEOUT instead of hanging', async () => {
  const [me, b] = await Promise.all([identity(1), identity(2)])
  const w = await World.open(me, { autoIndex: false })
  const msgs: VerifiedMsg[] = []
  for (let i = 0; i < 3000; i++) msgs.push(await w.sign(b, { type: 'post', content: { text: `p${i}` } }))
  const results = await w.store.appendMany(msgs)
  assert.ok(results.every((r) => r.kind === 'appended'))
  assert.equal(w.store.indexedTo, 0)
  await assert.rejects(w.store.indexed(1), code('TIMEOUT'))

  // A query on a store that waits only briefly fails the same way.
  const impatient = await Store.open(newDb(), { autoIndex: false, indexWaitMs: 1 })
  await impatient.appendMany(msgs)
  await assert.rejects(impatient.views.timeline.page(), code('TIMEOUT'))

  // Given time, the same backlog is indexed.
  await w.store.indexed()
  assert.equal(w.store.indexedTo, 3000)
  assert.equal((await w.store.views.timeline.page({ authors: [b.publicKey], limit: 1 })).items.length, 1)
  await impatient.indexed(60_000)
  await impatient.close()
  await w.store.close()
})
