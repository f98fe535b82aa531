/**
 * Backup and restore in real Chromium: an identity made in one browser context (one IndexedDB)
 * is restored from its backup text in a fresh context, gets the same id, refuses to write until
 * its feed's head has come from the serving peer, then writes on from there without a fork.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { callEntry } from '@murmur/testkit/browser'
import type { EngineEvent, IdentityState, NetworkView, PostPage } from '../src/api.js'
import { call, engineSite, eventually, murmurJson, serve, tempData, tryCall } from './engine-helpers.js'

type Ready = Extract<IdentityState, { kind: 'ready' }>
type Log = { seq: number; forked: boolean; messages: { type: string; content: { text?: string } }[] }

test('backup text → restore in a fresh context: same id, no writes until the head is known, then posts', {
  timeout: 120_000,
}, async () => {
  const data = await tempData()
  try {
    await murmurJson(['init', '--data', data.dir])
    const peer = await serve(data.dir)
    const logAt = (id: string) => murmurJson<Log>(['log', id, '--data', data.dir])
    try {
      const site = await engineSite({ peer: peer.origin })
      try {
        // The first device: an identity, two posts, held by the serving peer.
        const a = await site.openPage(await site.newContext())
        await callEntry(a, 'openInPage', undefined)
        const me = (await call<Ready>(a, 'createIdentity', { name: 'Ada' })).me.id
        await call(a, 'post', { text: 'one' })
        await call(a, 'post', { text: 'two' })
        await eventually(async () => ((await logAt(me)).seq >= 3 ? true : undefined), 15_000, 'the feed at the peer')
        const backup = await call<string>(a, 'backupText')
        await callEntry(a, 'close', undefined)
        await a.close()

        // A fresh context has its own, empty storage. No peer at first (peers can be set before
        // there is an identity), so nothing can tell it its feed's head yet.
        const b = await site.openPage(await site.newContext())
        await callEntry(b, 'openInPage', undefined)
        assert.deepEqual(await call(b, 'identity'), { kind: 'none' })
        const [servingUrl] = (await call<NetworkView>(b, 'network')).configured
        await call(b, 'removePeer', servingUrl)
        const typo = await tryCall(
          b,
          'restoreIdentity',
          backup.replace(/-(.)/, (_, c) => `-${c === 'A' ? 'B' : 'A'}`),
        )
        assert.equal(typo.ok ? '' : typo.code, 'BAD_BACKUP')

        const restored = await call<Ready>(b, 'restoreIdentity', backup)
        assert.equal(restored.me.id, me)
        assert.equal(restored.backedUp, true)
        assert.deepEqual(restored.restore, { headKnown: false, overridden: false, seq: 0 })
        for (const [method, ...args] of [
          ['post', { text: 'too early' }],
          ['follow', peer.id, true],
          ['like', 'bafyreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy', true],
          ['setPetname', peer.id, 'Peer'],
          ['updateProfile', { name: 'Ada 2' }],
          ['block', peer.id, true],
        ] as const) {
          const r = await tryCall(b, method, ...args)
          assert.equal(r.ok ? '' : r.code, 'RESTORE_PENDING', method)
        }

        // The serving peer holds the feed: once it said so and the feed caught up, writing is safe.
        await call(b, 'addPeer', servingUrl)
        const ready = await eventually(
          async () => {
            const s = await call<Ready>(b, 'identity')
            return s.restore?.headKnown ? s : undefined
          },
          15_000,
          "the feed's head from the peer",
        )
        assert.deepEqual(ready.restore, { headKnown: true, overridden: false, seq: 3 })
        assert.equal(ready.me.name, 'Ada', 'the profile came back with the feed')
        const events = await callEntry<EngineEvent[]>(b, 'takeEvents', undefined)
        assert.ok(events.some((e) => e.type === 'identity'))

        await call(b, 'post', { text: 'three' })
        const mine = await call<PostPage>(b, 'postsBy', me, {})
        assert.deepEqual(
          mine.items.map((p) => [p.text, p.seq]),
          [
            ['three', 4],
            ['two', 3],
            ['one', 2],
          ],
        )
        const log = await eventually(
          async () => {
            const l = await logAt(me)
            return l.seq >= 4 ? l : undefined
          },
          15_000,
          'the new post at the peer',
        )
        assert.equal(log.forked, false)
        assert.equal(log.messages[3]?.content.text, 'three')
        await callEntry(b, 'close', undefined)
        assert.deepEqual(b.pageErrors, [])
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
