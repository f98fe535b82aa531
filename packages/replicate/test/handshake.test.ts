import assert from 'node:assert/strict'
import { test } from 'node:test'
import { equalBytes, utf8 } from '@murmur/core'
import { memoryChannelPair } from '../src/channel.js'
import { WIRE } from '../src/frames.js'
import { PUBLIC_NETWORK_KEY } from '../src/handshake.js'
import { link, makePeer, seqOf, until, within } from './helpers.js'

test('the handshake authenticates both identities: each side learns the other feed id', async () => {
  const a = await makePeer(1)
  const b = await makePeer(2)
  const { ab, ba } = await link(a, b)
  assert.ok(ab.remote && equalBytes(ab.remote, b.id), 'a sees b')
  assert.ok(ba.remote && equalBytes(ba.remote, a.id), 'b sees a')
  assert.equal(ab.state, 'ready')
  assert.equal(ba.state, 'ready')
  await a.close()
  const info = await within(ba.closed, 'b to see the close')
  assert.equal(info.code, 'remote')
  assert.match(info.reason, /shutting down/)
  await b.close()
})

test('a wrong network key fails on both sides with a clear reason', async () => {
  const a = await makePeer(1, { networkKey: new Uint8Array(32).fill(7) })
  const b = await makePeer(2)
  const [ca, cb] = memoryChannelPair()
  const ab = a.rep.connect(ca, { initiator: true })
  const ba = b.rep.connect(cb, { initiator: false })
  const [ia, ib] = await within(Promise.all([ab.closed, ba.closed]), 'both to close')
  assert.equal(ib.code, 'network-key')
  assert.match(ib.reason, /wrong network key/)
  assert.equal(ia.code, 'network-key')
  assert.match(ia.reason, /remote ended the handshake: wrong network key/)
  await assert.rejects(ab.ready, /closed before it was ready/)
  await assert.rejects(ba.ready, /closed before it was ready/)
  // A private network of two works, and the public key is the default.
  assert.equal(PUBLIC_NETWORK_KEY.length, 32)
  await a.close()
  await b.close()
})

test('a different channel binding fails like a wrong key; the same binding works', async () => {
  const a = await makePeer(1)
  const b = await makePeer(2)
  const [ca, cb] = memoryChannelPair()
  const ab = a.rep.connect(ca, { initiator: true, binding: utf8('fingerprints A|B') })
  const ba = b.rep.connect(cb, { initiator: false, binding: utf8('fingerprints A|M') })
  const [ia, ib] = await within(Promise.all([ab.closed, ba.closed]), 'both to close')
  assert.equal(ib.code, 'network-key')
  assert.equal(ia.code, 'network-key')
  const [c2a, c2b] = memoryChannelPair()
  const ok1 = a.rep.connect(c2a, { initiator: true, binding: utf8('same') })
  const ok2 = b.rep.connect(c2b, { initiator: false, binding: utf8('same') })
  await within(Promise.all([ok1.ready, ok2.ready]), 'the bound handshake')
  await a.close()
  await b.close()
})

test('an unexpected remote ends the handshake on both sides', async () => {
  const a = await makePeer(1)
  const b = await makePeer(2)
  const c = await makePeer(3)
  // The initiator expected c but reached b.
  const [ca, cb] = memoryChannelPair()
  const ab = a.rep.connect(ca, { initiator: true, expectedRemote: c.id })
  const ba = b.rep.connect(cb, { initiator: false })
  const [ia, ib] = await within(Promise.all([ab.closed, ba.closed]), 'both to close')
  assert.equal(ia.code, 'unexpected-remote')
  assert.equal(ib.code, 'unexpected-remote')
  assert.match(ib.reason, /remote ended the handshake/)
  // The responder expected c: it refuses after the last message; the initiator still learns why.
  const [c2a, c2b] = memoryChannelPair()
  const x = a.rep.connect(c2a, { initiator: true })
  const y = b.rep.connect(c2b, { initiator: false, expectedRemote: c.id })
  const [ix, iy] = await within(Promise.all([x.closed, y.closed]), 'both to close')
  assert.equal(iy.code, 'unexpected-remote')
  assert.equal(ix.code, 'unexpected-remote')
  await assert.rejects(x.ready)
  await Promise.all([a.close(), b.close(), c.close()])
})

