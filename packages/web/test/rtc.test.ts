/**
 * The worker's half of browser-to-browser links (engine/rtc.ts), in Node with real replicators
 * on in-memory channels and a stand-in for the page: the page's part (RTCPeerConnection) is
 * tested in Chromium by e2e/test/webrtc.test.ts; here, who is dialled, how signals travel
 * through a shared neighbour, the glare rule, turning links off, and that an "open" link (two
 * entangled MessagePorts standing in for the data channel) replicates like any connection.
 */
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { test } from 'node:test'
import { MessageChannel } from 'node:worker_threads'
import { type FeedId, keypairFromSeed, toHex } from '@murmur/core'
import { createSodiumEd25519 } from '@murmur/core/sodium'
import { type Connection, memoryChannelPair, Replicator } from '@murmur/replicate'
import { Store } from '@murmur/store'
import { MemoryLevel } from 'memory-level'
import { PortChannel, type RtcBridge, RtcPeers } from '../src/engine/rtc.js'
import type { RtcFromPage, RtcSignal, RtcToPage } from '../src/rtc/protocol.js'

const ed = createSodiumEd25519()
const sha256 = (b: Uint8Array) => new Uint8Array(createHash('sha256').update(b).digest())

async function peer(n: number) {
  const seed = new Uint8Array(32)
  seed[0] = n
  const keys = await keypairFromSeed(ed, seed)
  const store = await Store.open(new MemoryLevel({ keyEncoding: 'view', valueEncoding: 'view' }), {
    me: keys.publicKey,
  })
  const rep = new Replicator({ store, ed, keys, sha256 })
  return { keys, id: keys.publicKey, hex: toHex(keys.publicKey), store, rep }
}
type Peer = Awaited<ReturnType<typeof peer>>

/** A stand-in page: records what the worker asks, and lets the test answer as the page would. */
function fakePage() {
  const sent: RtcToPage[] = []
  let deliver: ((m: RtcFromPage) => void) | undefined
  const bridge: RtcBridge = {
    post: (m) => sent.push(m),
    listen: (fn) => {
      deliver = fn
      return () => {
        deliver = undefined
      }
    },
  }
  return { bridge, sent, send: (m: RtcFromPage) => deliver?.(m) }
}

async function link(a: Peer, b: Peer): Promise<[Connection, Connection]> {
  const [x, y] = memoryChannelPair()
  const ab = a.rep.connect(x, { initiator: true })
  const ba = b.rep.connect(y, { initiator: false })
  await Promise.all([ab.ready, ba.ready])
  return [ab, ba]
}

async function until(check: () => boolean | Promise<boolean>, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 5))
  }
}

function within<T>(p: Promise<T>, what: string, ms = 5000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms)
  })
  return Promise.race([p, late]).finally(() => clearTimeout(timer))
}

const offer = (id: string): RtcSignal => ({ v: 1, t: 'offer', id, sdp: 'v=0 offer' })
const answer = (id: string): RtcSignal => ({ v: 1, t: 'answer', id, sdp: 'v=0 answer' })

test('browsers a shared neighbour names are dialled; the offer and answer travel through it; the open link replicates', async () => {
  const [s, a, b] = await Promise.all([peer(1), peer(2), peer(3)])
  const pa = fakePage()
  const pb = fakePage()
  const ra = new RtcPeers({ replicator: a.rep, me: a.id, bridge: pa.bridge, tellAfterMs: 10 })
  const rb = new RtcPeers({ replicator: b.rep, me: b.id, bridge: pb.bridge, tellAfterMs: 10 })
  const [as] = await link(a, s)
  const [bs] = await link(b, s)
  await until(() => pa.sent.length > 0, 'the config')
  assert.equal(pa.sent[0]?.rtc, 'config', 'the page is told its ICE servers and trackers first')
  // s (as serve does) tells each browser about the other.
  const to = (p: Peer) => s.rep.connections().find((c) => c.remote && toHex(c.remote) === p.hex) as Connection
  to(a).sendPeers([{ feed: b.id }, { feed: a.id }])
  to(b).sendPeers([{ feed: a.id }])
  // Both may dial; the glare rule leaves one offer standing.
  await until(() => pa.sent.some((m) => m.rtc === 'dial') || pb.sent.some((m) => m.rtc === 'dial'), 'a dial')
  assert.ok(!pa.sent.some((m) => m.rtc === 'dial' && m.remote === a.hex), 'never itself')
  const [x, y, px, py] = a.hex < b.hex ? [a, b, pa, pb] : [b, a, pb, pa]
  // x (the smaller id) offers; if y offered too, x drops y's offer and y hangs up its own.
  px.send({ rtc: 'signal', to: y.hex, signal: offer('x1') })
  if (py.sent.some((m) => m.rtc === 'dial')) py.send({ rtc: 'signal', to: x.hex, signal: offer('y1') })
  await until(() => py.sent.some((m) => m.rtc === 'signal' && m.signal.t === 'offer'), 'the offer at y')
  const atY = py.sent.find((m) => m.rtc === 'signal' && m.signal.t === 'offer') as Extract<RtcToPage, { rtc: 'signal' }>
  assert.equal(atY.from, x.hex, 'the relay says who it came from')
  assert.equal(atY.signal.id, 'x1')
  assert.ok(!px.sent.some((m) => m.rtc === 'signal' && m.signal.t === 'offer'), "x never takes y's offer")
  py.send({ rtc: 'signal', to: x.hex, signal: answer('x1') })
  await until(() => px.sent.some((m) => m.rtc === 'signal' && m.signal.t === 'answer'), 'the answer at x')

  // The data channel opens: two entangled ports stand in for it, the binding as both computed.
  const { port1, port2 } = new MessageChannel()
  const binding = new TextEncoder().encode('both fingerprints')
  px.send({ rtc: 'open', remote: y.hex, initiator: true, binding, port: port1 as unknown as globalThis.MessagePort })
  py.send({ rtc: 'open', remote: x.hex, initiator: false, binding, port: port2 as unknown as globalThis.MessagePort })
  const direct = () => x.rep.connections().find((c) => c.remote && toHex(c.remote) === y.hex)
  await until(() => direct()?.state === 'ready', 'the direct link')
  const rx = x === a ? ra : rb
  assert.ok(rx.isDirect(direct() as Connection))
  assert.deepEqual(
    rx.status().links.map((l) => l.state),
    ['open'],
  )
  // Without the neighbour, posts flow over the link.
  await y.store.publish(ed, y.keys, { type: 'contact', content: { target: x.id, following: true } })
  await x.store.publish(ed, x.keys, { type: 'post', content: { text: 'direct' } })
  as.close()
  bs.close()
  await until(async () => ((await y.store.feedState(x.id))?.seq ?? 0) >= 1, 'the post over the link')
  ra.close()
  rb.close()
  for (const p of [s, a, b]) {
    await p.rep.close()
    await p.store.close()
  }
})

