/**
 * Issue 5's proof for always-on peers: three real `murmur serve --dht` processes that share no
 * configured address find each other through a DHT on loopback (a bootstrap node this test
 * runs on 127.0.0.1: nothing leaves the machine) and replicate a feed only one of them held.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { openDht } from '@murmur/net/dht'
import { murmur, murmurJson, start, stop, tempData } from './helpers.js'

/** Polls `check` until it returns a value, at most `timeoutMs`. */
async function eventually<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = await check()
    if (v !== undefined) return v
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 200))
  }
}

interface DhtStatus {
  port: number
  nodes: number
  announced: number
  lookups: number
  found: number
  connections: string[]
  lastError?: string
}
interface Status {
  peers: { remote?: string; state: string; initiator: boolean }[]
  dht?: DhtStatus
}

test('three serves with --dht and no --peer find each other on a loopback DHT and replicate', async (t) => {
  const root = await openDht({ bootstrap: [], host: '127.0.0.1' })
  t.after(() => root.close())
  const dirs = await Promise.all([tempData(), tempData(), tempData()])
  t.after(() => Promise.all(dirs.map((d) => d.remove())))
  const [a, b, c] = dirs.map((d) => d.dir) as [string, string, string]
  const [aId, , cId] = (await Promise.all(
    [a, b, c].map(async (dir) => (await murmurJson<{ id: string }>(['init', '--data', dir])).id),
  )) as [string, string, string]
  for (let i = 1; i <= 2; i++) await murmurJson(['post', `A's post ${i}`, '--data', a])

  // Rounds every 200 ms (announces every second) instead of every minute.
  const env = { MURMUR_DHT_LOOKUP_MS: '200', MURMUR_DHT_ANNOUNCE_MS: '1000' }
  const dhtArgs = ['--dht', '--dht-bootstrap', `127.0.0.1:${root.port}`, '--dht-port', '0', '--dht-allow-private']
  const serve = (dir: string) =>
    start(['serve', '--port', '0', ...dhtArgs, '--json', '--data', dir], /"ws": "(ws:\/\/[^"]+)"/, 60_000, env)
  const servers = await Promise.all([serve(a), serve(b), serve(c)])
  t.after(() => Promise.all(servers.map((s) => stop(s.child))))
  const aUrl = servers[0]?.match[1] as string

  // C follows A while serving (through its control socket); only A holds A's feed (its posts,
  // and whatever `serve` itself put there).
  const seqOf = async (dir: string) => (await murmurJson<{ seq: number }>(['log', aId, '--data', dir])).seq
  const aSeq = await seqOf(a)
  assert.ok(aSeq >= 2)
  await murmurJson(['follow', aId, '--data', c])
  await eventually('C to hold A’s feed', async () => ((await seqOf(c)) === aSeq ? true : undefined))
  const [cStatus, aStatus] = await Promise.all([
    murmurJson<Status>(['status', '--data', c]),
    murmurJson<Status>(['status', '--data', a]),
  ])
  assert.ok(cStatus.dht, 'status shows the DHT')
  assert.ok(cStatus.dht.nodes >= 1 && cStatus.dht.lookups >= 1 && cStatus.dht.found >= 1, JSON.stringify(cStatus.dht))
  assert.ok(cStatus.dht.connections.includes(aUrl), `C dialled A at ${aUrl}: ${JSON.stringify(cStatus.dht)}`)
  assert.ok(cStatus.peers.some((p) => p.remote === aId && p.state === 'ready' && p.initiator))
  assert.ok((aStatus.dht?.announced ?? 0) >= 1, JSON.stringify(aStatus.dht))

  // B follows A too; it finds A's feed at A or at C (which now holds it), whichever it dials.
  await murmurJson(['follow', aId, '--data', b])
  await eventually('B to hold A’s feed', async () => ((await seqOf(b)) === aSeq ? true : undefined))
  const bStatus = await murmurJson<Status>(['status', '--data', b])
  assert.ok(
    bStatus.peers.some((p) => (p.remote === aId || p.remote === cId) && p.initiator),
    JSON.stringify(bStatus.peers),
  )

  // A new post reaches both live over the connections the DHT made.
  await murmurJson(['post', 'A again', '--data', a])
  await eventually('the new post to reach B and C', async () =>
    (await seqOf(b)) === aSeq + 1 && (await seqOf(c)) === aSeq + 1 ? true : undefined,
  )

  const text = await murmur(['status', '--data', c])
  assert.match(
    text.stdout,
    /^dht {7}udp port \d+, \d+ nodes?, \d+ feeds? announced, \d+ lookups?, \d+ address(es)? found$/m,
  )
  assert.match(text.stdout, new RegExp(`^ {2}dht peer ${aUrl.replaceAll('.', '\\.')}$`, 'm'))
  for (const s of servers) assert.equal(await stop(s.child), 0, s.output())
})

