/**
 * Every main view of the app with real data, checked with axe-core, photographed into
 * docs/screenshots/, and the timeline's main actions done by keyboard alone.
 *
 * One `murmur serve`, one Chromium, a browser context per person: Carol signs up; Bob signs up,
 * posts (once behind a content warning) and follows Carol through her invite; Alice sees
 * onboarding (plain and from Bob's invite), signs up, follows Bob, posts a photo, likes and
 * replies to Bob, and names him "Bobby" — so her timeline holds an image, a reply, a like and a
 * content warning, and People suggests Carol (Bob follows her). Then each view is checked: all
 * of axe's rules in the light colour scheme, its colour rules again in the dark one (nothing
 * else differs between them), and the timeline at 360 px. Violations of impact serious or
 * critical fail the test; all of them are printed with the elements they concern.
 */
import assert from 'node:assert/strict'
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import type { Browser, Page } from 'playwright-core'
import { type AxeReport, axe, COLOUR_RULES, describeViolations, focused, focusIndicator } from '../src/a11y.js'
import { goto, post, STEP_MS, SYNC_MS, seePost, signUp } from '../src/app.js'
import { browser, openPerson, type Peer, type Person, SCREENSHOTS, screenshotAll, startPeer } from '../src/harness.js'

const WIDE = { width: 1000, height: 900 }
const NARROW = { width: 360, height: 800 }

let peer: Peer
let chromium: Browser
let files: string

before(async () => {
  files = await mkdtemp(join(tmpdir(), 'murmur-e2e-views-'))
  ;[peer, chromium] = await Promise.all([startPeer(), browser()])
})

after(async () => {
  await chromium?.close()
  await peer?.remove()
  if (files) await rm(files, { recursive: true, force: true })
})

/** A 1200×800 JPEG of a sunset, drawn by the page's canvas (the same picture every run). */
async function sunset(page: Page): Promise<string> {
  const b64 = await page.evaluate(async () => {
    const c = new OffscreenCanvas(1200, 800)
    const g = c.getContext('2d') as OffscreenCanvasRenderingContext2D
    const sky = g.createLinearGradient(0, 0, 0, 520)
    sky.addColorStop(0, '#2b3a67')
    sky.addColorStop(1, '#f08a4b')
    g.fillStyle = sky
    g.fillRect(0, 0, 1200, 520)
    g.fillStyle = '#ffd166'
    g.beginPath()
    g.arc(600, 520, 110, Math.PI, 0)
    g.fill()
    g.fillStyle = '#1d4e89'
    g.fillRect(0, 520, 1200, 280)
    const blob = await c.convertToBlob({ type: 'image/jpeg', quality: 0.85 })
    const bytes = new Uint8Array(await blob.arrayBuffer())
    let s = ''
    for (const b of bytes) s += String.fromCharCode(b)
    return btoa(s)
  })
  const file = join(files, 'sunset.jpg')
  await writeFile(file, Buffer.from(b64, 'base64'))
  return file
}

/** Posts from the timeline's composer behind a content warning. */
async function postWithWarning(page: Page, text: string, warning: string): Promise<void> {
  await goto(page, '#/')
  await page.getByRole('textbox', { name: "What's happening?" }).fill(text)
  await page.getByText('Add a content warning').click()
  await page.getByRole('textbox', { name: 'Content warning' }).fill(warning)
  await page.getByRole('button', { name: 'Post', exact: true }).click()
  await page.getByText('Posted.').first().waitFor({ timeout: STEP_MS })
}

/** Follows the person whose profile or invite page is open, and waits until it took. */
async function follow(page: Page): Promise<void> {
  await page.getByRole('button', { name: 'Follow', exact: true }).first().click()
  await page.getByRole('button', { name: 'Unfollow' }).first().waitFor({ timeout: STEP_MS })
}

/** Saves a viewport screenshot (what a person sees, sticky header included) as <SCREENSHOTS>/<name>. */
async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(SCREENSHOTS, { recursive: true })
  const file = join(SCREENSHOTS, name)
  // From the top of the page (the router restores each page's scroll), with no focus ring or
  // hover effect left from the steps before.
  await page.evaluate(() => {
    ;(document.activeElement as HTMLElement | null)?.blur()
    scrollTo(0, 0)
  })
  await page.mouse.move(0, 0)
  // The caret blinks and the sync indicator moves: leave them out so reruns look the same.
  await page.screenshot({ path: file, caret: 'hide', animations: 'disabled' })
  return file
}