test('with direct links off, offers are declined and nothing is dialled; a bad open is closed', async () => {
  const [s, a, b] = await Promise.all([peer(4), peer(5), peer(6)])
  const pa = fakePage()
  const ra = new RtcPeers({ replicator: a.rep, me: a.id, bridge: pa.bridge })
  ra.setEnabled(false)
  const pb = fakePage()
  const rb = new RtcPeers({ replicator: b.rep, me: b.id, bridge: pb.bridge })
  await link(a, s)
  await link(b, s)
  for (const c of s.rep.connections()) c.sendPeers([{ feed: a.id }, { feed: b.id }])
  await until(() => pb.sent.some((m) => m.rtc === 'dial'), "b's dial")
  assert.ok(!pa.sent.some((m) => m.rtc === 'dial'), 'a dials nobody')
  pb.send({ rtc: 'signal', to: a.hex, signal: offer('b1') })
  // a answers "bye"; b's page is told and b backs off.
  await until(() => pb.sent.some((m) => m.rtc === 'signal' && m.signal.t === 'bye'), 'the bye')
  assert.deepEqual(rb.status().links, [])
  assert.ok(!pa.sent.some((m) => m.rtc === 'signal'), "a's page never sees the offer")
  // An open link while off is closed at once (the other end of its port sees it close), never
  // replicated.
  const { port1, port2 } = new MessageChannel()
  const portClosed = new Promise<void>((resolve) => port2.once('close', () => resolve()))
  pa.send({
    rtc: 'open',
    remote: b.hex,
    initiator: true,
    binding: new Uint8Array(8),
    port: port1 as unknown as globalThis.MessagePort,
  })
  await within(portClosed, 'the port closed')
  assert.equal(a.rep.connections().length, 1, 'only the neighbour')
  ra.close()
  rb.close()
  for (const p of [s, a, b]) {
    await p.rep.close()
    await p.store.close()
  }
})

test('a browser tells its direct links about each other, so they can meet through it', async () => {
  const [a, b, c] = await Promise.all([peer(7), peer(8), peer(9)])
  const pb = fakePage()
  const rb = new RtcPeers({ replicator: b.rep, me: b.id, bridge: pb.bridge, tellAfterMs: 10 })
  const heard = new Map<string, FeedId[]>()
  for (const p of [a, c]) {
    p.rep.subscribe((e) => {
      if (e.type === 'peers')
        heard.set(
          p.hex,
          e.entries.map((x) => x.feed),
        )
    })
  }
  // b's two direct links (entangled ports as data channels).
  for (const [other, initiator] of [
    [a, true],
    [c, false],
  ] as const) {
    const { port1, port2 } = new MessageChannel()
    const binding = new Uint8Array([1, 2, 3])
    pb.send({ rtc: 'open', remote: other.hex, initiator, binding, port: port1 as unknown as globalThis.MessagePort })
    other.rep.connect(new PortChannel(port2 as unknown as globalThis.MessagePort), {
      initiator: !initiator,
      binding,
      expectedRemote: b.id,
    })
  }
  await until(() => heard.get(a.hex)?.some((f) => toHex(f) === c.hex) === true, 'a hears of c')
  await until(() => heard.get(c.hex)?.some((f) => toHex(f) === a.hex) === true, 'c hears of a')
  rb.close()
  for (const p of [a, b, c]) {
    await p.rep.close()
    await p.store.close()
  }
})