test('a peer without the DHT (as a browser is) gets a feed its always-on neighbour looked up for it', async (t) => {
  // D runs no DHT and knows only C. D follows A. C hosts the peers it serves (D's own feed and
  // D's follows), so it wants A's feed too, finds A through the DHT, and D gets A's posts via C.
  const root = await openDht({ bootstrap: [], host: '127.0.0.1' })
  t.after(() => root.close())
  const dirs = await Promise.all([tempData(), tempData(), tempData()])
  t.after(() => Promise.all(dirs.map((d) => d.remove())))
  const [a, c, d] = dirs.map((x) => x.dir) as [string, string, string]
  const [aId] = (await Promise.all(
    [a, c, d].map(async (dir) => (await murmurJson<{ id: string }>(['init', '--data', dir])).id),
  )) as [string, string, string]
  await murmurJson(['post', "A's post", '--data', a])
  await murmurJson(['follow', aId, '--data', d])
  const env = { MURMUR_DHT_LOOKUP_MS: '200', MURMUR_DHT_ANNOUNCE_MS: '1000' }
  const dhtArgs = ['--dht', '--dht-bootstrap', `127.0.0.1:${root.port}`, '--dht-port', '0', '--dht-allow-private']
  const serve = (dir: string, args: string[]) =>
    start(['serve', '--port', '0', ...args, '--json', '--data', dir], /"ws": "(ws:\/\/[^"]+)"/, 60_000, env)
  const [A, C] = await Promise.all([serve(a, dhtArgs), serve(c, dhtArgs)])
  t.after(() => Promise.all([A, C].map((s) => stop(s.child))))
  const D = await serve(d, ['--peer', C.match[1] as string])
  t.after(() => stop(D.child))
  const seqOf = async (dir: string) => (await murmurJson<{ seq: number }>(['log', aId, '--data', dir])).seq
  const aSeq = await seqOf(a)
  await eventually('D to hold A’s feed', async () => ((await seqOf(d)) === aSeq ? true : undefined))
  const dStatus = await murmurJson<Status>(['status', '--data', d])
  assert.equal(dStatus.dht, undefined, 'D runs no DHT')
  assert.ok(!dStatus.peers.some((p) => p.remote === aId), 'D never connected to A itself')
  for (const s of [D, C, A]) assert.equal(await stop(s.child), 0, s.output())
})

test('--dht options are checked before anything starts', async () => {
  const d = await tempData()
  try {
    const cases: [string[], RegExp][] = [
      [['--dht-port', '1'], /--dht-port goes with --dht/],
      [['--dht', '--dht-bootstrap', 'nope'], /--dht-bootstrap takes HOST:PORT/],
      [['--dht', '--dht-port', 'x'], /--dht-port takes a port number/],
      [['--dht', '--dht-bootstrap', 'public'], /cannot reach .*--listen 0\.0\.0\.0/],
      [['--dht', '--listen', '::1'], /IPv4/],
    ]
    const runs = await Promise.all(cases.map(([args]) => murmur(['serve', '--port', '0', ...args, '--data', d.dir])))
    for (const [i, [args, message]] of cases.entries()) {
      assert.equal(runs[i]?.code, 2, `${args.join(' ')}: ${runs[i]?.stderr}`)
      assert.match(runs[i]?.stderr ?? '', message)
    }
  } finally {
    await d.remove()
  }
})
