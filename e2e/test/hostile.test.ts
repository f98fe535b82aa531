/**
 * Content from others is inert. A hostile author — the serving peer's own identity, H — publishes
 * posts, a reply, a display name, a description, a content warning and alt text full of HTML and
 * script payloads, bidi overrides, zero-width characters and a 5,000-character word; two image
 * posts whose blobs claim to be PNGs but hold SVG with script and an HTML page (and its avatar is
 * that SVG); and an impostor, M, picks the name "Alice", the name of the victim's friend F. The
 * victim (a browser that follows all three and calls F "Alice") shows the timeline, H's and the
 * two Alices' profiles and a thread: no payload becomes an element or runs, each is shown as
 * text, the blobs render as "Unsupported image" placeholders (never <img>, <object>, <embed> or
 * <iframe>), and the impostor is marked as self-chosen with its fingerprint.
 *
 * The hostile messages are signed with the real keys and written into the peer's store while
 * it is stopped (the honest way to hold bytes the CLI refuses: `post --image` sniffs images and
 * would not take SVG or HTML; nor can it set a description); one more goes out live through
 * `murmur post`. The browser receives them all over the normal replication path. No HTTP path
 * of `murmur serve` returns a blob's bytes (there is no blob route: the app's paths give the
 * app or 404). Last, a post claiming a time past what a JS Date holds (it once broke every
 * render: the UI called toISOString on it).
 */
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import {
  type CID,
  type Draft,
  fingerprint,
  formatFeedId,
  generateKeypair,
  type Keypair,
  keypairFromSeed,
  parseBackup,
  parseFeedId,
  type VerifiedMsg,
} from '@murmur/core'
import { createSodiumEd25519 } from '@murmur/core/sodium'
import { Store } from '@murmur/store'
import { ClassicLevel } from 'classic-level'
import type { Page } from 'playwright-core'
import { goto, postWith, STEP_MS, SYNC_MS, seePost, signUp } from '../src/app.js'
import { browser, eventually, openPerson, screenshotAll, startPeer } from '../src/harness.js'

const RLO = '\u202e' // right-to-left override (Trojan Source, CVE-2021-42574)
const ZWSP = '\u200b' // zero-width space
const IMG = '<img src=x onerror=window.__pwned=1>'
const SCRIPT = '<script>window.__pwned=1</script>'
const JS_LINK = '<a href="javascript:window.__pwned=1">click me</a>'
const JS_URL = 'javascript:window.__pwned=1'

const NAME = `${RLO}${IMG}${ZWSP}gnp.exe`
const NAME_SHOWN = `${IMG}gnp.exe` // cleaned: the override and the zero-width space removed
const DESCRIPTION = `About ${SCRIPT} ${JS_LINK} ${JS_URL} ${IMG} ${RLO}txt.exe https://fine.example/about`
const LONG_WORD = 'W'.repeat(5000)

/** Post texts, each with a marker to find it by. */
const POSTS = {
  html: `[p-html] ${IMG} ${SCRIPT} <iframe src="${JS_URL}"></iframe> <object data=x></object> <embed src=x>`,
  links: `[p-links] ${JS_LINK} ${JS_URL} <a href=https://evil.example>pretty text</a> https://bank.example@evil.example/ https://fine.example/ok`,
  bidi: `[p-bidi] ${RLO}gnp.exe zero${ZWSP}width \u2066<b>bold</b>\u2069 <svg onload=window.__pwned=1>`,
  long: `[p-long] ${LONG_WORD}`,
  cw: '[p-cw] under a warning',
  svg: '[p-svg] my picture (an SVG that says it is a PNG)',
  html2: '[p-page] my picture (an HTML page that says it is a PNG)',
  root: `[t-root] A thread ${IMG}`,
  reply: `[t-reply] ${SCRIPT} <style>body{display:none}</style>`,
  impostorReply: `[t-imp] Alice here <form action=https://evil.example><input name=pw></form>`,
  live: `[p-live] sent live through the CLI ${IMG} ${SCRIPT}`,
  friend: '[f] Hi, it is the real Alice',
  impostor: '[m] Hi, it is Alice too',
} as const
const CW = `${SCRIPT}${RLO}`
const ALT = `${IMG} alt`

