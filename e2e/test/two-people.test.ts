/**
 * The story end to end, in the machine's Chromium against a real `murmur serve` on
 * loopback, with separate browser contexts (separate storage) for each person:
 * A signs up and posts with an image (a JPEG carrying GPS EXIF); B signs up and follows A
 * through A's invite link; B sees A's post and image (without the GPS data), replies and likes;
 * A (who follows B back) sees the reply and the like; both reload and keep everything; A goes
 * offline, posts, comes back, and B receives it; two tabs of A post at once and A's feed stays
 * one valid chain; a backup from A restored in a fresh context C gives the same id and brings
 * A's posts back.
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { CID } from '@murmur/core'
import { Store } from '@murmur/store'
import { exifApp1, GPS_LATITUDE, indexOfBytes, insertAfterSoi, rationalBytes } from '@murmur/testkit/images'
import { ClassicLevel } from 'classic-level'
import { goto, post, STEP_MS, SYNC_MS, seePost, signUp } from '../src/app.js'
import { browser, eventually, openPerson, screenshotAll, startPeer, tcpProxy } from '../src/harness.js'

/** A 1600×900 JPEG drawn by the page's canvas, with an EXIF segment holding GPS coordinates. */
async function photoWithGps(page: import('playwright-core').Page, dir: string): Promise<string> {
  const b64 = await page.evaluate(async () => {
    const c = new OffscreenCanvas(1600, 900)
    const g = c.getContext('2d') as OffscreenCanvasRenderingContext2D
    g.fillStyle = '#3a7'
    g.fillRect(0, 0, 1600, 900)
    g.fillStyle = '#fff'
    g.fillRect(200, 200, 600, 300)
    const blob = await c.convertToBlob({ type: 'image/jpeg', quality: 0.9 })
    const bytes = new Uint8Array(await blob.arrayBuffer())
    let s = ''
    for (const b of bytes) s += String.fromCharCode(b)
    return btoa(s)
  })
  const jpeg = insertAfterSoi(new Uint8Array(Buffer.from(b64, 'base64')), exifApp1())
  assert.ok(indexOfBytes(jpeg, rationalBytes(GPS_LATITUDE)) >= 0, 'the test photo carries GPS data')
  const file = join(dir, 'holiday.jpg')
  await writeFile(file, jpeg)
  return file
}

/**
 * The bytes of the blob `link` as the serving peer holds them (read from its database once it
 * stopped). The page cannot hand over the bytes behind its <img src="blob:…"> (the CSP's
 * connect-src rightly refuses fetching blob: URLs), but blobs are content-addressed: B checked
 * that what it shows hashes to `link`, so these are the very bytes B received.
 */
async function heldBlob(dataDir: string, link: string): Promise<Uint8Array | undefined> {
  const store = await Store.open(new ClassicLevel(join(dataDir, 'db'), { keyEncoding: 'view', valueEncoding: 'view' }))
  try {
    return await store.blobs.get(CID.parse(link))
  } finally {
    await store.close()
  }
}