/** Checks that `file` is a PNG of the viewport `size` with something in it. */
async function assertPng(file: string, size: { width: number; height: number }): Promise<void> {
  const bytes = await readFile(file)
  assert.deepEqual([...bytes.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], `${file} is a PNG`)
  // The IHDR chunk comes first: width and height, big-endian, at bytes 16 and 20.
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  assert.deepEqual({ width: view.getUint32(16), height: view.getUint32(20) }, size, `${file} is the viewport`)
  assert.ok((await stat(file)).size > 5_000, `${file} shows something`)
}

test('every main view passes axe in light and dark, and is photographed', { timeout: 180_000 }, async (t) => {
  const started = Date.now()
  const reports: AxeReport[] = []
  /** axe on the page: every rule in the light scheme, then the colour rules in the dark one (left light). */
  const check = async (page: Page, view: string) => {
    await page.emulateMedia({ colorScheme: 'light' })
    reports.push(await axe(page, `${view} (light)`))
    await page.emulateMedia({ colorScheme: 'dark' })
    reports.push(await axe(page, `${view} (dark)`, COLOUR_RULES))
    await page.emulateMedia({ colorScheme: 'light' })
  }
  const people: [string, Person][] = []
  const shots: string[] = []
  try {
    // At once: Carol signs up; Bob signs up and posts (once behind a content warning); Alice's
    // first visit shows onboarding. Then Bob follows Carol through her invite link.
    const carol = async () => {
      const C = await openPerson(chromium, peer.url)
      people.push(['Carol', C])
      return signUp(C.page, 'Carol', 'Grows tomatoes on the balcony')
    }
    const bob = async () => {
      const B = await openPerson(chromium, peer.url)
      people.push(['Bob', B])
      const b = await signUp(B.page, 'Bob', 'Walks a lot')
      await post(B.page, 'Finished the coast trail at dawn, 24 km in all.')
      await postWithWarning(B.page, 'The caller was the lighthouse keeper all along.', 'Spoilers for the finale')
      return { B, b }
    }
    const firstVisit = async () => {
      const A = await openPerson(chromium, peer.url)
      people.push(['Alice', A])
      await A.page.getByRole('heading', { name: 'Welcome to Murmur' }).waitFor({ timeout: STEP_MS })
      await check(A.page, 'onboarding')
      shots.push(await screenshot(A.page, 'onboarding.png'))
      return A
    }
    const [c, { B, b }, A] = await Promise.all([carol(), bob(), firstVisit()])
    await B.page.goto(c.invite)
    await follow(B.page)
    t.diagnostic(`set up in ${Math.round((Date.now() - started) / 1000)} s`)

    // Alice opens Bob's invite link: onboarding says who invited her; she signs up and follows.
    await A.page.goto(b.invite)
    await A.page.getByText('You opened an invite to follow').waitFor({ timeout: STEP_MS })
    reports.push(await axe(A.page, 'onboarding from an invite (light)'))
    const a = await signUp(A.page, 'Alice', 'Photographs the bay')
    await A.page.getByRole('heading', { name: /^Follow / }).waitFor({ timeout: STEP_MS })
    await check(A.page, 'invite')
    await follow(A.page)

    // Her timeline: her photo, Bob's posts (one behind a warning), a like and a reply of hers.
    await post(A.page, 'Sunset over the bay tonight.', {
      file: await sunset(A.page),
      alt: 'An orange sun setting over the sea',
    })
    const trail = await seePost(A.page, 'Finished the coast trail')
    await seePost(A.page, 'Spoilers for the finale')
    await trail.getByRole('button', { name: 'Like' }).click()
    await trail.getByRole('button', { name: 'Liked by 1' }).waitFor({ timeout: STEP_MS })
    await trail.getByRole('link', { name: 'Reply' }).click()
    await A.page.getByRole('textbox', { name: 'Write a reply' }).fill('Congratulations! Which way did you go back?')
    await A.page.getByRole('button', { name: 'Reply', exact: true }).click()
    await A.page.getByText('Reply posted.').first().waitFor({ timeout: STEP_MS })
    const threadHash = new URL(A.page.url()).hash.replace(/\/reply$/, '')

    // People: Carol is suggested (Bob follows her), Bob is followed. The backup reminder shows.
    await goto(A.page, '#/people')
    const suggestions = A.page.locator('section', { has: A.page.getByRole('heading', { name: 'Suggestions' }) })
    await suggestions.getByRole('button', { name: 'Follow', exact: true }).waitFor({ timeout: SYNC_MS })
    await A.page.getByRole('link', { name: 'Back up now' }).waitFor({ timeout: STEP_MS })
    await check(A.page, 'people')

    // Settings with the backup shown; then it is saved, and the reminder goes away.
    await goto(A.page, '#/settings')
    await A.page.getByRole('button', { name: 'Show backup text' }).click()
    await A.page.getByRole('textbox', { name: 'Your backup text' }).waitFor({ timeout: STEP_MS })
    await check(A.page, 'settings')
    await A.page.getByRole('button', { name: 'I saved it' }).click()
    await A.page.getByRole('link', { name: 'Back up now' }).waitFor({ state: 'detached', timeout: STEP_MS })

    // Bob's profile with the name Alice gives him, and the block question open.
    await goto(A.page, `#/profile/${b.id}`)
    await A.page.getByRole('textbox', { name: 'Your name for them' }).fill('Bobby')
    await A.page.getByRole('button', { name: 'Save name' }).click()
    await A.page.getByRole('heading', { level: 1, name: 'Bobby' }).waitFor({ timeout: STEP_MS })
    await seePost(A.page, 'Finished the coast trail', STEP_MS)
    shots.push(await screenshot(A.page, 'profile.png'))
    await A.page.getByRole('button', { name: 'Block', exact: true }).click()
    await A.page.getByRole('button', { name: 'Yes, block' }).waitFor({ timeout: STEP_MS })
    await check(A.page, 'profile of someone else')
    await A.page.getByRole('button', { name: 'Cancel' }).click()

    await goto(A.page, `#/profile/${a.id}`)
    await seePost(A.page, 'Sunset over the bay', STEP_MS)
    await check(A.page, 'my profile')

    // The thread, with the list of who liked its first post open.
    await goto(A.page, threadHash)
    await seePost(A.page, 'Which way did you go back?', STEP_MS)
    await A.page.locator('article').first().getByText('Bobby').waitFor({ timeout: STEP_MS })
    shots.push(await screenshot(A.page, 'thread.png'))
    await A.page.getByRole('button', { name: 'Liked by 1' }).click()
    await A.page.locator('.likers').getByRole('link', { name: /Alice/ }).waitFor({ timeout: STEP_MS })
    await check(A.page, 'thread')

    await goto(A.page, '#/network')
    await A.page.getByText('Live', { exact: true }).first().waitFor({ timeout: SYNC_MS })
    await check(A.page, 'network')
    shots.push(await screenshot(A.page, 'network.png'))

    // The timeline with the photo loaded: at 360 px with the welcome card Alice has not closed
    // yet (she came through an invite), then without it, wide in both schemes, and with the
    // content warning opened.
    await goto(A.page, '#/')
    await seePost(A.page, 'Which way did you go back?', STEP_MS)
    const sunsetPost = await seePost(A.page, 'Sunset over the bay')
    await sunsetPost.locator('img[src^="blob:"]').waitFor({ timeout: SYNC_MS })
    await A.page.setViewportSize(NARROW)
    await A.page.getByRole('heading', { name: "You're in" }).waitFor({ timeout: STEP_MS })
    reports.push(await axe(A.page, 'timeline at 360 px, welcome card (light)'))
    const overflow = await A.page.evaluate(() => document.documentElement.scrollWidth - innerWidth)
    assert.ok(overflow <= 0, `the timeline fits 360 px without scrolling sideways (${overflow} px too wide)`)
    await A.page.getByRole('button', { name: 'Done' }).click()
    await A.page.getByRole('heading', { name: "You're in" }).waitFor({ state: 'detached', timeout: STEP_MS })
    shots.push(await screenshot(A.page, 'timeline-360.png'))
    await A.page.setViewportSize(WIDE)
    shots.push(await screenshot(A.page, 'timeline.png'))
    await A.page.emulateMedia({ colorScheme: 'dark' })
    shots.push(await screenshot(A.page, 'timeline-dark.png'))
    await A.page.getByText('Content warning: Spoilers for the finale').click()
    await A.page.getByText('The caller was the lighthouse keeper').waitFor({ timeout: STEP_MS })
    await check(A.page, 'timeline')

    for (const file of shots) await assertPng(file, file.endsWith('-360.png') ? NARROW : WIDE)
    t.diagnostic(`screenshots: ${shots.join(' ')}`)

    // Every violation is printed; the serious and critical ones fail the test.
    for (const r of reports) for (const line of describeViolations(r)) t.diagnostic(line)
    const axeMs = reports.reduce((sum, r) => sum + r.ms, 0)
    t.diagnostic(`axe runs (s): ${reports.map((r) => `${r.label} ${(r.ms / 1000).toFixed(1)}`).join(', ')}`)
    t.diagnostic(
      `${reports.length} axe runs took ${Math.round(axeMs / 1000)} s of ${Math.round((Date.now() - started) / 1000)} s`,
    )
    const blocking = reports.flatMap((r) => r.blocking.map((v) => `${r.label}: ${v.id}`))
    assert.deepEqual(blocking, [], 'no serious or critical accessibility violations')
    for (const [who, person] of people) assert.deepEqual(person.errors, [], `${who}'s pages ran without errors`)
  } catch (e) {
    for (const r of reports) for (const line of describeViolations(r)) t.diagnostic(line)
    t.diagnostic(`screenshots: ${(await screenshotAll('views')).join(' ')}`)
    throw e
  } finally {
    await Promise.all(people.map(([, person]) => person.context.close()))
  }
})

