import assert from 'node:assert/strict'
import { join } from 'node:path'
import { test } from 'node:test'
import { murmur, murmurJson, start, stop, tempData } from './helpers.js'

/** Polls `check` until it returns a value, at most `timeoutMs`. */
async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = await check()
    if (v !== undefined) return v
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise((r) => setTimeout(r, 100))
  }
}

test('two serve processes replicate live; commands reach a running peer; the folder is locked', async () => {
  const a = await tempData()
  const b = await tempData()
  const { id: aId } = await murmurJson<{ id: string }>(['init', '--data', a.dir])
  await murmurJson(['init', '--data', b.dir])
  // --app names no folder: these peers publish no app release, so their feeds hold only what the tests write.
  const A = await start(
    ['serve', '--port', '0', '--json', '--app', join(a.dir, 'no-app'), '--data', a.dir],
    /"ws": "(ws:\/\/[^"]+)"/,
  )
  try {
    const aUrl = A.match[1] as string
    await murmurJson(['follow', aId, '--name', 'Alice', '--data', b.dir])
    const B = await start(
      ['serve', '--port', '0', '--peer', aUrl, '--app', join(b.dir, 'no-app'), '--data', b.dir],
      /murmur is serving/,
    )
    try {
      // A second serve on the same folder is refused, not corrupted.
      const second = await murmur(['serve', '--port', '0', '--data', a.dir])
      assert.equal(second.code, 4)
      assert.match(second.stderr, /in use/)
      // While A serves, `post` on A's folder goes through A's control socket.
      const p = await murmurJson<{ id: string; seq: number }>(['post', 'live from A', '--data', a.dir])
      assert.equal(p.seq, 1)
      // B (which follows A) receives it while both run.
      const got = await eventually(async () => {
        const feed = await murmurJson<{ items: { id: string }[] }>(['feed', '--data', b.dir])
        return feed.items.find((i) => i.id === p.id)
      })
      assert.equal(got.id, p.id)
      const status = await murmurJson<{ serving: boolean; peers: { remote: string; state: string }[] }>([
        'status',
        '--data',
        b.dir,
      ])
      assert.equal(status.serving, true)
      assert.ok(status.peers.some((x) => x.remote === aId && x.state === 'ready'))
    } finally {
      assert.equal(await stop(B.child), 0, 'Ctrl-C shuts serve down cleanly')
    }
  } finally {
    assert.equal(await stop(A.child), 0)
    // After a clean stop the folder opens again.
    const after = await murmurJson<{ seq: number }>(['status', '--data', a.dir])
    assert.equal(after.seq, 1)
    await a.remove()
    await b.remove()
  }
})

test('sync catches up once from a serving peer, with progress, then exits', async () => {
  const a = await tempData()
  const b = await tempData()
  const { id: aId } = await murmurJson<{ id: string }>(['init', '--data', a.dir])
  await murmurJson(['init', '--data', b.dir])
  for (let i = 0; i < 5; i++) await murmurJson(['post', `post ${i}`, '--data', a.dir])
  const A = await start(
    ['serve', '--port', '0', '--json', '--app', join(a.dir, 'no-app'), '--data', a.dir],
    /"url": "(http:\/\/[^"]+)"/,
  )
  try {
    await murmurJson(['follow', aId, '--data', b.dir])
    // The page URL works as well as the ws:// one.
    const r = await murmur(['sync', A.match[1] as string, '--data', b.dir])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /synced with .*: 5 new messages/)
    assert.match(r.stderr, /100% \(5\/5 messages\)/)
    const log = await murmurJson<{ seq: number }>(['log', aId, '--data', b.dir])
    assert.equal(log.seq, 5)
    const again = await murmurJson<{ received: number }>(['sync', A.match[1] as string, '--data', b.dir])
    assert.equal(again.received, 0)
  } finally {
    await stop(A.child)
    await a.remove()
    await b.remove()
  }
})

test('network errors are one line with a meaningful exit code', async () => {
  const d = await tempData()
  try {
    await murmurJson(['init', '--data', d.dir])
    const down = await murmur(['sync', 'ws://127.0.0.1:9/murmur', '--data', d.dir])
    assert.equal(down.code, 5)
    assert.match(down.stderr, /cannot connect to ws:\/\/127\.0\.0\.1:9/)
    const bad = await murmur(['sync', 'ftp://x', '--data', d.dir])
    assert.equal(bad.code, 2)
    assert.match(bad.stderr, /not a peer address/)
    const port = await murmur(['serve', '--port', 'x', '--data', d.dir])
    assert.equal(port.code, 2)
    const tls = await murmur(['serve', '--tls-cert', 'a.pem', '--data', d.dir])
    assert.equal(tls.code, 2)
    assert.match(tls.stderr, /go together/)
    for (const r of [down, bad, port, tls]) assert.doesNotMatch(r.stderr, /\n\s+at /)
  } finally {
    await d.remove()
  }
})
