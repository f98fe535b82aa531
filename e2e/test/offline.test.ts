/**
 * Offline, against a real `murmur serve` that the test stops and restarts on the same port:
 *
 * 1. After the first visit the app needs no network: A signs up and posts; the peer stops; the
 *    reload is served by the service worker from its cache, the engine opens the IndexedDB
 *    store and shows the earlier post; A posts and follows someone by pasting an id on People;
 *    when the peer is back, those writes reach it.
 * 2. A restore with no peer reachable writes nothing until the feed's latest message is known:
 *    C restores A's backup while the peer is down, the banner shows and posting is refused
 *    (RESTORE_PENDING); when the peer is back C fetches A's feed, the banner goes, the peer still
 *    holds exactly A's messages (no fork), and C's post extends that chain. The override: E
 *    restores the backup of a key that never posted (D), takes "Post anyway…", and D's post
 *    reaches the peer as seq 1.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { formatBackup, formatFeedId, generateKeypair } from '@murmur/core'
import { createSodiumEd25519 } from '@murmur/core/sodium'
import type { Page } from 'playwright-core'
import { goto, post, postWith, STEP_MS, SYNC_MS, seePost, signUp } from '../src/app.js'
import { browser, eventually, openPerson, type Peer, type Person, screenshotAll, startPeer } from '../src/harness.js'

/** One message as `murmur log --json` prints it. */
interface LoggedMsg {
  readonly id: string
  readonly seq: number
  readonly prev: string | null
  readonly type: string
  readonly content: { text?: string; target?: string; following?: boolean }
}

/** The serving peer's copy of `feed`. */
async function peerLog(peer: Peer, feed: string): Promise<{ seq: number; forked: boolean; messages: LoggedMsg[] }> {
  const r = await peer.run(['log', feed, '--json'])
  if (r.code !== 0) throw new Error(`murmur log failed: ${r.stderr}`)
  return JSON.parse(r.stdout)
}

/** Feeds the serving peer holds as forked. */
async function peerForks(peer: Peer): Promise<string[]> {
  const r = await peer.run(['status', '--json'])
  if (r.code !== 0) throw new Error(`murmur status failed: ${r.stderr}`)
  return (JSON.parse(r.stdout) as { forks: string[] }).forks
}

/** Asserts `messages` are one chain: seq 1, 2, … each linking to the one before. */
function assertChain(messages: readonly LoggedMsg[], what: string): void {
  for (const [i, m] of messages.entries()) {
    assert.equal(m.seq, i + 1, `${what}: seq ${i + 1} in place`)
    assert.equal(m.prev, i === 0 ? null : messages[i - 1]!.id, `${what}: seq ${m.seq} links to the one before`)
  }
}

const BANNER = 'Looking for your latest post on the network…'

async function restore(page: Page, backup: string): Promise<void> {
  await page.getByRole('textbox', { name: 'Backup text' }).fill(backup)
  await page.getByRole('button', { name: 'Restore' }).click()
  await page.getByText(BANNER).waitFor({ timeout: STEP_MS })
}

/** Notes how long the test has run at each step (in the TAP output: where the time goes). */
function stepper(t: { diagnostic(s: string): void }): (what: string) => void {
  const start = Date.now()
  return (what) => t.diagnostic(`${((Date.now() - start) / 1000).toFixed(1)} s: ${what}`)
}

function assertClean(t: { diagnostic(s: string): void }, people: Record<string, Person>): void {
  for (const [who, p] of Object.entries(people)) {
    t.diagnostic(`${who}: ${p.errors.length} page errors`)
    assert.deepEqual(p.errors, [], `${who}'s pages ran without errors`)
  }
}

test('after the first visit the app opens and works offline; offline writes reach the peer when it is back', {
  timeout: 150_000,
}, async (t) => {
  const step = stepper(t)
  const peer = await startPeer()
  const chromium = await browser()
  try {
    const A = await openPerson(chromium, peer.url)
    const a = await signUp(A.page, 'Ada')
    await post(A.page, 'Posted while online')
    // The service worker installed (it precaches every app file before it activates).
    await A.page.evaluate(async () => {
      await navigator.serviceWorker.ready
    })
    step('signed up and posted')

    assert.equal(await peer.stop(), 0)
    await A.page.reload()
    assert.ok(
      await A.page.evaluate(() => navigator.serviceWorker.controller !== null),
      'the reload was served by the service worker',
    )
    await A.page.getByText('Offline', { exact: true }).waitFor({ timeout: STEP_MS })
    await seePost(A.page, 'Posted while online', STEP_MS)
    step('reloaded offline')

    // Offline: a post, and a follow of an id pasted on People (here the peer's own).
    await post(A.page, 'Posted while offline')
    await seePost(A.page, 'Posted while offline', STEP_MS)
    await goto(A.page, '#/people')
    await A.page.getByRole('textbox', { name: 'Id or invite link' }).fill(peer.id)
    await A.page.getByRole('button', { name: 'Open profile' }).click()
    await A.page.getByRole('button', { name: 'Follow', exact: true }).click()
    await A.page.getByRole('button', { name: 'Unfollow' }).waitFor({ timeout: STEP_MS })
    await A.page.getByText('Offline', { exact: true }).waitFor({ timeout: STEP_MS })
    step('posted and followed offline')

    // Back online: both writes reach the peer, in one chain.
    await peer.restart()
    const log = await eventually(
      async () => {
        const l = await peerLog(peer, a.id)
        const posted = l.messages.some((m) => m.type === 'post' && m.content.text === 'Posted while offline')
        const followed = l.messages.some(
          (m) => m.type === 'contact' && m.content.target === peer.id && m.content.following === true,
        )
        return posted && followed ? l : undefined
      },
      SYNC_MS,
      "A's offline post and follow at the peer",
    )
    step('the offline writes reached the peer')
    assertChain(log.messages, "A's feed")
    assert.deepEqual(
      log.messages.map((m) => m.content.text ?? m.type),
      ['about', 'Posted while online', 'Posted while offline', 'contact'],
    )
    await A.page.getByText(/Online · 1 peer/).waitFor({ timeout: STEP_MS })
    assertClean(t, { A })
  } catch (e) {
    t.diagnostic(`screenshots: ${(await screenshotAll('offline-first')).join(' ')}`)
    throw e
  } finally {
    await chromium.close()
    await peer.remove()
  }
})

