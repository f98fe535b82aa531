/**
 * The service worker as package manager, against a real `murmur serve --app DIR` (a copy of the
 * built app in a temporary folder) and Chromium:
 *
 * 1. The first visit runs what the origin served, and the engine adopts the peer's release of
 *    it (release 1: same bytes) as current; it works offline.
 * 2. The publisher publishes release 2 (a changed index.html); with "ask me" the page shows the
 *    update and keeps running 1 until the person accepts, then runs 2; rolling back to 1 works.
 * 3. The origin serves a tampered index.html: the page never runs it (release 1 still runs).
 * 4. With "automatically", the next load runs 2.
 * 5. The origin swaps in a sw.js no trusted release names: the page warns.
 * And, with three peers: when the origin is gone, the page still loads through its cached
 * worker and gets release 3 of another trusted publisher from a third peer that holds it.
 */
import assert from 'node:assert/strict'
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import type { Page } from 'playwright-core'
import { goto, STEP_MS, SYNC_MS, signUp } from '../src/app.js'
import { browser, eventually, openPerson, SCREENSHOTS, screenshotAll, startPeer } from '../src/harness.js'

const BUILT_APP = join(import.meta.dirname, '..', '..', '..', 'packages', 'web', 'dist', 'app')

/** Which release the page runs: the marker release 2's index.html carries, else `one`. */
const running = (page: Page) =>
  page.evaluate(() => document.querySelector('meta[name="murmur-test-release"]')?.getAttribute('content') ?? 'one')

/** Reloads and waits for the app to be up (its header's settings link). */
async function reload(page: Page): Promise<void> {
  await page.reload()
  await page.locator('main h1').first().waitFor({ timeout: STEP_MS })
}

/** A copy of the built app with a marker in index.html (or none). */
async function appCopy(root: string, name: string, marker?: string): Promise<string> {
  const dir = join(root, name)
  await cp(BUILT_APP, dir, { recursive: true })
  if (marker) {
    const file = join(dir, 'index.html')
    const html = await readFile(file, 'utf8')
    await writeFile(file, html.replace('<head>', `<head><meta name="murmur-test-release" content="${marker}">`))
  }
  return dir
}

test('releases: adopt, offline, ask, upgrade, roll back, tampered origin, automatic, unknown worker', {
  timeout: 240_000,
}, async (t) => {
  const start = Date.now()
  const step = (what: string) => t.diagnostic(`${((Date.now() - start) / 1000).toFixed(1)} s: ${what}`)
  const root = await mkdtemp(join(tmpdir(), 'murmur-releases-'))
  const app1 = await appCopy(root, 'app1')
  const app2 = await appCopy(root, 'app2', 'two')
  const peer = await startPeer({ serveArgs: ['--app', app1] })
  const chromium = await browser()
  try {
    const A = await openPerson(chromium, peer.url)
    await signUp(A.page, 'Ada')
    await A.page.evaluate(async () => {
      await navigator.serviceWorker.ready
    })
    await goto(A.page, '#/settings')
    await A.page.locator('#current-release').waitFor({ timeout: SYNC_MS })
    step('release 1 (the served build, published by the peer) is current')
    await reload(A.page)
    assert.equal(await running(A.page), 'one')
    assert.ok(await A.page.evaluate(() => navigator.serviceWorker.controller !== null), 'served by the worker')

    assert.equal(await peer.stop(), 0)
    await reload(A.page)
    assert.equal(await running(A.page), 'one', 'offline, release 1 runs')
    await peer.restart()
    step('works offline')

    const pub = await peer.run(['release', 'publish', app2, '--version', '2.0.0', '--notes', 'Brighter buttons.'])
    assert.equal(pub.code, 0, pub.stderr)
    const banner = A.page.locator('#update-banner')
    await banner.waitFor({ timeout: SYNC_MS })
    assert.match((await banner.textContent()) ?? '', /2\.0\.0[\s\S]*Brighter buttons\./)
    await reload(A.page)
    assert.equal(await running(A.page), 'one', '"ask me": still release 1 until accepted')
    await banner.waitFor({ timeout: SYNC_MS })
    await mkdir(SCREENSHOTS, { recursive: true })
    await goto(A.page, '#/')
    await A.page.getByText(/Online · 1 peer/).waitFor({ timeout: SYNC_MS })
    await A.page.evaluate(() => scrollTo(0, 0))
    await A.page.screenshot({ path: join(SCREENSHOTS, 'update-available.png'), caret: 'hide', animations: 'disabled' })
    step('release 2 offered')

    await Promise.all([
      A.page.waitForEvent('load', { timeout: STEP_MS }),
      banner.getByRole('button', { name: 'Update now' }).click(),
    ])
    await A.page.locator('main h1').first().waitFor({ timeout: STEP_MS })
    assert.equal(await running(A.page), 'two', 'accepted: release 2 runs')
    step('upgraded to 2')

    await goto(A.page, '#/settings')
    const one = A.page.locator('li.release:not([data-version="2.0.0"])')
    await Promise.all([
      A.page.waitForEvent('load', { timeout: STEP_MS }),
      one.getByRole('button', { name: 'Use this version' }).click(),
    ])
    await A.page.locator('main h1').first().waitFor({ timeout: STEP_MS })
    assert.equal(await running(A.page), 'one', 'rolled back to release 1')
    step('rolled back to 1')

    // The origin now serves other bytes for index.html: the page never runs them.
    const index = join(app1, 'index.html')
    const original = await readFile(index, 'utf8')
    await writeFile(index, original.replace('<head>', '<head><meta name="murmur-test-release" content="tampered">'))
    await reload(A.page)
    assert.equal(await running(A.page), 'one', 'a tampered origin file is not run')
    await writeFile(index, original)
    step('tampered origin refused')

    await goto(A.page, '#/settings')
    await A.page.getByRole('radio', { name: /Automatically/ }).check()
    await eventually(
      async () => {
        await reload(A.page)
        return (await running(A.page)) === 'two' ? true : undefined
      },
      SYNC_MS,
      'release 2 runs after "automatically"',
    )
    step('automatic: the next load runs 2')

    // The origin swaps in a worker script that no trusted release names.
    const sw = join(app1, 'sw.js')
    await writeFile(sw, `${await readFile(sw, 'utf8')}\n// not a release\n`)
    await reload(A.page)
    await A.page.locator('#unknown-worker').waitFor({ timeout: SYNC_MS })
    step('unknown worker: warned')
    assert.deepEqual(A.errors, [], 'no page errors')
  } catch (e) {
    t.diagnostic(`screenshots: ${(await screenshotAll('releases')).join(' ')}`)
    throw e
  } finally {
    await chromium.close()
    await peer.remove()
    await rm(root, { recursive: true, force: true })
  }
})

