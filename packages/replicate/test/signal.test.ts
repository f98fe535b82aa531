import assert from 'node:assert/strict'
import { test } from 'node:test'
import { equalBytes, type FeedId } from '@murmur/core'
import { encodeClock, encodeSignal, FEATURE, FEATURES } from '../src/frames.js'
import type { ReplicatorEvent } from '../src/replicator.js'
import { link, makePeer, type Peer, rawPeer, until } from './helpers.js'

type Signal = Extract<ReplicatorEvent, { type: 'signal' }>

/** Collects the `signal` events of a peer. */
function signals(p: Peer): Signal[] {
  const got: Signal[] = []
  p.rep.subscribe((e) => {
    if (e.type === 'signal') got.push(e)
  })
  return got
}

const bytes = (text: string) => new TextEncoder().encode(text)
const same = (a: FeedId | undefined, b: FeedId) => a !== undefined && equalBytes(a, b)

test('signal: A reaches C through B, and C answers A the same way; a direct signal needs no relay', async () => {
  const a = await makePeer(1)
  const b = await makePeer(2)
  const c = await makePeer(3)
  const atA = signals(a)
  const atB = signals(b)
  const atC = signals(c)
  await link(a, b)
  await link(b, c)
  assert.equal(a.rep.signal(c.id, bytes('offer')), true)
  await until(() => atC.length === 1, 'the offer at c')
  assert.ok(same(atC[0]?.from, a.id) && same(atC[0]?.via, b.id))
  assert.deepEqual(atC[0]?.payload, bytes('offer'))
  assert.equal(atB.length, 0, 'the relay keeps nothing for itself')
  assert.equal(c.rep.signal(atC[0]?.from as FeedId, bytes('answer')), true)
  await until(() => atA.length === 1, 'the answer at a')
  assert.ok(same(atA[0]?.from, c.id) && same(atA[0]?.via, b.id))
  assert.deepEqual(atA[0]?.payload, bytes('answer'))
  assert.equal(b.rep.status().signalsRelayed, 2)
  // Direct: from = via.
  a.rep.signal(b.id, bytes('hi'))
  await until(() => atB.length === 1, 'the direct signal')
  assert.ok(same(atB[0]?.from, a.id) && same(atB[0]?.via, a.id))
  // Nobody to reach: nothing is sent, no error.
  const lone = await makePeer(9)
  assert.equal(lone.rep.signal(c.id, bytes('x')), false)
  assert.throws(() => a.rep.signal(c.id, new Uint8Array(0)), { code: 'INVALID_ARGUMENT' })
  assert.throws(() => a.rep.signal(c.id, new Uint8Array(16 * 1024 + 1)), { code: 'INVALID_ARGUMENT' })
  assert.throws(() => a.rep.signal(new Uint8Array(31), bytes('x')), { code: 'INVALID_ARGUMENT' })
  await Promise.all([a, b, c, lone].map((p) => p.close()))
})

test('signal: a forged from is not forwarded, nor is a relayed frame relayed again', async () => {
  const a = await makePeer(1)
  const b = await makePeer(2)
  const c = await makePeer(3)
  const atC = signals(c)
  await link(b, c)
  const r = await rawPeer(b.rep, 40)
  const rejected = () => r.conn.counters().rejected['bad-frame']
  // r claims to be a, asking b to relay to c.
  r.session.send(encodeSignal({ to: c.id, from: a.id, relayed: false, payload: bytes('forged') }))
  await until(() => rejected() === 1, 'the forged from counted')
  // r pretends to be a relay: b is not the target, and frames go one hop only.
  r.session.send(encodeSignal({ to: c.id, from: a.id, relayed: true, payload: bytes('again') }))
  await until(() => rejected() === 2, 'the second hop counted')
  // An honest one after them arrives, and is the only one.
  r.session.send(encodeSignal({ to: c.id, from: r.keys.publicKey, relayed: false, payload: bytes('honest') }))
  await until(() => atC.length === 1, 'the honest signal')
  assert.ok(same(atC[0]?.from, r.keys.publicKey) && same(atC[0]?.via, b.id))
  assert.deepEqual(atC[0]?.payload, bytes('honest'))
  // A target that is not connected: dropped without blame.
  r.session.send(encodeSignal({ to: a.id, from: r.keys.publicKey, relayed: false, payload: bytes('gone') }))
  const barrier = encodeSignal({ to: c.id, from: r.keys.publicKey, relayed: false, payload: bytes('barrier') })
  r.session.send(barrier)
  await until(() => atC.length === 2, 'the barrier')
  assert.equal(r.conn.counters().invalid, 2)
  await Promise.all([a, b, c].map((p) => p.close()))
})

