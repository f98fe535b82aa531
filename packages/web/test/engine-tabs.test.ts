/**
 * Several tabs, one writer, in real Chromium: pages of one browser context (one origin, shared
 * storage) each start the engine worker with `connectEngine()` as the app does. Exactly one
 * worker holds the lock and runs the engine; the others forward to it, so a post made in any tab
 * is written once, by the leader, and every tab sees it. When the leader's tab closes, another
 * worker takes the lock and opens the engine, and a read that was in flight is answered there.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { blobId, utf8 } from '@murmur/core'
import { callEntry, type EntryPage } from '@murmur/testkit/browser'
import type { EngineEvent, IdentityState, PostPage } from '../src/api.js'
import { call, engineSite, eventually, tryCall } from './engine-helpers.js'

type Ready = Extract<IdentityState, { kind: 'ready' }>

async function openTab(site: Awaited<ReturnType<typeof engineSite>>, context: Parameters<typeof site.openPage>[0]) {
  const page = await site.openPage(context)
  await callEntry(page, 'connectWorker', undefined)
  const role = await eventually(
    async () => (await callEntry<string | undefined>(page, 'role', undefined)) ?? undefined,
    10_000,
    'the worker says its role',
  )
  return { page, role }
}

const texts = (p: PostPage) => p.items.map((i) => i.text)

/** Errors a page may log here: this origin is no Murmur peer, so the default peer's dials fail. */
const unexpected = (page: EntryPage) =>
  page.pageErrors.filter((e) => !/WebSocket connection to .*\/murmur|status of 404/.test(e))

test('tabs of one origin share one engine: one leader writes, followers forward, the lock hands over', {
  timeout: 120_000,
}, async () => {
  const site = await engineSite({ worker: true })
  try {
    const context = await site.newContext()
    const one = await openTab(site, context)
    // The first leader may still be starting when the second tab asks: roles settle at once.
    const two = await openTab(site, context)
    await eventually(
      async () => ((await callEntry(two.page, 'role', undefined)) === 'follower' ? true : undefined),
      5000,
      'the second tab follows',
    )
    assert.equal(await callEntry(one.page, 'role', undefined), 'leader')
    const leader = one.page
    const follower = two.page

    // Everything the follower asks is done by the leader.
    assert.deepEqual(await call(follower, 'identity'), { kind: 'none' })
    const me = (await call<Ready>(follower, 'createIdentity', { name: 'Tabby' })).me.id
    assert.equal((await call<Ready>(leader, 'identity')).me.id, me)
    const first = await call<string>(follower, 'post', { text: 'from the second tab' })
    assert.deepEqual(texts(await call<PostPage>(leader, 'timeline', {})), ['from the second tab'])
    assert.equal((await call<PostPage>(follower, 'timeline', {})).items[0]?.id, first)
    // The leader's events reach the follower's page too.
    const changed = await eventually(
      async () => (await callEntry<EngineEvent[]>(follower, 'takeEvents', undefined)).find((e) => e.type === 'changed'),
      5000,
      "the leader's changed event in the follower",
    )
    assert.deepEqual(changed, { type: 'changed', authors: [me] })

    // A read in flight when the leader's tab closes is sent again, to the next leader: a blob
    // nobody has keeps the old leader busy (it waits for peers) until its tab is gone.
    const unknownBlob = blobId(utf8('nobody has this')).toString()
    const inFlight = tryCall(follower, 'blob', unknownBlob)
    await new Promise((r) => setTimeout(r, 300))
    assert.deepEqual(unexpected(leader), [])
    await leader.close()
    await eventually(
      async () => ((await callEntry(follower, 'role', undefined)) === 'leader' ? true : undefined),
      10_000,
      'the second tab takes over',
    )
    const answer = await inFlight
    assert.deepEqual(answer, { ok: true, value: undefined }, 'answered by the new leader, not lost')

    // The new leader opened the same store: the identity and the post are there, writing goes on.
    assert.equal((await call<Ready>(follower, 'identity')).me.id, me)
    await call(follower, 'post', { text: 'after the handover' })
    assert.deepEqual(texts(await call<PostPage>(follower, 'timeline', {})), [
      'after the handover',
      'from the second tab',
    ])

    // A tab opened now follows the new leader.
    const three = await openTab(site, context)
    assert.equal(three.role, 'follower')
    assert.deepEqual(texts(await call<PostPage>(three.page, 'timeline', {})), [
      'after the handover',
      'from the second tab',
    ])
    const bad = await tryCall(three.page, 'thread', 'nope')
    assert.equal(bad.ok ? '' : bad.code, 'INVALID_ARGUMENT', 'errors cross two hops as EngineErrors')
    assert.deepEqual(unexpected(follower), [])
    assert.deepEqual(unexpected(three.page), [])
  } finally {
    await site.close()
  }
})