test('the timeline works by keyboard alone, with visible focus', { timeout: 60_000 }, async (t) => {
  const D = await openPerson(chromium, peer.url)
  try {
    await signUp(D.page, 'Dana')
    await D.page.getByRole('button', { name: 'Remind me later' }).click()
    await D.page.reload()
    await D.page.getByRole('textbox', { name: "What's happening?" }).waitFor({ timeout: STEP_MS })

    // Tab from the top of the page: skip link, navigation, composer, Post, each visibly focused.
    const reached: string[] = []
    const tab = async () => {
      await D.page.keyboard.press('Tab')
      const f = await focused(D.page)
      const shown = await focusIndicator(D.page)
      reached.push(`${f.tag} "${f.name}"`)
      return { ...f, shown }
    }
    const until = async (want: (f: { tag: string; name: string }) => boolean, what: string, limit = 30) => {
      for (let i = 0; i < limit; i++) {
        const f = await tab()
        if (want(f)) {
          assert.ok(f.shown, `${what} shows its focus (outline or box shadow)`)
          return f
        }
      }
      assert.fail(`${what} not reached by Tab; reached: ${reached.join(', ')}`)
    }
    const first = await tab()
    assert.equal(first.name, 'Skip to content', 'the first Tab stop is the skip link')
    assert.ok(first.shown, 'the skip link shows its focus')
    assert.ok(await D.page.getByRole('link', { name: 'Skip to content' }).isVisible(), 'the skip link appears')
    for (const name of ['Timeline', 'People', 'My profile', 'Network', 'Settings']) {
      await until((f) => f.tag === 'a' && f.name === name, `nav link ${name}`, 3)
    }
    await until((f) => f.tag === 'textarea' && f.name === "What's happening?", 'the composer', 5)
    await D.page.keyboard.type('Typed without a mouse.')
    await until((f) => f.tag === 'button' && f.name === 'Post', 'the Post button', 6)
    await D.page.keyboard.press('Enter')
    await D.page.getByText('Posted.').first().waitFor({ timeout: STEP_MS })
    const mine = await seePost(D.page, 'Typed without a mouse.', STEP_MS)
    const like = mine.getByRole('button', { name: 'Like' })

    // On to the new post's Like, which Space and Enter toggle.
    await until((f) => f.tag === 'button' && f.name === 'Like', 'the Like button', 12)
    assert.equal(await like.evaluate((el) => el === document.activeElement), true, "the new post's Like has focus")
    await D.page.keyboard.press('Space')
    await like.and(D.page.locator('[aria-pressed="true"]')).waitFor({ timeout: STEP_MS })
    await D.page.keyboard.press('Enter')
    await like.and(D.page.locator('[aria-pressed="false"]')).waitFor({ timeout: STEP_MS })
    assert.ok(await focusIndicator(D.page), 'Like keeps a visible focus after toggling')

    // The skip link, used: Enter takes focus past the navigation to the page's heading.
    await D.page.getByRole('link', { name: 'Skip to content' }).focus()
    await D.page.keyboard.press('Enter')
    assert.deepEqual(await focused(D.page), { tag: 'h1', name: 'Timeline' }, 'the skip link lands on the heading')
    await until((f) => f.tag === 'textarea', 'the composer, right after the skip link', 1)
    t.diagnostic(`Tab order: ${reached.join(' → ')}`)
    assert.deepEqual(D.errors, [], "Dana's pages ran without errors")
  } catch (e) {
    t.diagnostic(`screenshots: ${(await screenshotAll('views-keyboard')).join(' ')}`)
    throw e
  } finally {
    await D.context.close()
  }
})
