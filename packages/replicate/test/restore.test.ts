import assert from 'node:assert/strict'
import { test } from 'node:test'
import { equalBytes } from '@murmur/core'
import { encodeClock, encodeGet } from '../src/frames.js'
import type { ReplicatorEvent } from '../src/replicator.js'
import { link, makePeer, type Peer, rawPeer, seqOf, until, within } from './helpers.js'

/** The `remote-seq` events of a peer, as they come. */
function ownSeqEvents(p: Peer): (number | undefined)[] {
  const seen: (number | undefined)[] = []
  p.rep.subscribe((e: ReplicatorEvent) => {
    if (e.type === 'remote-seq') {
      assert.ok(equalBytes(e.feed, p.id))
      seen.push(e.seq)
    }
  })
  return seen
}

test("restore: a new device learns its own feed's head from a peer that holds it, then holds it", async () => {
  const original = await makePeer(1)
  const posts = []
  for (let i = 0; i < 5; i++) posts.push(await original.post(`before the restore ${i}`))
  await original.close()
  // The holder keeps the feed without wanting it (it follows no one): only its HAVE answers.
  const holder = await makePeer(2)
  await holder.store.appendMany(posts)

  const restored = await makePeer(1) // same keys, empty store
  const events = ownSeqEvents(restored)
  assert.equal(restored.rep.remoteSeq(restored.id), undefined, 'no peer has said anything yet')
  const { ab } = await link(restored, holder)
  await until(() => restored.rep.remoteSeq(restored.id) === 5, 'the answer')
  await until(async () => (await seqOf(restored.store, restored.id)) === 5, 'the feed itself')
  assert.equal(ab.remoteSeq(restored.id), 5)
  assert.deepEqual(events, [5])
  // Now it may write: the next message is 6, not a second 1.
  assert.equal((await restored.post('after the restore')).value.seq, 6)

  // The answer goes when the only peer that gave it goes.
  ab.close()
  await within(ab.closed, 'the close')
  assert.equal(restored.rep.remoteSeq(restored.id), undefined)
  assert.deepEqual(events, [5, undefined])
  await Promise.all([restored.close(), holder.close()])
})

test('restore: a peer that holds none of the feed says so (0), and a follower says it in its clock', async () => {
  const restored = await makePeer(1)
  const events = ownSeqEvents(restored)
  const stranger = await makePeer(2)
  const { ab } = await link(restored, stranger)
  await until(() => restored.rep.remoteSeq(restored.id) === 0, 'the answer "none"')
  assert.equal(ab.remoteSeq(restored.id), 0)
  assert.deepEqual(events, [0])

  // A peer that follows the identity answers in its clock too; the highest answer counts.
  const original = await makePeer(1)
  for (let i = 0; i < 3; i++) await original.post(`p ${i}`)
  const follower = await makePeer(3)
  await follower.follow(original.id)
  await link(follower, original)
  await until(async () => (await seqOf(follower.store, original.id)) === 3, 'the follower to catch up')
  await original.close()
  const { ab: toFollower } = await link(restored, follower)
  await until(() => restored.rep.remoteSeq(restored.id) === 3, 'the answer 3')
  assert.equal(toFollower.remoteSeq(restored.id), 3)
  await until(async () => (await seqOf(restored.store, restored.id)) === 3, 'the feed')
  assert.deepEqual(events, [0, 3])
  for (const c of restored.rep.connections()) assert.equal(c.counters().invalid, 0)
  await Promise.all([restored.close(), stranger.close(), follower.close()])
})

test('restore: HAVE goes only to a peer whose hello says it reads it', async () => {
  const v = await makePeer(1)
  for (const features of [0, undefined]) {
    const r = await rawPeer(v.rep, features === 0 ? 50 : 51, {}, features)
    // r asks for its own feed, then sends a GET whose NONE marks that its CLOCK was handled.
    r.session.send(encodeClock([{ feed: r.keys.publicKey, seq: 0, prefix: new Uint8Array(8) }]))
    r.session.send(encodeGet(r.keys.publicKey, 1))
    await until(() => r.frames.some((f) => f.type === 'none'), 'the NONE')
    const have = r.frames.find((f) => f.type === 'have')
    if (features === 0) assert.equal(have, undefined, 'a peer of before HAVE is never sent one')
    else {
      assert.equal(have?.type, 'have')
      const [entry] = have?.type === 'have' ? have.entries : []
      assert.ok(entry && equalBytes(entry.feed, r.keys.publicKey) && entry.seq === 0, 'it holds none of r')
    }
    assert.equal(r.conn.counters().invalid, 0)
    r.session.close('local', 'done')
    await within(r.conn.closed, 'the close')
  }
  await v.close()
})