const SVG_MARK = 'svg-payload-7f3a'
const SVG_BYTES = new TextEncoder().encode(
  `<svg xmlns="http://www.w3.org/2000/svg" onload="window.__pwned=1"><script>window.__pwned=1</script><text>${SVG_MARK}</text></svg>`,
)
const HTML_MARK = 'html-payload-7f3a'
const HTML_BYTES = new TextEncoder().encode(
  `<!doctype html><html><body><script>window.__pwned=1</script>${IMG}<p>${HTML_MARK}</p></body></html>`,
)

interface Seeded {
  readonly hostile: string
  readonly friend: string
  readonly impostor: string
  readonly svg: CID
  readonly html: CID
  readonly root: string
}

/** The stopped peer's store and keys (H is the peer's own identity), for `fn` to write with. */
async function withPeerStore<T>(
  dataDir: string,
  fn: (pub: (keys: Keypair, draft: Draft) => Promise<VerifiedMsg>, h: Keypair, store: Store) => Promise<T>,
): Promise<T> {
  const ed = createSodiumEd25519()
  try {
    const h = await keypairFromSeed(ed, parseBackup(await readFile(join(dataDir, 'secret'), 'utf8')))
    const db = new ClassicLevel(join(dataDir, 'db'), { keyEncoding: 'view', valueEncoding: 'view' })
    const store = await Store.open(db, { me: h.publicKey })
    try {
      return await fn((keys, draft) => store.publish(ed, keys, draft), h, store)
    } finally {
      await store.close()
    }
  } finally {
    await ed.close?.()
  }
}

/**
 * Writes the hostile feed (H, the peer's own identity), the friend's (F) and the impostor's (M)
 * into the stopped peer's store, signed with their keys as any client would.
 */
async function seed(dataDir: string): Promise<Seeded> {
  const ed = createSodiumEd25519()
  const f = await generateKeypair(ed)
  const m = await generateKeypair(ed)
  await ed.close?.()
  return withPeerStore(dataDir, async (pub, h, store) => {
    const svg = await store.blobs.put(SVG_BYTES)
    const html = await store.blobs.put(HTML_BYTES)
    await pub(f, { type: 'about', content: { target: f.publicKey, name: 'Alice' } })
    await pub(f, { type: 'post', content: { text: POSTS.friend } })
    await pub(m, { type: 'about', content: { target: m.publicKey, name: 'Alice' } })
    await pub(m, { type: 'post', content: { text: POSTS.impostor } })
    await pub(h, {
      type: 'about',
      content: { target: h.publicKey, name: NAME, description: DESCRIPTION, image: svg },
    })
    // H follows both, so the peer replicates them as part of its own graph.
    await pub(h, { type: 'contact', content: { target: f.publicKey, following: true } })
    await pub(h, { type: 'contact', content: { target: m.publicKey, following: true } })
    const root = await pub(h, { type: 'post', content: { text: POSTS.root } })
    await pub(h, { type: 'post', content: { text: POSTS.reply, root: root.id, branch: [root.id] } })
    await pub(m, { type: 'post', content: { text: POSTS.impostorReply, root: root.id, branch: [root.id] } })
    await pub(h, { type: 'post', content: { text: POSTS.long } })
    await pub(h, { type: 'post', content: { text: POSTS.bidi } })
    await pub(h, { type: 'post', content: { text: POSTS.links } })
    await pub(h, { type: 'post', content: { text: POSTS.cw, cw: CW } })
    await pub(h, { type: 'post', content: { text: POSTS.html } })
    // Newest last: the image posts come first on the timeline, near the top of the page.
    const claimed = (link: CID, size: number) => ({ link, type: 'image/png', size, alt: ALT })
    await pub(h, { type: 'post', content: { text: POSTS.html2, blobs: [claimed(html, HTML_BYTES.length)] } })
    await pub(h, { type: 'post', content: { text: POSTS.svg, blobs: [claimed(svg, SVG_BYTES.length)] } })
    return {
      hostile: formatFeedId(h.publicKey),
      friend: formatFeedId(f.publicKey),
      impostor: formatFeedId(m.publicKey),
      svg,
      html,
      root: root.id.toString(),
    }
  })
}