test('garbage instead of a handshake is refused with a reason, and a silent peer times out', async () => {
  const b = await makePeer(2, { limits: { handshakeTimeoutMs: 150 } })
  const [raw, cb] = memoryChannelPair()
  const got: Uint8Array[] = []
  raw.onFrame((f) => got.push(f))
  const ba = b.rep.connect(cb, { initiator: false })
  raw.send(new Uint8Array([WIRE.handshake, 1, 2, 3]))
  const info = await within(ba.closed, 'the garbage connection to close')
  assert.equal(info.code, 'handshake')
  assert.deepEqual([...(got[0] ?? [])], [WIRE.abort, 2], 'the sender is told why')

  const [silent, cs] = memoryChannelPair()
  const t0 = performance.now()
  const quiet = b.rep.connect(cs, { initiator: false })
  const late = await within(quiet.closed, 'the handshake timeout', 2000)
  assert.equal(late.code, 'timeout')
  assert.ok(performance.now() - t0 >= 140)
  silent.close()
  await b.close()
})

test('a man in the middle that forwards the handshake can neither read nor inject', async () => {
  // A <-> relay <-> B: the relay forwards every frame and can see them all.
  async function relayed(tamper?: (frame: Uint8Array, n: number) => Uint8Array) {
    const a = await makePeer(1)
    const b = await makePeer(2)
    await b.follow(a.id)
    for (let i = 0; i < 5; i++) await a.post(`secret-${i}`)
    const [ca, r1] = memoryChannelPair()
    const [r2, cb] = memoryChannelPair()
    const seen: Uint8Array[] = []
    let n = 0
    r1.onFrame((f) => {
      seen.push(f)
      r2.send(tamper ? tamper(f, n++) : f)
    })
    r2.onFrame((f) => {
      seen.push(f)
      r1.send(f)
    })
    r1.onClose((why) => r2.close(why))
    r2.onClose((why) => r1.close(why))
    const ab = a.rep.connect(ca, { initiator: true })
    const ba = b.rep.connect(cb, { initiator: false })
    return { a, b, ab, ba, seen }
  }

  // Reading: the posts arrive, and no frame the relay saw contains their text.
  {
    const { a, b, ab, ba, seen } = await relayed()
    await within(Promise.all([ab.ready, ba.ready]), 'the relayed handshake')
    assert.ok(ba.remote && equalBytes(ba.remote, a.id))
    await until(async () => (await seqOf(b.store, a.id)) === 5, 'b to get the posts')
    const needle = utf8('secret-')
    const leaked = seen.some((f) => Buffer.from(f).includes(Buffer.from(needle)))
    assert.equal(leaked, false, 'the relay read plaintext')
    await Promise.all([a.close(), b.close()])
  }

  // Tampering: one flipped bit in A's first sealed frame ends the connection; nothing is stored.
  {
    let flipped = false
    const { a, b, ab, ba } = await relayed((f) => {
      if (flipped || f[0] !== WIRE.sealed) return f
      flipped = true
      const g = f.slice()
      g[g.length - 1] = (g[g.length - 1] as number) ^ 1
      return g
    })
    const info = await within(ba.closed, 'b to close')
    assert.equal(info.code, 'decrypt')
    assert.match(info.reason, /failed to authenticate/)
    await within(ab.closed, 'a to close')
    assert.equal(await seqOf(b.store, a.id), 0, 'nothing stored')
    await Promise.all([a.close(), b.close()])
  }

  // Injection: a frame of the relay's own, after the handshake, ends the connection too.
  {
    const { a, b, ab, ba } = await relayed((f, n) => {
      if (n === 2) return new Uint8Array([WIRE.sealed, ...crypto.getRandomValues(new Uint8Array(40))])
      return f
    })
    await within(Promise.all([ab.closed, ba.closed]), 'both to close')
    assert.equal((await ba.closed).code, 'decrypt')
    assert.equal(await seqOf(b.store, a.id), 0)
    await Promise.all([a.close(), b.close()])
  }
})
