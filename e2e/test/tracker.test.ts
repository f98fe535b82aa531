/**
 * Browsers that meet through a WebTorrent tracker, with no Murmur peer at all (issue 5's
 * "optional rendezvous"), in the machine's Chromium: two people get the app from a
 * `murmur serve --tracker`, each removes that serving peer from its peers, and they follow each
 * other by invite link. No Murmur peer is connected to either, yet they meet on the tracker
 * (offer and answer relayed by it, both DTLS fingerprints bound into the replication
 * handshake), open a direct WebRTC link, and a post in one appears in the other.
 *
 * Runs inside a network namespace (see webrtc.test.ts): ICE needs an interface besides loopback.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Page } from 'playwright-core'
import { followByInvite, goto, post, STEP_MS, SYNC_MS, seeDirectLinks, seePost, signUp } from '../src/app.js'
import { browser, openPerson, screenshotAll, startPeer } from '../src/harness.js'

/** Removes every configured peer on the Network page (the serving peer is the only one). */
async function removePeers(page: Page): Promise<void> {
  await goto(page, '#/network')
  const remove = page.getByRole('button', { name: /^Remove / })
  await remove.first().waitFor({ timeout: STEP_MS })
  while ((await remove.count()) > 0) {
    await remove.first().click()
    await page
      .getByText(/^Removed /)
      .first()
      .waitFor({ timeout: STEP_MS })
  }
  await page.getByText('None.').first().waitFor({ timeout: STEP_MS })
}

test('two browsers with no Murmur peer meet through the tracker of the peer that served them', {
  timeout: 240_000,
}, async (t) => {
  const peer = await startPeer({ serveArgs: ['--tracker'] })
  const chromium = await browser()
  try {
    const A = await openPerson(chromium, peer.url)
    const a = await signUp(A.page, 'Ada')
    await removePeers(A.page)

    const B = await openPerson(chromium, a.invite)
    const b = await signUp(B.page, 'Bo')
    await removePeers(B.page)
    await followByInvite(B.page, a.invite)
    await followByInvite(A.page, b.invite)

    // Each sees a live direct link to the other, and nothing else live: no Murmur peer.
    await seeDirectLinks([
      [A.page, b.id],
      [B.page, a.id],
    ])
    for (const p of [A.page, B.page]) {
      assert.equal(await p.locator('li.peer').filter({ hasText: 'Live' }).count(), 1, 'only the browser link is live')
    }

    await goto(A.page, '#/')
    await goto(B.page, '#/')
    const started = Date.now()
    await post(A.page, 'Met you through the tracker, Bo')
    await seePost(B.page, 'Met you through the tracker, Bo', SYNC_MS)
    t.diagnostic(`post to the other browser over a tracker-made link: ${Date.now() - started} ms`)
    await post(B.page, 'No server between us, Ada')
    await seePost(A.page, 'No server between us, Ada', SYNC_MS)
    assert.deepEqual(A.errors, [])
    assert.deepEqual(B.errors, [])
  } catch (err) {
    const shots = await screenshotAll('tracker')
    throw Object.assign(err as Error, { message: `${(err as Error).message}\nscreenshots: ${shots.join(' ')}` })
  } finally {
    await chromium.close()
    await peer.remove()
  }
})