/** What the page holds that a payload could have made, and whether anything ran or was blocked. */
async function domReport(page: Page) {
  return page.evaluate(() => {
    const w = window as unknown as { __pwned?: unknown; __csp?: string[] }
    const body = document.body
    const count = (sel: string) => body.querySelectorAll(sel).length
    const anchors = [...body.querySelectorAll('a[href]')].map((a) => a.getAttribute('href') ?? '')
    const withHandlers = [...body.querySelectorAll('*')].filter((el) =>
      [...el.attributes].some((a) => a.name.toLowerCase().startsWith('on')),
    ).length
    return {
      pwned: typeof w.__pwned,
      csp: w.__csp ?? [],
      imgX: count('img[src="x"]'),
      // The app's own <img>s are blob: (sniffed raster) or its QR code is an <svg class="qr">.
      otherImg: [...body.querySelectorAll('img')].filter((i) => !(i.getAttribute('src') ?? '').startsWith('blob:'))
        .length,
      scripts: count('script'),
      styles: count('style, link, meta, base'),
      active: count('iframe, object, embed, frame, frameset, form[action], input[name="pw"]'),
      foreignSvg: count('svg:not(.qr)'),
      bold: count('main b'),
      withHandlers,
      badLinks: anchors.filter((h) => !h.startsWith('#') && !/^https?:\/\//i.test(h)),
      overflow: document.documentElement.scrollWidth - document.documentElement.clientWidth,
    }
  })
}

/** Asserts nothing from the payloads became an element, ran, or tried to run (CSP). */
async function assertInert(page: Page, where: string): Promise<void> {
  const r = await domReport(page)
  assert.equal(r.pwned, 'undefined', `${where}: no payload ran`)
  assert.deepEqual(r.csp, [], `${where}: nothing tried to run and was blocked by the CSP`)
  assert.equal(r.imgX, 0, `${where}: no <img src=x>`)
  assert.equal(r.otherImg, 0, `${where}: every <img> is a sniffed blob: image`)
  assert.equal(r.scripts, 0, `${where}: no <script> in the body`)
  assert.equal(r.styles, 0, `${where}: no <style>, <link>, <meta> or <base> in the body`)
  assert.equal(r.active, 0, `${where}: no <iframe>, <object>, <embed> or form`)
  assert.equal(r.foreignSvg, 0, `${where}: no <svg> but the app's QR code`)
  assert.equal(r.bold, 0, `${where}: no <b> from a post`)
  assert.equal(r.withHandlers, 0, `${where}: no element has an on* attribute`)
  assert.deepEqual(r.badLinks, [], `${where}: every link is the app's (#…) or http(s)`)
  assert.ok(r.overflow <= 0, `${where}: nothing is wider than the page (overflow ${r.overflow} px)`)
}

/** Waits until an image of `post` settled as the "Unsupported image" placeholder. */
async function seeUnsupported(page: Page, marker: string): Promise<void> {
  const card = postWith(page, marker)
  await card.scrollIntoViewIfNeeded()
  await card.locator('[role="img"][aria-label^="Unsupported image"]').waitFor({ timeout: SYNC_MS })
  assert.equal(
    await card.getByRole('img').first().getAttribute('aria-label'),
    `Unsupported image: ${ALT}`,
    'the placeholder names the alt text, as text',
  )
  assert.equal(await card.locator('img, object, embed, iframe, svg').count(), 0, `${marker}: nothing renders the blob`)
}

test('content from others is inert: HTML and script in posts, names and blobs; a copied name is marked', {
  timeout: 150_000,
}, async (t) => {
  const peer = await startPeer()
  const chromium = await browser()
  try {
    assert.equal(await peer.stop(), 0)
    const s = await seed(peer.dir)
    await peer.restart()

    const V = await openPerson(chromium, peer.url)
    await V.context.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (e) => {
        const w = window as unknown as { __csp?: string[] }
        w.__csp = [...(w.__csp ?? []), `${e.violatedDirective} ${e.blockedURI}`]
      })
    })
    await V.page.reload()
    await signUp(V.page, 'Victim')

    // V follows H, the friend F (and names F "Alice") and the impostor M.
    for (const id of [s.hostile, s.friend, s.impostor]) {
      await goto(V.page, `#/profile/${id}`)
      await V.page.getByRole('button', { name: 'Follow', exact: true }).click()
      await V.page.getByRole('button', { name: 'Unfollow' }).waitFor({ timeout: STEP_MS })
    }
    await goto(V.page, `#/profile/${s.friend}`)
    await V.page.getByRole('textbox', { name: 'Your name for them' }).fill('Alice')
    await V.page.getByRole('button', { name: 'Save name' }).click()
    await V.page.getByText('You now call them Alice.').waitFor({ timeout: STEP_MS })

    // One more while V is connected, through the CLI (the running serve publishes it live).
    const live = await peer.run(['post', POSTS.live])
    assert.equal(live.code, 0, live.stderr)

    // The timeline: every payload arrives and shows as text.
    await goto(V.page, '#/')
    for (const text of Object.values(POSTS)) {
      if (text === POSTS.reply || text === POSTS.impostorReply) continue // replies show in the thread
      const marker = text.slice(0, text.indexOf(']') + 1)
      const card = await seePost(V.page, marker)
      if (text !== POSTS.cw) {
        assert.equal(((await card.locator('p.text').textContent()) ?? '').trim(), text, `${marker} shown as text`)
      }
    }
    const cw = postWith(V.page, '[p-cw]')
    assert.equal(
      ((await cw.locator('summary').textContent()) ?? '').replace(/\s+/g, ' ').trim(),
      `Content warning: ${CW}`,
      'the content warning shows as text',
    )
    const hostileCard = postWith(V.page, '[p-html]')
    const author = ((await hostileCard.locator('.author').textContent()) ?? '').replace(/\s+/g, ' ').trim()
    const fpH = fingerprint(parseFeedId(s.hostile))
    assert.equal(author, `${NAME_SHOWN} (self-chosen · ${fpH})`, "H's name: cleaned, marked as self-chosen")
    assert.ok(!/[\u202a-\u202e\u2066-\u2069\u200b-\u200f]/.test(author), 'no bidi or zero-width character in a name')
    assert.equal(
      await hostileCard.getAttribute('aria-label'),
      `Post by ${NAME_SHOWN} (self-chosen · ${fpH})`,
      "the post's accessible name too",
    )
    // The only links made from H's texts are http(s) URLs written out in full, each showing
    // where it goes (not the javascript: ones, not the one with a user name before the host).
    const links = await postWith(V.page, '[p-links]')
      .locator('p.text a')
      .evaluateAll((as) => as.map((a) => [a.getAttribute('href'), a.textContent, a.getAttribute('rel')]))
    assert.deepEqual(links, [
      ['https://evil.example/', 'https://evil.example', 'noopener noreferrer nofollow'],
      ['https://fine.example/ok', 'https://fine.example/ok', 'noopener noreferrer nofollow'],
    ])

    // The blobs: bytes that are SVG or HTML never render, whatever type the author claimed.
    await seeUnsupported(V.page, '[p-svg]')
    await seeUnsupported(V.page, '[p-page]')

    // The copied name: F is "Alice" (my petname), M is "Alice (self-chosen · fingerprint)".
    const fpM = fingerprint(parseFeedId(s.impostor))
    assert.notEqual(fpM, fingerprint(parseFeedId(s.friend)))
    assert.equal(await postWith(V.page, '[f]').getAttribute('aria-label'), 'Post by Alice')
    assert.equal(await postWith(V.page, '[m]').getAttribute('aria-label'), `Post by Alice (self-chosen · ${fpM})`)
    assert.equal(
      ((await postWith(V.page, '[m]').locator('.author').textContent()) ?? '').replace(/\s+/g, ' ').trim(),
      `Alice (self-chosen · ${fpM})`,
    )
    await V.page.evaluate(() => window.scrollTo(0, document.body.scrollHeight))
    await assertInert(V.page, 'timeline')

    // H's profile: the name, the description as text, the SVG avatar not rendered.
    await goto(V.page, `#/profile/${s.hostile}`)
    const h1 = V.page.getByRole('heading', { level: 1 })
    await h1.filter({ hasText: 'self-chosen' }).waitFor({ timeout: STEP_MS })
    assert.equal(((await h1.textContent()) ?? '').replace(/\s+/g, ' ').trim(), `${NAME_SHOWN} (self-chosen · ${fpH})`)
    const description = V.page.locator('.profile-card p.description')
    await description.waitFor({ timeout: STEP_MS })
    assert.equal(((await description.textContent()) ?? '').trim(), DESCRIPTION)
    assert.deepEqual(await description.locator('a').evaluateAll((as) => as.map((a) => a.getAttribute('href'))), [
      'https://fine.example/about',
    ])
    await seePost(V.page, '[p-svg]')
    await seeUnsupported(V.page, '[p-svg]')
    // The avatar was asked for (its placeholder lost data-blob) and stayed the initial.
    await V.page
      .locator('.profile-top .avatar.initials:not([data-blob])')
      .waitFor({ timeout: SYNC_MS })
      .catch(async (e) => {
        throw new Error(`the SVG avatar never settled: ${await V.page.locator('.profile-top').innerHTML()}`, {
          cause: e,
        })
      })
    assert.equal(await V.page.locator('.profile-top img').count(), 0, 'the SVG avatar is not an <img>')
    await assertInert(V.page, "H's profile")

    // The two Alices' profiles.
    await goto(V.page, `#/profile/${s.impostor}`)
    await V.page.getByRole('heading', { level: 1 }).filter({ hasText: 'self-chosen' }).waitFor({ timeout: STEP_MS })
    assert.equal(
      ((await V.page.getByRole('heading', { level: 1 }).textContent()) ?? '').replace(/\s+/g, ' ').trim(),
      `Alice (self-chosen · ${fpM})`,
    )
    await goto(V.page, `#/profile/${s.friend}`)
    await V.page.getByText('Calls themselves').waitFor({ timeout: STEP_MS })
    assert.equal(((await V.page.getByRole('heading', { level: 1 }).textContent()) ?? '').trim(), 'Alice')

    // The thread: root and both replies as text.
    await goto(V.page, `#/thread/${s.root}`)
    for (const text of [POSTS.root, POSTS.reply, POSTS.impostorReply]) {
      const card = await seePost(V.page, text.slice(0, text.indexOf(']') + 1), STEP_MS)
      assert.equal(((await card.locator('p.text').textContent()) ?? '').trim(), text)
    }
    assert.equal(
      await postWith(V.page, '[t-imp]').getAttribute('aria-label'),
      `Post by Alice (self-chosen · ${fpM})`,
      'the impostor is marked in threads too',
    )
    assert.ok(await V.page.locator('main').isVisible(), 'the injected <style> hid nothing')
    await assertInert(V.page, 'thread')

    // No HTTP path of the peer serves a blob: the app (index.html) or 404, never the bytes.
    const index = await (await fetch(peer.url)).text()
    for (const cid of [s.svg.toString(), s.html.toString()]) {
      for (const path of [
        cid,
        `${cid}.svg`,
        `${cid}.html`,
        `blobs/${cid}`,
        `blob/${cid}`,
        `ipfs/${cid}`,
        `assets/${cid}`,
        `murmur/${cid}`,
        `${cid}?type=image/svg+xml`,
      ]) {
        const res = await fetch(new URL(path, peer.url))
        const body = await res.text()
        const type = res.headers.get('content-type') ?? ''
        assert.ok(!body.includes(SVG_MARK) && !body.includes(HTML_MARK), `/${path}: not the blob's bytes`)
        assert.ok(!/svg/i.test(type), `/${path}: not typed as SVG (${type})`)
        if (res.status === 200) assert.equal(body, index, `/${path}: the app itself`)
        else assert.equal(res.status, 404, `/${path}: 200 (the app) or 404, not ${res.status}`)
        assert.equal(res.headers.get('x-content-type-options'), 'nosniff', `/${path}: nosniff`)
        assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'self'/, `/${path}: the CSP`)
      }
    }

    t.diagnostic(`victim: ${V.errors.length} page errors`)
    assert.deepEqual(V.errors, [], "the victim's pages ran without errors")

    // A claimed time is any safe integer (core checks no more), past what a JS Date can hold.
    await t.test('a post claiming a time past the Date range shows, and breaks nothing', async () => {
      assert.equal(await peer.stop(), 0)
      await withPeerStore(peer.dir, (pub, h) =>
        pub(h, { type: 'post', ts: Number.MAX_SAFE_INTEGER, content: { text: '[p-future] at the end of time' } }),
      )
      await peer.restart()
      await goto(V.page, '#/')
      const outcome = await eventually(
        async () => {
          if (V.errors.length > 0) return `page errors: ${V.errors.join('; ')}`
          return (await postWith(V.page, '[p-future]').count()) > 0 ? 'shown' : undefined
        },
        SYNC_MS,
        'the far-future post',
      )
      assert.equal(outcome, 'shown')
    })
  } catch (e) {
    t.diagnostic(`screenshots: ${(await screenshotAll('hostile')).join(' ')}`)
    throw e
  } finally {
    await chromium.close()
    await peer.remove()
  }
})
