/**
 * The service worker (sw.ts, as built into sw.js) in Chromium: it precaches the verified app,
 * serves it offline with the CSP, leaves other requests to the network, refuses bytes that do not
 * match app-files.json, and cleans up the old version's cache on upgrade.
 */
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { test } from 'node:test'
import { launchChromium } from '@murmur/testkit/browser'
import type { Page } from 'playwright-core'
import { APP_CSP, contentTypeOf, SECURITY_HEADERS } from '../src/headers.js'
import { buildFixture } from './app-fixture.js'

/** A loopback server for a built app folder that can go "offline" (503) or serve altered files. */
async function serveApp(dir: string) {
  const state = { dir, offline: false, altered: new Map<string, Buffer>(), hits: [] as string[] }
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname
    state.hits.push(path)
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v)
    if (state.offline) {
      res.writeHead(503).end()
      return
    }
    const file = path === '/' ? 'index.html' : path.slice(1)
    const body = state.altered.get(file) ?? readFile(join(state.dir, file)).catch(() => undefined)
    void Promise.resolve(body).then((bytes) => {
      if (bytes === undefined || file.includes('..')) res.writeHead(404).end()
      else res.writeHead(200, { 'Content-Type': contentTypeOf(file), 'Cache-Control': 'no-cache' }).end(bytes)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    })
  return { origin, state, close }
}

/** Waits until the page's marks show that the script, the module worker and the lazy chunk all ran. */
async function appRan(page: Page, lazy = 'loaded'): Promise<void> {
  await page.waitForFunction(
    (l) =>
      document.body.dataset.ready === 'yes' &&
      document.body.dataset.worker === '40' &&
      document.body.dataset.lazy === l,
    lazy,
    { timeout: 15_000 },
  )
}

/** Registers (again) and waits until the newest worker is activated or redundant. */
function settle(page: Page) {
  return page.evaluate(async () => {
    const reg = await navigator.serviceWorker.register('/sw.js', { scope: '/' })
    const sw = reg.installing ?? reg.waiting ?? reg.active
    if (sw && sw.state !== 'activated' && sw.state !== 'redundant') {
      await new Promise<void>((resolve) =>
        sw.addEventListener('statechange', () => {
          if (sw.state === 'activated' || sw.state === 'redundant') resolve()
        }),
      )
    }
    return {
      active: reg.active !== null,
      caches: (await caches.keys()).filter((n) => n.startsWith('murmur-app-')),
    }
  })
}