test('signal: relaying is rate-limited per source connection, in frames and in bytes', async () => {
  const b = await makePeer(2, { limits: { signalPerSecond: 5, signalBurst: 5, signalBytesPerSecond: 20_000 } })
  const c = await makePeer(3)
  const atC = signals(c)
  await link(b, c)
  const r = await rawPeer(b.rep, 40)
  const from = r.keys.publicKey
  const flood = () => r.conn.counters().rejected.flood
  // What b drops on its way to c: b never sends c more than c takes (half of the limits here).
  const dropped = () => b.rep.status().signalsDropped
  for (let i = 0; i < 20; i++) r.session.send(encodeSignal({ to: c.id, from, relayed: false, payload: bytes(`${i}`) }))
  await until(() => flood() + dropped() + atC.length === 20, 'every frame relayed, dropped or counted')
  assert.ok(flood() >= 13, `past the burst (and a little refill) the source is counted: ${flood()}`)
  assert.ok(atC.length >= 2 && atC.length <= 7, `some got through: ${atC.length}`)
  // Bytes: 40 kB of burst, 16 KiB frames: after 1 s (the count bucket refilled), the third is over.
  await new Promise((resolve) => setTimeout(resolve, 1000))
  const [floodBefore, deliveredBefore] = [flood(), atC.length]
  const big = new Uint8Array(16 * 1024).fill(1)
  for (let i = 0; i < 3; i++) r.session.send(encodeSignal({ to: c.id, from, relayed: false, payload: big }))
  await until(() => flood() + dropped() + atC.length === 23, 'the big frames relayed, dropped or counted')
  assert.equal(flood() - floodBefore, 1, 'the third is over the source’s byte budget')
  assert.ok(atC.length - deliveredBefore >= 1)
  assert.equal(c.rep.status().peers[0]?.counters.invalid, 0, 'never the target’s fault')
  await Promise.all([b, c].map((p) => p.close()))
})

test('signal: a peer without the feature bit never receives a SIGNAL, and its own is an unknown frame', async () => {
  const a = await makePeer(1)
  const b = await makePeer(2)
  await link(a, b)
  const old = await rawPeer(a.rep, 41, {}, FEATURES & ~FEATURE.signal)
  // To the old peer itself: it does not read SIGNAL, and there is no one else but b to relay.
  assert.equal(a.rep.signal(old.keys.publicKey, bytes('x')), true, 'asked b to relay')
  a.rep.signal(new Uint8Array(32).fill(7), bytes('y'))
  // A frame a sends the old peer after those (the HAVE answering a CLOCK for its own feed), so
  // they would have arrived by then.
  old.session.send(encodeClock([{ feed: old.keys.publicKey, seq: 0, prefix: new Uint8Array(8) }]))
  await until(() => old.frames.some((f) => f.type === 'have'), 'the barrier')
  assert.equal(old.frames.filter((f) => f.type === 'signal').length, 0)
  // Alone with the old peer, there is nobody to send to.
  const lone = await makePeer(3)
  const old2 = await rawPeer(lone.rep, 42, {}, 0)
  assert.equal(lone.rep.signal(old2.keys.publicKey, bytes('z')), false)
  // What the old peer sends is an unknown frame type to a: counted, not delivered.
  old.session.send(encodeSignal({ to: a.id, from: old.keys.publicKey, relayed: false, payload: bytes('?') }))
  await until(() => old.conn.counters().rejected['bad-frame'] === 1, 'the unknown frame counted')
  await Promise.all([a, b, lone].map((p) => p.close()))
})
