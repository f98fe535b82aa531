/**
 * DHT discovery on a DHT of several bittorrent-dht nodes on loopback: nothing leaves the machine
 * (the nodes bootstrap off one another on 127.0.0.1; none is given the public routers).
 */
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { type TestContext, test } from 'node:test'
import { isMurmurError, toHex } from '@murmur/core'
import { PUBLIC_NETWORK_KEY } from '@murmur/replicate'
import {
  type Dht,
  type DiscoveryOptions,
  FeedDiscovery,
  feedInfoHash,
  isPublicIPv4,
  openDht,
  parseHostPort,
} from '../src/dht.js'
import { within } from './helpers.js'

/** Resolves once `ok()` holds, checking every 20 ms; rejects after `ms`. */
async function eventually(what: string, ok: () => boolean, ms = 10_000): Promise<void> {
  const deadline = performance.now() + ms
  while (!ok()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

const feed = (n: number) => new Uint8Array(32).fill(n)

/** A root node that knows nobody and `n` nodes that bootstrap off it, all on 127.0.0.1. */
async function loopbackDht(t: TestContext, n: number): Promise<Dht[]> {
  const root = await openDht({ bootstrap: [], host: '127.0.0.1' })
  const nodes = [root]
  for (let i = 0; i < n; i++) {
    nodes.push(await openDht({ bootstrap: [{ host: '127.0.0.1', port: root.port }], host: '127.0.0.1' }))
  }
  t.after(() => Promise.all(nodes.map((d) => d.close())))
  // Joined once every node knows another (the root learns of each as it bootstraps).
  await eventually('the nodes to join', () => nodes.every((d) => d.nodes >= 1))
  return nodes
}

test('a feed info-hash is the first 20 bytes of sha-256("murmur/dht/v1" ‖ network key ‖ feed)', () => {
  const id = Uint8Array.from({ length: 32 }, (_, i) => i)
  const hash = feedInfoHash(PUBLIC_NETWORK_KEY, id)
  assert.equal(toHex(hash), 'd191d0bef2f29142040e44ec2cd60e0831f4773d')
  const again = createHash('sha256').update('murmur/dht/v1').update(PUBLIC_NETWORK_KEY).update(id).digest()
  assert.deepEqual(hash, new Uint8Array(again.subarray(0, 20)))
  // Another network key, another key in the DHT.
  assert.notDeepEqual(feedInfoHash(new Uint8Array(32), id), hash)
  assert.throws(
    () => feedInfoHash(PUBLIC_NETWORK_KEY, id.subarray(1)),
    (e: unknown) => isMurmurError(e, 'INVALID_ARGUMENT'),
  )
})

test('HOST:PORT parses; only public IPv4 addresses count as public', () => {
  assert.deepEqual(parseHostPort('127.0.0.1:6881'), { host: '127.0.0.1', port: 6881 })
  assert.deepEqual(parseHostPort(' router.example:25401 '), { host: 'router.example', port: 25401 })
  assert.deepEqual(parseHostPort('[::1]:7'), { host: '::1', port: 7 })
  for (const bad of ['127.0.0.1', 'x:0', 'x:65536', ':80', 'a b:1', '::1:80']) {
    assert.throws(
      () => parseHostPort(bad),
      (e: unknown) => isMurmurError(e, 'INVALID_ARGUMENT'),
      bad,
    )
  }
  for (const host of ['1.1.1.1', '8.8.4.4', '100.128.0.1', '172.32.0.1', '192.169.0.1']) assert.ok(isPublicIPv4(host))
  for (const host of [
    '127.0.0.1',
    '10.1.2.3',
    '172.16.0.1',
    '192.168.1.1',
    '169.254.1.1',
    '100.64.0.1',
    '0.0.0.0',
    '224.0.0.1',
    '255.255.255.255',
    '256.1.1.1',
    'localhost',
    '::1',
  ]) {
    assert.ok(!isPublicIPv4(host), host)
  }
})

test('on a loopback DHT of five nodes, a lookup finds the address that announced a feed', async (t) => {
  const [, a, , , d] = (await loopbackDht(t, 4)) as [Dht, Dht, Dht, Dht, Dht]
  const key = feedInfoHash(PUBLIC_NETWORK_KEY, feed(1))
  const took = await within(10_000, 'the announce', a.announce(key, 4242))
  assert.ok(took >= 1, `${took} nodes took the announce`)
  const found = await within(10_000, 'the lookup', d.lookup(key))
  assert.deepEqual(found, [{ host: '127.0.0.1', port: 4242 }])
  // Nobody announced another feed, or this feed on another network.
  assert.deepEqual(await within(10_000, 'a lookup', d.lookup(feedInfoHash(PUBLIC_NETWORK_KEY, feed(2)))), [])
  assert.deepEqual(await within(10_000, 'a lookup', d.lookup(feedInfoHash(new Uint8Array(32), feed(1)))), [])
})

test('a node without bootstrap contacts nobody; a second node cannot bind its port', async () => {
  const alone = await openDht({ bootstrap: [] })
  try {
    assert.equal(alone.nodes, 0)
    assert.deepEqual(await within(5000, 'a lookup alone', alone.lookup(feedInfoHash(PUBLIC_NETWORK_KEY, feed(1)))), [])
    await assert.rejects(alone.announce(feedInfoHash(PUBLIC_NETWORK_KEY, feed(1)), 1), (e: unknown) =>
      isMurmurError(e, 'UNREACHABLE'),
    )
    assert.equal(alone.nodes, 0)
    await assert.rejects(openDht({ bootstrap: [], port: alone.port }), (e: unknown) =>
      isMurmurError(e, 'LISTEN_FAILED'),
    )
  } finally {
    await alone.close()
  }
  await assert.rejects(alone.lookup(feedInfoHash(PUBLIC_NETWORK_KEY, feed(1))), (e: unknown) =>
    isMurmurError(e, 'NOT_OPEN'),
  )
})

/** A discovery whose `connect` records URLs and holds each connection open until aborted. */
function discovery(t: TestContext, dht: Dht, opts: Partial<DiscoveryOptions> & Pick<DiscoveryOptions, 'port'>) {
  const dialled: string[] = []
  let open = 0
  let maxOpen = 0
  const d = new FeedDiscovery({
    dht,
    networkKey: PUBLIC_NETWORK_KEY,
    held: async () => [],
    missing: async () => [],
    connect: (url, signal) => {
      dialled.push(url)
      maxOpen = Math.max(maxOpen, ++open)
      return new Promise((resolve) =>
        signal.addEventListener('abort', () => {
          open--
          resolve(undefined)
        }),
      )
    },
    lookupEveryMs: 50,
    retryAfterMs: 50,
    ...opts,
  })
  t.after(() => d.close())
  return { d, dialled, maxOpen: () => maxOpen }
}

test('discovery announces what it holds, looks up what it misses and dials each holder once', async (t) => {
  const [, a, b, c, e] = (await loopbackDht(t, 4)) as [Dht, Dht, Dht, Dht, Dht]
  // A and B hold feed 1 and serve it on ports 4001 and 4002; A also looks it up (it must dial B,
  // never itself); C and E miss it, E with the default that skips loopback addresses.
  const A = discovery(t, a, {
    port: 4001,
    held: async () => [feed(1)],
    missing: async () => [feed(1)],
    allowPrivate: true,
  })
  discovery(t, b, { port: 4002, held: async () => [feed(1), feed(2)] })
  const C = discovery(t, c, { port: 4003, missing: async () => [feed(1)], allowPrivate: true, maxDials: 1 })
  const E = discovery(t, e, { port: 4005, missing: async () => [feed(1)] })
  await eventually('C to dial a holder', () => C.dialled.length >= 1)
  assert.match(C.dialled[0] as string, /^ws:\/\/127\.0\.0\.1:400[12]\/murmur$/)
  // Bounded: maxDials 1, and the open connection is never dialled again.
  await eventually('C to look up again', () => C.d.status().lookups >= 3)
  assert.deepEqual(C.dialled, [C.dialled[0]])
  assert.equal(C.maxOpen(), 1)
  assert.deepEqual(C.d.status().connections, C.dialled)
  await eventually('E to find holders', () => E.d.status().found >= 2)
  assert.deepEqual(E.dialled, [], 'loopback addresses learned from the DHT are not dialled by default')
  await eventually('A to dial B', () => A.dialled.length >= 1)
  assert.deepEqual(A.dialled, ['ws://127.0.0.1:4002/murmur'], 'never itself')
  const s = C.d.status()
  assert.ok(s.nodes >= 1 && s.found >= 1 && s.dialled === 1 && s.lastError === undefined, JSON.stringify(s))
})

test('an address whose handshake named this peer is never dialled again; a failed one waits', async (t) => {
  const [, a, c] = (await loopbackDht(t, 2)) as [Dht, Dht, Dht]
  discovery(t, a, { port: 4001, held: async () => [feed(1)] })
  const tries = new Map<string, number>()
  const c1 = new FeedDiscovery({
    dht: c,
    networkKey: PUBLIC_NETWORK_KEY,
    port: 4003,
    held: async () => [],
    missing: async () => [feed(1)],
    connect: async (url) => {
      tries.set(url, (tries.get(url) ?? 0) + 1)
      return 'self'
    },
    allowPrivate: true,
    lookupEveryMs: 20,
  })
  t.after(() => c1.close())
  await eventually('some lookups', () => c1.status().lookups >= 5)
  assert.deepEqual([...tries.values()], [1])
  await c1.close()

  const c2 = new FeedDiscovery({
    dht: c,
    networkKey: PUBLIC_NETWORK_KEY,
    port: 4003,
    held: async () => [],
    missing: async () => [feed(1)],
    connect: async () => {
      throw new Error('connection refused')
    },
    allowPrivate: true,
    lookupEveryMs: 20,
    retryAfterMs: 60_000,
  })
  t.after(() => c2.close())
  await eventually('some lookups', () => c2.status().lookups >= 5)
  assert.equal(c2.status().dialled, 1)
  assert.equal(c2.status().lastError, 'connection refused')
})

test('discovery refuses a bad network key or a period that is not a whole number ≥ 1', async () => {
  const dht = await openDht({ bootstrap: [] })
  try {
    const base: DiscoveryOptions = {
      dht,
      networkKey: PUBLIC_NETWORK_KEY,
      port: 1,
      held: async () => [],
      missing: async () => [],
      connect: async () => undefined,
    }
    for (const bad of [{ networkKey: new Uint8Array(31) }, { lookupEveryMs: 0 }, { maxDials: 1.5 }, { port: 0 }]) {
      assert.throws(
        () => new FeedDiscovery({ ...base, ...bad }),
        (e: unknown) => isMurmurError(e, 'INVALID_ARGUMENT'),
      )
    }
  } finally {
    await dht.close()
  }
})