test('a restore with no peer reachable writes nothing until the latest message is known; "Post anyway" overrides', {
  timeout: 150_000,
}, async (t) => {
  const step = stepper(t)
  const peer = await startPeer()
  const chromium = await browser()
  try {
    // A posts twice; the peer holds A's feed; A saves the backup and leaves.
    const A = await openPerson(chromium, peer.url)
    const a = await signUp(A.page, 'Ada')
    await post(A.page, 'First of two')
    await post(A.page, 'Second of two')
    await goto(A.page, '#/settings')
    await A.page.getByRole('button', { name: 'Show backup text' }).click()
    const backup = await A.page.getByRole('textbox', { name: 'Your backup text' }).inputValue()
    assert.match(backup, /^murmur-secret-v1 /)
    const original = await eventually(
      async () => {
        const l = await peerLog(peer, a.id)
        return l.seq === 3 ? l.messages : undefined
      },
      SYNC_MS,
      "A's three messages at the peer",
    )
    await A.context.close()
    step('A posted twice and saved the backup')

    // D: a key that never wrote anything anywhere (restoring it cannot fork).
    const ed = createSodiumEd25519()
    const d = await generateKeypair(ed)
    await ed.close?.()
    const dId = formatFeedId(d.publicKey)

    // C and E load the app while the peer is up; then it goes down.
    const [C, E] = await Promise.all([openPerson(chromium, peer.url), openPerson(chromium, peer.url)])
    for (const p of [C.page, E.page]) {
      await p.getByRole('heading', { name: 'Welcome to Murmur' }).waitFor({ timeout: STEP_MS })
    }
    assert.equal(await peer.stop(), 0)
    step('C and E loaded the app; the peer stopped')

    // C restores A with nothing reachable: the banner shows and posting is refused.
    await restore(C.page, backup)
    await goto(C.page, '#/')
    await C.page.getByRole('textbox', { name: "What's happening?" }).fill('Too early')
    await C.page.getByRole('button', { name: 'Post', exact: true }).click()
    const refused = C.page.locator('.composer p.status.error')
    await refused.waitFor({ timeout: STEP_MS })
    assert.match((await refused.textContent()) ?? '', /^⚠ Not yet: this identity was restored from a backup/)
    assert.equal(await postWith(C.page, 'Too early').count(), 0, 'nothing was written')
    // The banner counts the messages of this feed the device holds: none, so nothing was signed.
    assert.doesNotMatch(
      (await C.page.getByRole('region', { name: /^Looking for your latest post/ }).textContent()) ?? '',
      /this copy knows/,
    )
    step('C restored and was refused')

    // E restores D and overrides the wait: the post goes through (offline, so it waits to sync).
    await restore(E.page, formatBackup(d.seed))
    await E.page.getByRole('button', { name: 'Post anyway…' }).click()
    await E.page.getByRole('button', { name: 'Yes, post anyway' }).click()
    await E.page.getByText(BANNER).waitFor({ state: 'detached', timeout: STEP_MS })
    await post(E.page, 'D posts after the override')
    step('E restored D and posted anyway')

    // The peer is back: C fetches A's feed and the banner goes.
    await peer.restart()
    step('the peer restarted')
    await C.page.getByText(BANNER).waitFor({ state: 'detached', timeout: SYNC_MS })
    step("C has A's head")
    await seePost(C.page, 'Second of two', STEP_MS)
    const held = await peerLog(peer, a.id)
    assert.deepEqual(
      held.messages.map((m) => m.id),
      original.map((m) => m.id),
      "the peer holds exactly A's messages: C wrote nothing while it waited",
    )
    assert.deepEqual(await peerForks(peer), [], 'no fork')

    // Now C may post, and the post extends A's chain.
    await post(C.page, 'From the restored copy')
    const after = await eventually(
      async () => {
        const l = await peerLog(peer, a.id)
        return l.seq === original.length + 1 ? l.messages : undefined
      },
      SYNC_MS,
      "C's post at the peer",
    )
    step("C's post reached the peer")
    assertChain(after, "A's feed after the restore")
    assert.equal(after.at(-1)?.content.text, 'From the restored copy')
    assert.deepEqual(
      after.slice(0, -1).map((m) => m.id),
      original.map((m) => m.id),
    )

    // D's post, written under the override, reached the peer as the first message of its feed.
    const dLog = await eventually(
      async () => {
        const l = await peerLog(peer, dId)
        return l.seq >= 1 ? l : undefined
      },
      SYNC_MS,
      "D's post at the peer",
    )
    step("D's post reached the peer")
    assert.deepEqual(
      dLog.messages.map((m) => [m.seq, m.content.text]),
      [[1, 'D posts after the override']],
    )
    assert.deepEqual(await peerForks(peer), [], 'no fork')
    assertClean(t, { C, E })
  } catch (e) {
    t.diagnostic(`screenshots: ${(await screenshotAll('offline-restore')).join(' ')}`)
    throw e
  } finally {
    await chromium.close()
    await peer.remove()
  }
})