test('the origin gone: the page loads through its worker and gets a trusted release from another peer', {
  timeout: 240_000,
}, async (t) => {
  const start = Date.now()
  const step = (what: string) => t.diagnostic(`${((Date.now() - start) / 1000).toFixed(1)} s: ${what}`)
  const root = await mkdtemp(join(tmpdir(), 'murmur-releases-'))
  const app1 = await appCopy(root, 'app1')
  const app3 = await appCopy(root, 'app3', 'three')
  const origin = await startPeer({ serveArgs: ['--app', app1] })
  // P publishes; B follows P (so it holds P's feed and the release's blobs) and dials it.
  const P = await startPeer()
  const B = await startPeer({ serveArgs: ['--peer', P.ws] })
  const chromium = await browser()
  try {
    const f = await B.run(['follow', P.id])
    assert.equal(f.code, 0, f.stderr)
    const A = await openPerson(chromium, origin.url)
    await signUp(A.page, 'Ada')
    await A.page.evaluate(async () => {
      await navigator.serviceWorker.ready
    })
    await goto(A.page, '#/settings')
    await A.page.locator('#current-release').waitFor({ timeout: SYNC_MS })
    await A.page.getByRole('textbox', { name: /Add a publisher/ }).fill(P.id)
    await A.page.getByRole('button', { name: 'Add publisher' }).click()
    await A.page.getByText('Publisher added.').waitFor({ timeout: STEP_MS })
    await goto(A.page, '#/network')
    await A.page.getByRole('textbox', { name: 'Peer address' }).fill(B.ws)
    await A.page.getByRole('button', { name: 'Add peer' }).click()
    await A.page.getByText(/Online · [2-9] peers/).waitFor({ timeout: SYNC_MS })
    step('release 1 current; P trusted; B known')

    assert.equal(await origin.stop(), 0)
    await reload(A.page)
    assert.equal(await running(A.page), 'one', 'the origin gone, the cached worker serves release 1')
    step('origin gone, page loaded')

    const pub = await P.run(['release', 'publish', app3, '--version', '3.0.0', '--notes', 'From another publisher.'])
    assert.equal(pub.code, 0, pub.stderr)
    const banner = A.page.locator('#update-banner')
    // P's serve published the build it serves too (the same bytes as release 1: not offered).
    await banner.getByText(/version 3\.0\.0/).waitFor({ timeout: SYNC_MS })
    await Promise.all([
      A.page.waitForEvent('load', { timeout: STEP_MS }),
      banner.getByRole('button', { name: 'Update now' }).click(),
    ])
    await A.page.locator('main h1').first().waitFor({ timeout: STEP_MS })
    assert.equal(await running(A.page), 'three', 'release 3 runs, fetched without the origin')
    step('release 3 from B')
    assert.deepEqual(A.errors, [], 'no page errors')
  } catch (e) {
    t.diagnostic(`screenshots: ${(await screenshotAll('releases-origin-gone')).join(' ')}`)
    throw e
  } finally {
    await chromium.close()
    await Promise.all([origin.remove(), P.remove(), B.remove()])
    await rm(root, { recursive: true, force: true })
  }
})
