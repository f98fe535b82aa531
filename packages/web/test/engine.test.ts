/**
 * The engine in real Chromium, in-page (served over a MessageChannel with the worker's RPC):
 * identity, posting and reading, the errors the UI sees, and replication with a real
 * `murmur serve` that the page's origin passes `/murmur` to (as if it served the app).
 */
import assert from 'node:assert/strict'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { callEntry } from '@murmur/testkit/browser'
import type { EngineEvent, IdentityState, NetworkView, PostPage, PostView, Profile, ThreadView } from '../src/api.js'
import { call, engineSite, eventually, murmurJson, serve, tempData, tryCall } from './engine-helpers.js'

type Ready = Extract<IdentityState, { kind: 'ready' }>

test('create an identity, post, read: timeline, thread, likes, images, events and errors', {
  timeout: 90_000,
}, async () => {
  const site = await engineSite()
  try {
    const page = await site.openPage(await site.newContext())
    await callEntry(page, 'openInPage', undefined)

    assert.deepEqual(await call(page, 'identity'), { kind: 'none' })
    const before = await tryCall(page, 'post', { text: 'too early' })
    assert.equal(before.ok ? '' : before.code, 'NO_IDENTITY')

    const created = await call<Ready>(page, 'createIdentity', { name: 'Ada', description: 'first' })
    assert.equal(created.kind, 'ready')
    assert.equal(created.me.name, 'Ada')
    assert.equal(created.me.isMe, true)
    assert.match(created.me.id, /^@[A-Za-z0-9_-]{43}\.ed25519$/)
    assert.equal(created.me.fingerprint, created.me.id.slice(1, 9))
    assert.equal(created.backedUp, false)
    assert.equal(created.restore, undefined)
    assert.equal(created.invite, `${site.origin}/#/follow/${created.me.id}`)
    const again = await tryCall(page, 'createIdentity', { name: 'Eve' })
    assert.equal(again.ok ? '' : again.code, 'IDENTITY_EXISTS')

    const id = await call<string>(page, 'post', { text: 'hello, world' })
    const tl = await call<PostPage>(page, 'timeline', {})
    assert.equal(tl.items.length, 1)
    const first = tl.items[0] as PostView
    assert.equal(first.id, id)
    assert.equal(first.text, 'hello, world')
    assert.equal(first.seq, 2, 'the profile was seq 1')
    assert.equal(first.author.id, created.me.id)
    assert.deepEqual([first.likes, first.likedByMe, first.images], [0, false, []])

    // Appends become one `changed` event naming the author, after indexing.
    const changed = await eventually(
      async () => (await callEntry<EngineEvent[]>(page, 'takeEvents', undefined)).find((e) => e.type === 'changed'),
      5000,
      'a changed event',
    )
    assert.deepEqual(changed, { type: 'changed', authors: [created.me.id] })

    await call(page, 'like', id, true)
    const reply = await call<string>(page, 'post', { text: 'a reply', replyTo: id, cw: 'spoilers' })
    const t = await call<ThreadView>(page, 'thread', reply)
    assert.equal(t.rootId, id, "a reply's thread is its root's")
    assert.equal(t.root?.likes, 1)
    assert.equal(t.root?.likedByMe, true)
    assert.deepEqual(
      t.replies.map((r) => [r.text, r.cw, r.root]),
      [['a reply', 'spoilers', id]],
    )

    // Images become blobs, named in the post and readable back.
    const withImage = await call<string>(page, 'post', {
      text: 'a picture',
      images: [{ bytes: { $bytes: 1000 }, type: 'image/png', alt: 'dots' }],
    })
    const page1 = await call<PostPage>(page, 'timeline', { limit: 1 })
    const img = page1.items[0]?.images[0]
    assert.equal(page1.items[0]?.id, withImage)
    assert.equal(img?.type, 'image/png')
    assert.equal(img?.size, 1000)
    assert.equal(img?.alt, 'dots')
    const bytes = await call<{ $bytes: number }>(page, 'blob', img?.blob)
    assert.equal(bytes.$bytes, 1000)
    assert.ok(page1.next, 'a cursor to the next page')
    const page2 = await call<PostPage>(page, 'timeline', { limit: 10, before: page1.next })
    assert.deepEqual(
      page2.items.map((p) => p.text),
      ['a reply', 'hello, world'],
    )
    const mine = await call<PostPage>(page, 'postsBy', created.me.id, { limit: 2 })
    assert.deepEqual(
      mine.items.map((p) => p.text),
      ['a picture', 'a reply'],
    )
    const rest = await call<PostPage>(page, 'postsBy', created.me.id, { before: mine.next })
    assert.deepEqual(
      rest.items.map((p) => p.text),
      ['hello, world'],
    )

    const big = await tryCall(page, 'post', {
      text: 'x',
      images: [{ bytes: { $bytes: 5 * 1048576 + 1 }, type: 'image/png' }],
    })
    assert.equal(big.ok ? '' : big.code, 'TOO_LARGE')
    const long = await tryCall(page, 'post', { text: 'y'.repeat(9000) })
    assert.equal(long.ok ? '' : long.code, 'TOO_LARGE')
    for (const [method, arg] of [
      ['profile', 'nobody'],
      ['thread', 'not-a-cid'],
      ['follow', 'x'],
    ] as const) {
      const r = await tryCall(page, method, arg, true)
      assert.equal(r.ok ? '' : r.code, 'INVALID_ARGUMENT', `${method}(${arg})`)
      assert.ok(!r.ok && r.message.length > 10, 'with a message a person can read')
    }
    const self = await tryCall(page, 'follow', created.me.id, true)
    assert.equal(self.ok ? '' : self.code, 'INVALID_ARGUMENT')

    await call(page, 'updateProfile', { name: 'Ada L.', avatar: { bytes: { $bytes: 64 }, type: 'image/png' } })
    const p = await call<Profile>(page, 'profile', created.me.id)
    assert.deepEqual([p.name, p.selfName, p.description, p.isMe, p.seq], ['Ada L.', 'Ada L.', 'first', true, 6])
    assert.ok(p.avatar?.startsWith('b'))

    const backup = await call<string>(page, 'backupText')
    assert.match(backup, /^murmur-secret-v1 /)
    await call(page, 'markBackedUp')
    assert.equal((await call<Ready>(page, 'identity')).backedUp, true)

    const net = await call<NetworkView>(page, 'network')
    assert.deepEqual(net.configured, [`${site.origin.replace('http', 'ws')}/murmur`])
    assert.equal(net.messages, 6)
    await callEntry(page, 'close', undefined)
    // This origin is no Murmur peer: the default peer's dials fail (and are retried), nothing else.
    assert.deepEqual(
      page.pageErrors.filter((e) => !/WebSocket connection to .*\/murmur|status of 404/.test(e)),
      [],
    )
  } finally {
    await site.close()
  }
})