test('the service worker precaches the app and serves it offline, with the CSP', { timeout: 120_000 }, async () => {
  const app = await buildFixture()
  const server = await serveApp(app.out)
  const browser = await launchChromium()
  try {
    const page = await browser.newPage()
    await page.goto(`${server.origin}/`)
    await appRan(page)
    assert.deepEqual((await settle(page)).active, true)
    await page.waitForFunction(() => navigator.serviceWorker.controller !== null)

    const { files } = JSON.parse(await readFile(join(app.out, 'app-files.json'), 'utf8')) as {
      files: { path: string }[]
    }
    const cached = await page.evaluate(async () => {
      const names = (await caches.keys()).filter((n) => n.startsWith('murmur-app-'))
      const cache = await caches.open(names[0] as string)
      return { names, paths: (await cache.keys()).map((r) => new URL(r.url).pathname).sort() }
    })
    assert.equal(cached.names.length, 1)
    assert.deepEqual(
      cached.paths,
      files.filter((f) => f.path !== 'sw.js').map((f) => `/${f.path}`),
    )

    server.state.offline = true
    server.state.hits.length = 0
    const reload = await page.reload()
    assert.ok(reload?.fromServiceWorker(), 'the page came from the service worker')
    assert.equal(reload?.status(), 200)
    assert.equal(reload?.headers()['content-security-policy'], APP_CSP)
    assert.equal(reload?.headers()['x-content-type-options'], 'nosniff')
    await appRan(page)
    const route = await page.goto(`${server.origin}/some/route`)
    assert.ok(route?.fromServiceWorker())
    assert.match((await route?.text()) ?? '', /<script type="module" crossorigin src="\/assets\//)
    await appRan(page)
    assert.deepEqual(
      server.state.hits.filter((p) => p !== '/sw.js'),
      [],
      'offline, nothing but the browser’s own update check reached the server',
    )

    // What is not an app file goes to the network: offline it fails, online it arrives.
    assert.equal(await page.evaluate(() => fetch('/.well-known/murmur.json').then((r) => r.status)), 503)
    server.state.offline = false
    assert.equal(await page.evaluate(() => fetch('/missing.json').then((r) => r.status)), 404)
    assert.ok(server.state.hits.includes('/missing.json'))
  } finally {
    await browser.close()
    await server.close()
    await app.remove()
  }
})

test('bytes that do not match app-files.json are never cached', { timeout: 120_000 }, async () => {
  const app = await buildFixture()
  const server = await serveApp(app.out)
  const browser = await launchChromium()
  try {
    const listText = await readFile(join(app.out, 'app-files.json'), 'utf8')
    const list = JSON.parse(listText) as { files: { path: string; sha256: string; size: number }[] }
    const lazy = list.files.find((f) => f.path.startsWith('assets/lazy-'))
    assert.ok(lazy)
    const evil = Buffer.from('export const lazy = () => "evil"\n')
    const evilHash = createHash('sha256').update(evil).digest('hex')
    const cases: [string, Map<string, Buffer>][] = [
      ['a file altered', new Map([[lazy.path, evil]])],
      [
        'a file and its line in the list altered',
        new Map([
          [lazy.path, evil],
          [
            'app-files.json',
            Buffer.from(
              listText.replace(lazy.sha256, evilHash).replace(`"size": ${lazy.size}`, `"size": ${evil.length}`),
            ),
          ],
        ]),
      ],
    ]
    for (const [what, altered] of cases) {
      server.state.altered = altered
      const context = await browser.newContext()
      try {
        const page = await context.newPage()
        await page.goto(`${server.origin}/`)
        await page.waitForFunction(() => document.body.dataset.ready === 'yes')
        const result = await settle(page)
        assert.deepEqual(result, { active: false, caches: [] }, what)
      } finally {
        await context.close()
      }
    }
  } finally {
    await browser.close()
    await server.close()
    await app.remove()
  }
})

test('a new build is a new worker; once it takes over, the old cache is gone', { timeout: 120_000 }, async () => {
  const v1 = await buildFixture()
  const v2 = await buildFixture({ lazy: 'version 2' })
  const server = await serveApp(v1.out)
  const browser = await launchChromium()
  try {
    const context = await browser.newContext() // one profile: both pages share the worker
    const first = await context.newPage()
    await first.goto(`${server.origin}/`)
    await appRan(first)
    const old = await settle(first)
    assert.equal(old.caches.length, 1)

    server.state.dir = v2.out
    const page = await context.newPage()
    await first.close()
    await page.goto(`${server.origin}/`)
    await appRan(page) // still version 1, from the cache
    const names = await page.evaluate(async () => {
      const reg = await navigator.serviceWorker.getRegistration()
      if (!reg) throw new Error('no registration')
      await reg.update()
      const next = reg.installing ?? reg.waiting
      if (!next) throw new Error('no new worker')
      if (next.state !== 'installed')
        await new Promise<void>((resolve, reject) =>
          next.addEventListener('statechange', () => {
            if (next.state === 'installed') resolve()
            if (next.state === 'redundant') reject(new Error('the new version did not install'))
          }),
        )
      // Activated means its activate handler (which deletes old caches) has finished.
      const activated = new Promise<void>((resolve) =>
        next.addEventListener('statechange', () => {
          if (next.state === 'activated') resolve()
        }),
      )
      next.postMessage({ type: 'skip-waiting' })
      await activated
      return (await caches.keys()).filter((n) => n.startsWith('murmur-app-'))
    })
    assert.equal(names.length, 1)
    assert.notDeepEqual(names, old.caches)
    await page.reload()
    await appRan(page, 'version 2')
  } finally {
    await browser.close()
    await server.close()
    await v1.remove()
    await v2.remove()
  }
})
