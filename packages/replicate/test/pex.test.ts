import assert from 'node:assert/strict'
import { test } from 'node:test'
import { equalBytes, isPeerUrl } from '@murmur/core'
import { encodePeers, FEATURE, FEATURES, type PeerEntry } from '../src/frames.js'
import type { ReplicatorEvent } from '../src/replicator.js'
import { link, makePeer, rawPeer, until } from './helpers.js'

type Peers = Extract<ReplicatorEvent, { type: 'peers' }>
const feed = (n: number) => new Uint8Array(32).fill(n)

/** A PEERS frame built by hand, so it may hold what encodePeers refuses. */
function rawPeers(entries: { feed: Uint8Array; url: string }[]): Uint8Array {
  const parts = entries.map((e) => {
    const url = new TextEncoder().encode(e.url)
    return new Uint8Array([...e.feed, url.length >>> 8, url.length & 255, ...url])
  })
  return new Uint8Array([(1 << 5) | 13, ...parts.flatMap((p) => [...p])])
}

test('pex: addresses are ws: or wss: with a host, without credentials, at most 256 bytes', () => {
  for (const ok of ['wss://peer.example.org', 'ws://127.0.0.1:8080/', 'wss://[::1]:443/murmur', 'WSS://Peer.Example']) {
    assert.equal(isPeerUrl(ok), true, ok)
  }
  for (const bad of [
    '',
    'https://peer.example.org',
    'wss:',
    'wss://user:pw@peer.example.org',
    'javascript:alert(1)',
    `wss://${'a'.repeat(250)}.org`,
    `wss://é${'é'.repeat(125)}.org`, // under 256 characters, over 256 bytes
    'not a url',
    42,
  ]) {
    assert.equal(isPeerUrl(bad), false, String(bad))
  }
})

test('pex: a connection tells of peers; the other side gets a peers event', async () => {
  const a = await makePeer(1)
  const b = await makePeer(2)
  const got: Peers[] = []
  b.rep.subscribe((e) => {
    if (e.type === 'peers') got.push(e)
  })
  const { ab, ba } = await link(a, b)
  const entries: PeerEntry[] = [{ feed: feed(7), url: 'wss://peer.example.org:8443/' }, { feed: feed(8) }]
  assert.equal(ab.sendPeers(entries), true)
  await until(() => got.length === 1, 'the peers event')
  assert.equal(got[0]?.connection, ba)
  assert.ok(equalBytes(got[0]?.from as Uint8Array, a.id))
  assert.equal(got[0]?.entries.length, 2)
  assert.ok(equalBytes(got[0]?.entries[0]?.feed as Uint8Array, feed(7)))
  assert.equal(got[0]?.entries[0]?.url, 'wss://peer.example.org:8443/')
  assert.equal(got[0]?.entries[1]?.url, undefined)
  // Misuse throws.
  assert.throws(() => ab.sendPeers([{ feed: feed(1), url: 'http://x.org' }]), { code: 'INVALID_ARGUMENT' })
  assert.throws(() => ab.sendPeers([{ feed: new Uint8Array(31) }]), { code: 'INVALID_ARGUMENT' })
  assert.throws(() => ab.sendPeers(Array.from({ length: 33 }, () => ({ feed: feed(1) }))), {
    code: 'INVALID_ARGUMENT',
  })
  assert.equal(ba.counters().invalid, 0)
  await Promise.all([a.close(), b.close()])
})

test('pex: bad addresses are dropped and counted, floods are counted, old peers are never sent PEERS', async () => {
  const v = await makePeer(1, { limits: { peersPerSecond: 1, peersBurst: 2 } })
  const got: Peers[] = []
  v.rep.subscribe((e) => {
    if (e.type === 'peers') got.push(e)
  })
  const r = await rawPeer(v.rep, 40)
  r.session.send(
    rawPeers([
      { feed: feed(1), url: 'wss://good.example.org' },
      { feed: feed(2), url: 'http://bad.example.org' },
      { feed: feed(3), url: 'wss://u:p@bad.example.org' },
    ]),
  )
  await until(() => got.length === 1, 'the good entry')
  assert.equal(got[0]?.entries.length, 1)
  assert.equal(got[0]?.entries[0]?.url, 'wss://good.example.org')
  assert.equal(r.conn.counters().rejected['bad-frame'], 2)
  // Over 32 entries, or a url running past the frame: the whole frame is bad.
  r.session.send(rawPeers(Array.from({ length: 33 }, () => ({ feed: feed(1), url: 'wss://x.org' }))))
  r.session.send(rawPeers([{ feed: feed(1), url: 'wss://x.org' }]).subarray(0, 40))
  await until(() => r.conn.counters().rejected['bad-frame'] === 4, 'the malformed frames')
  // Past the rate (a burst of 2, and one was spent): the rest are floods.
  for (let i = 0; i < 4; i++) r.session.send(encodePeers([{ feed: feed(9) }]))
  await until(() => r.conn.counters().rejected.flood + got.length === 5, 'the flood counted')
  assert.ok(r.conn.counters().rejected.flood >= 2)

  // A peer of before PEERS: sendPeers is false, and its own PEERS is an unknown frame.
  const old = await rawPeer(v.rep, 41, {}, FEATURES & ~FEATURE.peers)
  assert.equal(old.conn.sendPeers([{ feed: feed(1) }]), false)
  old.session.send(encodePeers([{ feed: feed(1) }]))
  await until(() => old.conn.counters().rejected['bad-frame'] === 1, 'the unknown frame counted')
  assert.equal(old.frames.filter((f) => f.type === 'peers').length, 0)
  await v.close()
})