test('the engine replicates with a real murmur serve: follows it, gets its posts, and its post reaches it', {
  timeout: 90_000,
}, async () => {
  const data = await tempData()
  try {
    const { id: serveId } = await murmurJson<{ id: string }>(['init', '--data', data.dir])
    // A PNG as far as sniffing goes: the signature, then filler.
    const png = new Uint8Array(3000).map((_, i) => (i * 13) & 0xff)
    png.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
    await writeFile(join(data.dir, 'dot.png'), png)
    await murmurJson(['post', 'from the serving peer', '--image', join(data.dir, 'dot.png'), '--data', data.dir])
    const peer = await serve(data.dir)
    try {
      const site = await engineSite({ peer: peer.origin })
      try {
        const page = await site.openPage(await site.newContext())
        await callEntry(page, 'openInPage', undefined)
        const me = (await call<Ready>(page, 'createIdentity', { name: 'Browser' })).me.id

        // The default peer is the serving origin; its id comes from /.well-known/murmur.json.
        const net = await eventually(
          async () => {
            const n = await call<NetworkView>(page, 'network')
            return n.peers[0]?.state === 'live' ? n : undefined
          },
          15_000,
          'a live connection to the serving peer',
        )
        assert.equal(net.online, true)
        assert.equal(net.peers[0]?.remote, serveId)
        assert.equal(net.peers[0]?.url, `${site.origin.replace('http', 'ws')}/murmur`)

        await call(page, 'follow', serveId, true)
        const tl = await eventually(
          async () => {
            const page1 = await call<PostPage>(page, 'timeline', {})
            return page1.items.some((p) => p.author.id === serveId) ? page1 : undefined
          },
          15_000,
          "the serving peer's post in the timeline",
        )
        const theirs = tl.items.find((p) => p.author.id === serveId)
        assert.equal(theirs?.text, 'from the serving peer')
        assert.equal(theirs?.images[0]?.size, png.length)
        // The image comes from the peer (fetched on demand, or already on its way).
        const blob = await call<{ $bytes: number } | undefined>(page, 'blob', theirs?.images[0]?.blob)
        assert.equal(blob?.$bytes, png.length)
        const profile = await call<Profile>(page, 'profile', serveId)
        assert.equal(profile.following, true)
        assert.equal(profile.isMe, false)
        assert.ok(profile.seq >= 1)
        const meProfile = await call<Profile>(page, 'profile', me)
        assert.deepEqual(
          meProfile.follows.map((f) => f.id),
          [serveId],
        )

        await call(page, 'post', { text: 'hello from the engine' })
        const log = await eventually(
          async () => {
            const r = await murmurJson<{ seq: number; messages: { type: string; content: { text?: string } }[] }>([
              'log',
              me,
              '--data',
              data.dir,
            ])
            return r.seq >= 3 ? r : undefined
          },
          15_000,
          "the engine's post at the serving peer",
        )
        assert.deepEqual(
          log.messages.map((m) => m.type),
          ['about', 'contact', 'post'],
        )
        assert.equal(log.messages[2]?.content.text, 'hello from the engine')

        // Removing the only peer stops dialling it; adding it back reconnects.
        const url = net.peers[0]?.url as string
        await call(page, 'removePeer', url)
        assert.deepEqual((await call<NetworkView>(page, 'network')).configured, [])
        await call(page, 'addPeer', site.origin)
        await eventually(
          async () => ((await call<NetworkView>(page, 'network')).peers[0]?.state === 'live' ? true : undefined),
          15_000,
          'the peer again',
        )
        const bad = await tryCall(page, 'addPeer', 'ftp://example.org')
        assert.equal(bad.ok ? '' : bad.code, 'INVALID_ARGUMENT')

        // Direct links: on by default, no STUN server or tracker unless added; bad ones refused.
        let n = await call<NetworkView>(page, 'network')
        assert.deepEqual([n.directLinks, n.stun, n.trackers], [true, [], []])
        for (const c of [
          { stun: ['https://stun.example.org'], trackers: [] },
          { stun: [], trackers: ['http://tracker.example.org'] },
          { stun: Array.from({ length: 9 }, (_, i) => `stun:s${i}.example.org`), trackers: [] },
          { stun: 'stun:x.example.org', trackers: [] },
        ]) {
          const r = await tryCall(page, 'setConnectivity', c)
          assert.equal(r.ok ? '' : r.code, 'INVALID_ARGUMENT', JSON.stringify(c))
        }
        await call(page, 'setConnectivity', {
          stun: [' stun:stun.example.org:3478 ', 'stun:stun.example.org:3478'],
          trackers: ['wss://tracker.example.org'],
        })
        await call(page, 'setDirectLinks', false)
        n = await call<NetworkView>(page, 'network')
        assert.deepEqual(
          [n.directLinks, n.stun, n.trackers],
          [false, ['stun:stun.example.org:3478'], ['wss://tracker.example.org']],
        )
        const notBool = await tryCall(page, 'setDirectLinks', 'yes')
        assert.equal(notBool.ok ? '' : notBool.code, 'INVALID_ARGUMENT')

        await callEntry(page, 'close', undefined)
        assert.deepEqual(page.pageErrors, [])
      } finally {
        await site.close()
      }
    } finally {
      assert.equal(await peer.stop(), 0, 'serve shuts down cleanly')
    }
  } finally {
    await data.remove()
  }
})
