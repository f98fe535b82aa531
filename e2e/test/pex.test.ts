/**
 * Peer exchange in the browser (issue 5's proof): the serving peer P1 keeps a connection to
 * another always-on peer P2 and tells the browser where P2 is; the browser connects to P2 on its
 * own (a learned peer). When P1 is gone for good, the page still opens (its service worker) and
 * the browser goes on through P2, which it remembered: a post written then reaches P2.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { goto, post, STEP_MS, SYNC_MS, signUp } from '../src/app.js'
import { browser, eventually, openPerson, screenshotAll, startPeer } from '../src/harness.js'

type Log = { messages: { type: string; content: { text?: string } }[] }

test('a browser learns a second always-on peer by peer exchange and keeps going through it when the first is gone', {
  timeout: 240_000,
}, async (t) => {
  const P2 = await startPeer()
  const P1 = await startPeer({ serveArgs: ['--peer', P2.ws] })
  const chromium = await browser()
  try {
    const A = await openPerson(chromium, P1.url)
    const a = await signUp(A.page, 'Ada')
    await A.page.evaluate(async () => {
      await navigator.serviceWorker.ready
    })
    // Nobody typed P2's address into this browser: P1 told it.
    await goto(A.page, '#/network')
    const learned = A.page.locator('li.peer').filter({ hasText: P2.ws })
    await learned.filter({ hasText: 'Live' }).waitFor({ timeout: SYNC_MS })
    assert.deepEqual(
      await A.page.locator('ul.configured .url').allTextContents(),
      [P1.ws],
      'P2 is learned, not configured',
    )

    assert.equal(await P1.stop(), 0)
    await A.page.reload()
    await A.page.locator('main h1').first().waitFor({ timeout: STEP_MS })
    await post(A.page, 'Written after the first peer went away')
    const held = async () => {
      const r = await P2.run(['log', a.id, '--json'])
      const log = JSON.parse(r.stdout) as Log
      return log.messages.some((m) => m.content.text === 'Written after the first peer went away') ? true : undefined
    }
    await eventually(held, SYNC_MS, 'the post at P2')
    assert.deepEqual(A.errors, [])
  } catch (err) {
    t.diagnostic(`screenshots: ${(await screenshotAll('pex')).join(' ')}`)
    throw err
  } finally {
    await chromium.close()
    await Promise.all([P1.remove(), P2.remove()])
  }
})
