import assert from 'node:assert/strict'
import { test } from 'node:test'
import { isMurmurError } from '@murmur/core'
import {
  type HostScope,
  hostKey,
  hostScope,
  isPublicHost,
  Mesh,
  type MeshLink,
  type MeshOptions,
} from '../src/index.js'

/** A fake clock: time moves only when told, timers run in order; counts the timers pending. */
class FakeClock {
  now = 1_000_000
  #timers = new Map<number, { at: number; fn: () => void }>()
  #next = 1
  readonly timers = {
    setTimeout: (fn: () => void, ms: number): unknown => {
      const id = this.#next++
      this.#timers.set(id, { at: this.now + ms, fn })
      return id
    },
    clearTimeout: (id: unknown): void => {
      this.#timers.delete(id as number)
    },
  }
  get pending(): number {
    return this.#timers.size
  }
  /** Moves time on by `ms`, running each timer due (and what it starts) on the way. */
  async advance(ms: number): Promise<void> {
    const end = this.now + ms
    for (;;) {
      await flush()
      let first: [number, { at: number; fn: () => void }] | undefined
      for (const t of this.#timers) if (t[1].at <= end && (!first || t[1].at < first[1].at)) first = t
      if (!first) break
      this.#timers.delete(first[0])
      this.now = Math.max(this.now, first[1].at)
      first[1].fn()
    }
    this.now = end
    await flush()
  }
}

/** Lets promise callbacks run (one turn of the event loop: no time passes on the fake clock). */
const flush = () => new Promise<void>((resolve) => setImmediate(resolve))

/** A dial the test answers: open it, fail it, then end its link. */
interface FakeDial {
  readonly url: string
  readonly signal: AbortSignal
  open(): FakeLink
  fail(message?: string): void
}

class FakeLink implements MeshLink {
  readonly closed: Promise<unknown>
  closedWith: string | undefined
  #end!: (v: unknown) => void
  constructor() {
    this.closed = new Promise((resolve) => {
      this.#end = resolve
    })
  }
  /** The remote ends it (optionally reporting misbehaviour, as a replicator would). */
  end(value: unknown = { reason: 'remote closed' }): void {
    this.#end(value)
  }
  close(reason: string): void {
    assert.equal(this.closedWith, undefined, 'closed twice')
    this.closedWith = reason
    this.#end({ reason })
  }
}

/** A mesh on a fake clock and a fake dialer; `rng` is a seeded PRNG unless given. */
function setup(opts: Partial<MeshOptions> = {}, seed = 1) {
  const clock = new FakeClock()
  const dials: FakeDial[] = []
  const links = new Map<string, FakeLink>()
  let s = seed
  const mesh = new Mesh({
    dial: (url, signal) =>
      new Promise<MeshLink>((resolve, reject) => {
        signal.addEventListener('abort', () => reject(signal.reason), { once: true })
        dials.push({
          url,
          signal,
          open() {
            const link = new FakeLink()
            links.set(url, link)
            resolve(link)
            return link
          },
          fail(message = 'ECONNREFUSED') {
            reject(new Error(message))
          },
        })
      }),
    now: () => clock.now,
    // mulberry32: the same picks on every run.
    random: () => {
      s = (s + 0x6d2b79f5) | 0
      let t = Math.imul(s ^ (s >>> 15), 1 | s)
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296
    },
    timers: clock.timers,
    ...opts,
  })
  /** Opens every dial still waiting for an answer. */
  const openAll = async () => {
    await flush()
    for (const d of dials) if (!links.has(d.url) && !d.signal.aborted) d.open()
    await flush()
  }
  return { clock, dials, links, mesh, openAll }
}

const urls = (n: number, from = 0) => Array.from({ length: n }, (_, i) => `wss://p${from + i}.example.org/murmur`)
const open = (mesh: Mesh) => mesh.status().peers.filter((p) => p.state === 'open')

test('the address classifier: private, loopback, link-local, local names and reserved ranges are not public', () => {
  const table: [string, HostScope][] = [
    ['example.org', 'public'],
    ['Murmur.Example.ORG.', 'public'],
    ['exämple.org', 'public'],
    ['8.8.8.8', 'public'],
    ['203.0.113.7', 'public'],
    ['172.15.255.255', 'public'],
    ['172.32.0.0', 'public'],
    ['100.63.255.255', 'public'],
    ['100.128.0.0', 'public'],
    ['169.253.1.1', 'public'],
    ['2001:db8::1', 'public'],
    ['[2606:4700::1111]', 'public'],
    ['::ffff:8.8.8.8', 'public'],
    ['10.0.0.1', 'private'],
    ['10.255.255.255', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'private'],
    ['100.127.255.255', 'private'],
    ['fc00::1', 'private'],
    ['fd12:3456:789a::1', 'private'],
    ['[fdff::1]', 'private'],
    ['fec0::1', 'private'],
    ['::ffff:192.168.0.1', 'private'],
    ['[::ffff:c0a8:1]', 'private'],
    ['::ffff:10.1.2.3', 'private'],
    ['64:ff9b::10.0.0.1', 'private'],
    ['2002:c0a8:0101::1', 'private'],
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['127.0.0.1.', 'loopback'],
    ['0x7f.1', 'loopback'],
    ['2130706433', 'loopback'],
    ['0177.0.0.1', 'loopback'],
    ['::1', 'loopback'],
    ['[::1]', 'loopback'],
    ['0:0:0:0:0:0:0:1', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::127.0.0.1', 'loopback'],
    ['169.254.169.254', 'link-local'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['[febf::1]', 'link-local'],
    ['::ffff:169.254.1.1', 'link-local'],
    ['localhost', 'local-name'],
    ['LOCALHOST.', 'local-name'],
    ['api.localhost', 'local-name'],
    ['printer.local', 'local-name'],
    ['nas.home.arpa', 'local-name'],
    ['db.internal', 'local-name'],
    ['router.lan', 'local-name'],
    ['intranet', 'local-name'],
    ['0.0.0.0', 'reserved'],
    ['0.1.2.3', 'reserved'],
    ['224.0.0.1', 'reserved'],
    ['255.255.255.255', 'reserved'],
    ['240.0.0.1', 'reserved'],
    ['::', 'reserved'],
    ['ff02::1', 'reserved'],
    ['', 'invalid'],
    ['256.1.1.1', 'invalid'],
    ['a b', 'invalid'],
    ['user@example.org', 'invalid'],
    ['1:2:3:4:5:6:7:8:9', 'invalid'],
    ['1::2::3', 'invalid'],
    ['[gggg::1]', 'invalid'],
  ]
  for (const [host, scope] of table) {
    assert.equal(hostScope(host), scope, host)
    assert.equal(isPublicHost(host), scope === 'public', host)
  }
  // One key per host, however it is spelled.
  assert.equal(hostKey('::ffff:1.2.3.4'), '1.2.3.4')
  assert.equal(hostKey('[::FFFF:102:304]'), '1.2.3.4')
  assert.equal(hostKey('2001:DB8:0::1'), hostKey('[2001:db8::0:1]'))
  assert.equal(hostKey('Example.ORG.'), 'example.org')
  assert.equal(hostKey('a b'), undefined)
})

test('holds target outbound connections among many known ones, never a full mesh', async () => {
  const { clock, dials, mesh, openAll } = setup({ learnedDialsPerSecond: 100, learnedDialBurst: 50 })
  assert.equal(mesh.learn(urls(50), 'learned'), 50)
  await openAll()
  assert.equal(dials.length, 6)
  assert.equal(open(mesh).length, 6)
  await clock.advance(60_000)
  assert.equal(dials.length, 6, 'nothing more dialled once the target is met')
  const s = mesh.status()
  assert.equal(s.known, 50)
  assert.equal(s.outbound, 6)
  assert.equal(s.dialling, 0)
  await mesh.close()
  assert.equal(clock.pending, 0)
})

test('picks at random: other random numbers pick other peers', async () => {
  const picks: string[][] = []
  for (const seed of [1, 2, 3]) {
    const { mesh, dials, clock } = setup({ learnedDialsPerSecond: 100, learnedDialBurst: 50 }, seed)
    mesh.learn(urls(50), 'learned')
    await clock.advance(0)
    picks.push(dials.map((d) => d.url).sort())
    await mesh.close()
  }
  assert.notDeepEqual(picks[0], picks[1])
  assert.notDeepEqual(picks[1], picks[2])
  // Not just the first ones announced.
  assert.notDeepEqual(picks[0], urls(6).sort())
  // A picker that always draws the top of the range takes the last candidate.
  const { mesh, dials } = setup({ target: 1, random: () => 0.999999 })
  mesh.learn(urls(5), 'learned')
  await flush()
  assert.deepEqual(
    dials.map((d) => d.url),
    [urls(5)[4]],
  )
  await mesh.close()
})

test('learned addresses are dialled at a bounded rate (burst 3, then 1 a second); configured ones at once', async () => {
  const { clock, dials, mesh } = setup({ target: 10 })
  mesh.learn(urls(20), 'learned')
  await flush()
  assert.equal(dials.length, 3, 'the burst')
  await clock.advance(999)
  assert.equal(dials.length, 3)
  await clock.advance(1)
  assert.equal(dials.length, 4)
  await clock.advance(3000)
  assert.equal(dials.length, 7)
  // Failures do not buy extra dials: retries take tokens too.
  for (const d of dials) d.fail()
  await flush()
  assert.equal(dials.length, 7)
  await clock.advance(1000)
  assert.equal(dials.length, 8)
  // Configured addresses are not rate-limited (nor counted against the target's picks).
  mesh.learn(['wss://a.example.net/murmur', 'wss://b.example.net/murmur', 'ws://127.0.0.1:9/murmur'], 'configured')
  await flush()
  assert.equal(dials.length, 11)
  await mesh.close()
  assert.equal(clock.pending, 0)
})

test('private, loopback and local learned addresses are refused unless allowed; configured ones are not', async () => {
  const local = [
    'ws://127.0.0.1:8420/murmur',
    'ws://localhost:8420/murmur',
    'ws://192.168.1.1/murmur',
    'ws://10.0.0.2:80/',
    'ws://[::1]:8420/murmur',
    'ws://[fd00::1]/murmur',
    'ws://[fe80::1]/murmur',
    'ws://169.254.169.254/latest',
    'ws://printer.local/',
    'ws://0x7f.1:8420/murmur',
    'ws://[::ffff:192.168.0.1]/',
  ]
  const { dials, mesh } = setup()
  assert.equal(mesh.learn(local, 'learned'), 0)
  assert.equal(
    mesh.learn(
      ['http://example.org/', 'wss://u:p@example.org/', 'not a url', `wss://${'a'.repeat(260)}.org`],
      'learned',
    ),
    0,
  )
  await flush()
  assert.equal(dials.length, 0)
  assert.equal(mesh.status().known, 0)
  mesh.learn(['ws://127.0.0.1:8420/murmur'], 'configured')
  await flush()
  assert.deepEqual(
    dials.map((d) => d.url),
    ['ws://127.0.0.1:8420/murmur'],
  )
  assert.throws(
    () => mesh.learn(['http://example.org/'], 'configured'),
    (e: unknown) => isMurmurError(e, 'INVALID_ARGUMENT'),
  )
  await mesh.close()

  const allowed = setup({ allowPrivate: true, learnedDialBurst: 20, target: 20 })
  assert.equal(allowed.mesh.learn(local, 'learned'), local.length - 1, '0x7f.1 is 127.0.0.1, already known')
  await flush()
  assert.equal(allowed.dials.length, local.length - 1)
  await allowed.mesh.close()
})

test('at most maxPerAddress connections to and from one host, loopback exempt; inbound counts', async () => {
  const { dials, mesh, openAll } = setup({ maxPerAddress: 2, learnedDialBurst: 20, target: 10, allowPrivate: true })
  mesh.learn(
    Array.from({ length: 6 }, (_, i) => `ws://203.0.113.7:${8000 + i}/murmur`),
    'learned',
  )
  await openAll()
  assert.equal(dials.length, 2, 'two to one host')
  // Inbound from that host is over the limit; another host is welcome, twice.
  assert.equal(mesh.inbound('203.0.113.7'), false)
  assert.equal(mesh.inbound('::ffff:203.0.113.7'), false, 'the same host, IPv4-mapped')
  const a = mesh.inbound('198.51.100.1')
  const b = mesh.inbound('198.51.100.1')
  assert.ok(a && b)
  assert.equal(mesh.inbound('198.51.100.1'), false)
  a()
  a() // twice does nothing
  const c = mesh.inbound('198.51.100.1')
  assert.ok(c)
  assert.equal(mesh.inbound('198.51.100.1'), false)
  // Loopback is exempt from the per-host limit (a TLS proxy on this machine; local tests).
  const locals = Array.from({ length: 5 }, () => mesh.inbound('127.0.0.1'))
  assert.ok(locals.every((r) => r !== false))
  assert.equal(mesh.status().inbound, 7)
  mesh.learn(
    Array.from({ length: 3 }, (_, i) => `ws://127.0.0.1:${9000 + i}/murmur`),
    'learned',
  )
  await openAll()
  assert.equal(dials.length, 5)
  await mesh.close()
})

test('inbound connections leave target slots for outbound, and all stay under maxConnections', async () => {
  const { mesh, dials, openAll } = setup({ maxConnections: 10, target: 4, learnedDialBurst: 10 })
  const accepted = Array.from({ length: 8 }, (_, i) => mesh.inbound(`198.51.100.${i}`))
  assert.equal(accepted.filter(Boolean).length, 6, 'maxConnections - target inbound')
  mesh.learn(urls(10), 'learned')
  await openAll()
  assert.equal(dials.length, 4)
  assert.equal(mesh.inbound('198.51.100.200'), false)
  // Configured addresses go beyond the target, but not beyond maxConnections.
  const { mesh: m2, dials: d2 } = setup({ maxConnections: 3, target: 1 })
  m2.learn(urls(5, 100), 'configured')
  await flush()
  assert.equal(d2.length, 3)
  await Promise.all([mesh.close(), m2.close()])
})

test('a failed dial backs off (growing, with jitter) and is dialled again; a stable connection resets it', async () => {
  const { clock, dials, mesh } = setup({ random: () => 0.5, minDelayMs: 1000, maxDelayMs: 8000 })
  mesh.learn(['wss://only.example.org/murmur'], 'configured')
  await flush()
  const waits: number[] = []
  for (let i = 0; i < 5; i++) {
    const before = clock.now
    dials.at(-1)?.fail(`refused ${i}`)
    await flush()
    const s = mesh.status().peers[0]
    assert.equal(s?.state, 'waiting')
    assert.equal(s?.lastError, `refused ${i}`)
    assert.equal(mesh.status().backingOff, 1)
    const n = dials.length
    await clock.advance((s?.retryAt ?? 0) - before - 1)
    assert.equal(dials.length, n, 'not before its time')
    await clock.advance(1)
    assert.equal(dials.length, n + 1, 'redialled')
    waits.push((s?.retryAt ?? 0) - before)
  }
  // Equal jitter with random 0.5: 3/4 of min(max, min * 2^(n-1)).
  assert.deepEqual(waits, [750, 1500, 3000, 6000, 6000])
  assert.equal(mesh.status().peers[0]?.failures, 5)
  const link = dials.at(-1)?.open()
  await flush()
  await clock.advance(10_000)
  link?.end()
  await flush()
  const s = mesh.status().peers[0]
  assert.equal(s?.failures, 0, 'a stable connection resets the count')
  assert.equal((s?.retryAt ?? 0) - clock.now, 750)
  await mesh.close()
  assert.equal(clock.pending, 0)
})

test('an address is judged in the form it is kept: one that percent-encoding makes too long is refused', async () => {
  const { mesh } = setup({ allowPrivate: true })
  // 118 characters as given, 318 once the spaces are encoded: it could not be passed on in PEERS.
  assert.equal(mesh.learn([`ws://example.org/${' '.repeat(100)}x`], 'learned'), 0)
  assert.equal(mesh.learn([`ws://example.org/${'é'.repeat(60)}`], 'learned'), 0)
  assert.equal(mesh.learn(['ws://example.org/fine'], 'learned'), 1)
  assert.ok(mesh.known().every((k) => new TextEncoder().encode(k.url).length <= 256))
  await mesh.close()
})

test('retryNow dials at once what waits out a backoff (the device came back online), not what is banned', async () => {
  const { dials, mesh } = setup({ random: () => 0.5, minDelayMs: 5000 })
  mesh.learn(['wss://a.example.org/murmur', 'wss://b.example.org/murmur'], 'configured')
  await flush()
  assert.equal(dials.length, 2)
  for (const d of dials.slice()) d.fail('offline')
  await flush()
  assert.equal(mesh.status().backingOff, 2)
  mesh.closed('wss://b.example.org/murmur', { misbehaved: true })
  mesh.retryNow()
  await flush()
  assert.deepEqual(
    dials.slice(2).map((d) => d.url),
    ['wss://a.example.org/murmur'],
    'the waiting one is dialled again at once; the banned one is not',
  )
  await mesh.close()
})

test('a misbehaving peer is banned for banMs and replaced at once', async () => {
  const { clock, dials, links, mesh, openAll } = setup({ target: 2, banMs: 60_000 })
  mesh.learn(urls(3), 'learned')
  await openAll()
  const [bad, good] = open(mesh)
  assert.ok(bad && good)
  mesh.closed(bad.url, { misbehaved: true })
  assert.equal(links.get(bad.url)?.closedWith, 'misbehaving')
  await openAll()
  assert.equal(dials.length, 3, 'the third one replaces it')
  const spare = dials[2]?.url as string
  assert.notEqual(spare, bad.url)
  assert.equal(mesh.status().banned, 1)
  assert.equal(mesh.status().peers.find((p) => p.url === bad.url)?.bannedUntil, clock.now + 60_000)
  // With the others gone, the banned one is still not dialled until the ban ends.
  await clock.advance(10_000)
  links.get(good.url)?.end()
  links.get(spare)?.end({ misbehaved: true, reason: 'invalid frames' })
  await flush()
  const afterEnd = dials.length
  await clock.advance(49_000)
  assert.ok(dials.slice(afterEnd).every((d) => d.url === good.url))
  assert.equal(mesh.status().peers.find((p) => p.url === spare)?.lastError, 'invalid frames')
  await clock.advance(2000)
  assert.ok(
    dials.slice(afterEnd).some((d) => d.url === bad.url),
    'dialled again after the ban',
  )
  // Banning an address that is not connected works too.
  mesh.closed(good.url, { misbehaved: true })
  assert.equal(mesh.status().peers.find((p) => p.url === good.url)?.state, 'banned')
  await mesh.close()
  assert.equal(clock.pending, 0)
})

test('when a connection closes, another is picked to get back to target', async () => {
  const { dials, links, mesh, openAll, clock } = setup({ target: 3, random: () => 0, minDelayMs: 5000 })
  mesh.learn(urls(10), 'learned')
  await openAll()
  assert.equal(open(mesh).length, 3)
  const first = open(mesh)[0]?.url as string
  links.get(first)?.end()
  await flush()
  assert.equal(dials.length, 3, 'the burst is spent: the replacement waits for a token')
  await clock.advance(1000)
  assert.equal(dials.length, 4)
  assert.notEqual(dials[3]?.url, first, 'the one that just closed waits out its backoff')
  await openAll()
  assert.equal(open(mesh).length, 3)
  // mesh.closed() for a dial in flight gives it up and picks another.
  links.get(dials[3]?.url as string)?.end()
  await clock.advance(1000)
  assert.equal(dials.length, 5)
  const inFlight = dials.at(-1) as (typeof dials)[number]
  mesh.closed(inFlight.url)
  assert.ok(inFlight.signal.aborted)
  assert.equal(mesh.status().dialling, 0)
  await clock.advance(1000)
  assert.equal(dials.length, 6)
  assert.equal(mesh.status().dialling, 1)
  await mesh.close()
})

test('the address book is bounded: the worst learned entries make room, configured ones stay', async () => {
  const { mesh, dials, clock } = setup({ maxKnown: 10, target: 1 })
  mesh.learn(urls(2, 1000), 'configured')
  mesh.learn(
    urls(10).map((url, i) => ({ url, lastSeen: clock.now - 1000 * (10 - i), feed: `@feed${i}.ed25519` })),
    'learned',
  )
  assert.equal(mesh.status().known, 12)
  // A newcomer evicts the idle learned entry seen longest ago.
  assert.equal(mesh.learn(urls(1, 50), 'learned'), 1)
  const known = mesh.known().map((k) => k.url)
  assert.equal(known.length, 12)
  assert.ok(!known.includes(urls(1)[0] as string))
  assert.ok(known.includes(urls(1, 50)[0] as string))
  assert.equal(mesh.known().find((k) => k.url === urls(1, 1)[0])?.feed, '@feed1.ed25519')
  // Many more: still bounded, configured still there.
  mesh.learn(urls(500, 2000), 'learned')
  assert.equal(mesh.status().known, 12)
  assert.ok(urls(2, 1000).every((u) => mesh.known().some((k) => k.url === u && k.source === 'configured')))
  // Learning a URL again refreshes it rather than adding it; spelled differently, it is the same.
  assert.equal(mesh.learn(['WSS://P1000.EXAMPLE.ORG/murmur#x'], 'learned'), 0)
  assert.ok(dials.length >= 2)
  await mesh.close()
})

test('close() stops everything: dials aborted, links closed, no timer left, nothing after', async () => {
  const { clock, dials, links, mesh } = setup({ target: 3 })
  mesh.learn(['wss://c.example.net/murmur'], 'configured')
  mesh.learn(urls(20), 'learned')
  await flush()
  assert.equal(dials.length, 3)
  dials[0]?.open()
  dials[1]?.open()
  dials[2]?.fail()
  await flush()
  assert.equal(dials.length, 4, 'a replacement, with the last token of the burst')
  const inFlight = dials.slice(3)
  assert.ok(clock.pending > 0, 'a retry or token timer is set')
  await mesh.close()
  assert.equal(clock.pending, 0)
  assert.ok(inFlight.every((d) => d.signal.aborted))
  assert.ok([...links.values()].every((l) => l.closedWith === 'stopped'))
  const n = dials.length
  mesh.learn(urls(5, 200), 'learned')
  mesh.closed(urls(1)[0] as string)
  assert.equal(mesh.inbound('198.51.100.1'), false)
  await clock.advance(600_000)
  assert.equal(dials.length, n)
  await mesh.close()
})

test('with real timers and a dialer that fails, close() leaves nothing running (the process exits)', async () => {
  let calls = 0
  const mesh = new Mesh({
    dial: async () => {
      calls++
      throw new Error('nobody there')
    },
    minDelayMs: 5,
    learnedDialsPerSecond: 50,
  })
  mesh.learn(['wss://a.example.org/murmur'], 'configured')
  mesh.learn(urls(10), 'learned')
  const started = Date.now()
  while (calls < 5 && Date.now() - started < 5000) await new Promise((r) => setTimeout(r, 10))
  assert.ok(calls >= 5)
  await mesh.close()
  // node --test reports a test file whose process is kept alive by a stray timer as failed.
})

test('bad options are refused', () => {
  const dial = async (): Promise<MeshLink> => ({ closed: new Promise(() => {}), close() {} })
  assert.throws(() => new Mesh({ dial, target: -1 }), RangeError)
  assert.throws(() => new Mesh({ dial, target: 1.5 }), RangeError)
  assert.throws(() => new Mesh({ dial, target: 8, maxConnections: 4 }), RangeError)
  assert.throws(() => new Mesh({ dial, learnedDialsPerSecond: 0 }), RangeError)
})