test('two people in two browsers: sign up, invite, post with image, reply, like, reload, offline, two tabs, restore', {
  timeout: 240_000,
}, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'murmur-e2e-files-'))
  const peer = await startPeer()
  const chromium = await browser()
  try {
    // A signs up and posts a photo. A reaches the peer through a proxy the test can cut, so A
    // alone can go offline later (its origin is the proxy's; B uses the peer's own).
    const proxy = await tcpProxy(peer.port)
    t.after(() => proxy.close())
    const A = await openPerson(chromium, proxy.url)
    const a = await signUp(A.page, 'Alice', 'Takes photos')
    assert.match(a.id, /^@[A-Za-z0-9_-]{43}\.ed25519$/)
    assert.equal(a.invite, `${proxy.url}#/follow/${a.id}`)
    const photo = await photoWithGps(A.page, dir)
    await post(A.page, 'Hello from Alice https://example.org/x', { file: photo, alt: 'A green field' })
    const mine = await seePost(A.page, 'Hello from Alice')
    assert.equal(
      await mine.getByRole('link', { name: 'https://example.org/x' }).getAttribute('href'),
      'https://example.org/x',
    )

    // B signs up from A's invite link and follows A.
    const B = await openPerson(chromium, a.invite.replace(proxy.url, peer.url))
    const b = await signUp(B.page, 'Bob')
    if (!B.page.url().includes('#/follow/')) await B.page.goto(a.invite.replace(proxy.url, peer.url))
    await B.page.getByRole('button', { name: 'Follow', exact: true }).click()
    await B.page.getByRole('button', { name: 'Unfollow' }).first().waitFor({ timeout: STEP_MS })
    await goto(B.page, '#/')
    const seen = await seePost(B.page, 'Hello from Alice')
    // Shown only once its bytes are fetched, checked against the hash and sniffed as raster.
    const img = seen.locator('img[src^="blob:"][alt="A green field"]')
    await img.waitFor({ timeout: SYNC_MS })
    const imageLink = await eventually(
      async () => {
        const r = await peer.run(['log', a.id, '--json'])
        const l = JSON.parse(r.stdout) as { messages: { content: { blobs?: { link: unknown }[] } }[] }
        const link = l.messages.flatMap((m) => m.content.blobs ?? [])[0]?.link
        return link === undefined ? undefined : String((link as { '/'?: string })['/'] ?? link)
      },
      STEP_MS,
      "the photo's blob id in A's feed",
    )

    // B likes and replies; A follows B back (A wants the feeds it follows) and sees both.
    await seen.getByRole('button', { name: 'Like' }).click()
    await seen
      .getByRole('button', { name: 'Like' })
      .and(B.page.locator('[aria-pressed="true"]'))
      .waitFor({ timeout: STEP_MS })
    await seen.getByRole('link', { name: 'Reply' }).click()
    await B.page.getByRole('textbox', { name: 'Write a reply' }).fill('Nice one, Alice')
    await B.page.getByRole('button', { name: 'Reply', exact: true }).click()
    await B.page.getByText('Reply posted.').first().waitFor({ timeout: STEP_MS })

    await A.page.goto(b.invite.replace(peer.url, proxy.url))
    await A.page.getByRole('button', { name: 'Follow', exact: true }).click()
    await A.page.getByRole('button', { name: 'Unfollow' }).first().waitFor({ timeout: STEP_MS })
    await goto(A.page, '#/')
    await seePost(A.page, 'Nice one, Alice')
    const liked = (await seePost(A.page, 'Hello from Alice')).getByRole('button', { name: 'Liked by 1' })
    await liked.waitFor({ timeout: SYNC_MS })
    await liked.click()
    await A.page.getByRole('link', { name: /Bob/ }).first().waitFor({ timeout: STEP_MS })

    // Both reload and keep everything (their own IndexedDB).
    for (const p of [A.page, B.page]) {
      await p.reload()
      await goto(p, '#/')
      await seePost(p, 'Hello from Alice', STEP_MS)
      await seePost(p, 'Nice one, Alice', STEP_MS)
    }

    // A goes offline, posts, comes back: B receives the post. A direct link to B would keep A
    // online (that is what it is for), so A turns direct links off first.
    await goto(A.page, '#/network')
    await A.page.getByRole('checkbox', { name: /Connect directly to other people's browsers/ }).uncheck()
    await A.page.getByText('Direct links are off.').waitFor({ timeout: STEP_MS })
    await A.page
      .locator('li.peer')
      .filter({ hasText: '(direct, WebRTC)' })
      .waitFor({ state: 'detached', timeout: STEP_MS })
    await goto(A.page, '#/')
    await proxy.cut()
    await A.page.getByText('Offline', { exact: true }).waitFor({ timeout: SYNC_MS })
    await post(A.page, 'Written offline')
    await seePost(A.page, 'Written offline', STEP_MS)
    await proxy.restore()
    await A.page.getByText(/Online · 1 peer/).waitFor({ timeout: SYNC_MS + 15_000 })
    await seePost(B.page, 'Written offline', SYNC_MS)

    // Two tabs of A post at the same time: one writer, one valid chain.
    const tab2 = await A.newTab('/#/')
    await tab2.getByRole('textbox', { name: "What's happening?" }).waitFor({ timeout: STEP_MS })
    await goto(A.page, '#/')
    await A.page.getByRole('textbox', { name: "What's happening?" }).fill('From tab one')
    await tab2.getByRole('textbox', { name: "What's happening?" }).fill('From tab two')
    await Promise.all([
      A.page.getByRole('button', { name: 'Post', exact: true }).click(),
      tab2.getByRole('button', { name: 'Post', exact: true }).click(),
    ])
    await seePost(A.page, 'From tab two', STEP_MS)
    await seePost(tab2, 'From tab one', STEP_MS)
    const log = await eventually(
      async () => {
        const r = await peer.run(['log', a.id, '--json'])
        if (r.code !== 0) return undefined
        const l = JSON.parse(r.stdout) as { messages: { seq: number; content: { text?: string } }[] }
        const texts = l.messages.map((m) => m.content.text)
        return texts.includes('From tab one') && texts.includes('From tab two') ? l : undefined
      },
      SYNC_MS,
      "both tabs' posts at the serving peer",
    )
    assert.deepEqual(
      log.messages.map((m) => m.seq),
      log.messages.map((_, i) => i + 1),
      'one chain: every seq once, in order',
    )
    const status = JSON.parse((await peer.run(['status', '--json'])).stdout) as { forks?: unknown[] }
    assert.deepEqual(status.forks ?? [], [], 'no fork anywhere')
    await tab2.close()

    // Backup in A, restore in a fresh context C: same id, A's posts come back.
    await goto(A.page, '#/settings')
    await A.page.getByRole('button', { name: 'Show backup text' }).click()
    const backup = await A.page.getByRole('textbox', { name: 'Your backup text' }).inputValue()
    assert.match(backup, /^murmur-secret-v1 /)
    await A.page.getByRole('button', { name: 'I saved it' }).click()
    const C = await openPerson(chromium, peer.url)
    await C.page.getByRole('heading', { name: 'Welcome to Murmur' }).waitFor({ timeout: STEP_MS })
    await C.page.getByRole('textbox', { name: 'Backup text' }).fill(backup)
    await C.page.getByRole('button', { name: 'Restore' }).click()
    // The restore ends on the timeline; only then is Settings the page that stays.
    await C.page.getByRole('heading', { level: 1, name: 'Timeline' }).waitFor({ timeout: STEP_MS })
    await goto(C.page, '#/settings')
    await eventually(
      async () => ((await C.page.getByTestId('my-id').first().textContent())?.trim() === a.id ? true : undefined),
      STEP_MS,
      'the restored id',
    )
    await goto(C.page, '#/')
    await seePost(C.page, 'From tab two', SYNC_MS)
    await seePost(C.page, 'Hello from Alice', SYNC_MS)
    await C.page
      .getByText('Looking for your latest post on the network')
      .waitFor({ state: 'detached', timeout: SYNC_MS })

    // The photo as it travelled: a JPEG without the GPS coordinates or any EXIF segment.
    assert.equal(await peer.stop(), 0)
    const got = await heldBlob(peer.dir, imageLink)
    assert.ok(got, 'the serving peer holds the photo (it hosts A, images included)')
    assert.deepEqual([...got.subarray(0, 3)], [0xff, 0xd8, 0xff], 'a JPEG')
    assert.equal(indexOfBytes(got, rationalBytes(GPS_LATITUDE)), -1, 'without the GPS coordinates')
    assert.equal(indexOfBytes(got, new TextEncoder().encode('Exif\0\0')), -1, 'without any EXIF segment')

    for (const [who, person] of [
      ['A', A],
      ['B', B],
      ['C', C],
    ] as const) {
      t.diagnostic(`${who}: ${person.errors.length} page errors`)
      assert.deepEqual(person.errors, [], `${who}'s pages ran without errors`)
    }
  } catch (e) {
    t.diagnostic(`screenshots: ${(await screenshotAll('two-people')).join(' ')}`)
    throw e
  } finally {
    await chromium.close()
    await peer.remove()
    await rm(dir, { recursive: true, force: true })
  }
})
