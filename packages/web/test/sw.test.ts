/**
 * The service worker (sw.ts, as built into sw.js) in Chromium: it precaches the verified app,
 * serves it offline with the CSP, leaves other requests to the network, refuses bytes that do not
 * match app-files.json; a new build is not a new worker (its files arrive as a release, which the
 * worker serves from the release cache the engine filled), a changed worker script is, and it
 * cleans up the old precache; a cached file altered after caching is never served.
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
      ['/__murmur/app-files.json', ...files.filter((f) => f.path !== 'sw.js').map((f) => `/${f.path}`)].sort(),
      'every file but sw.js, and the verified list that marks the precache complete',
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
    // sw.js too: the page compares what the origin serves now with the releases' workers.
    server.state.altered = new Map([['sw.js', Buffer.from('// another worker\n')]])
    assert.equal(
      await page.evaluate(() => fetch('/sw.js', { cache: 'no-store' }).then((r) => r.text())),
      '// another worker\n',
    )
  } finally {
    await browser.close()
    await server.close()
    await app.remove()
  }
})

test('bytes that do not match app-files.json are never cached; the list itself is the origin’s word', {
  timeout: 120_000,
}, async () => {
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
        'a listed size altered',
        new Map([
          ['app-files.json', Buffer.from(listText.replace(`"size": ${lazy.size}`, `"size": ${lazy.size + 1}`))],
        ]),
      ],
      ['the list is not a list', new Map([['app-files.json', Buffer.from('{"files":[{"path":"index.html"}]}')]])],
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

    // What the first install trusts: the origin. A file and its line altered together are one
    // consistent set as far as the worker can tell (sw.ts says so); releases take over from there.
    server.state.altered = new Map([
      [lazy.path, evil],
      [
        'app-files.json',
        Buffer.from(listText.replace(lazy.sha256, evilHash).replace(`"size": ${lazy.size}`, `"size": ${evil.length}`)),
      ],
    ])
    const context = await browser.newContext()
    try {
      const page = await context.newPage()
      await page.goto(`${server.origin}/`)
      await page.waitForFunction(() => document.body.dataset.ready === 'yes')
      assert.equal((await settle(page)).active, true, 'a consistent set from the origin installs')
    } finally {
      await context.close()
    }
  } finally {
    await browser.close()
    await server.close()
    await app.remove()
  }
})

/** One line of app-files.json. */
interface AppFile {
  readonly path: string
  readonly sha256: string
  readonly size: number
}

async function appFiles(dir: string): Promise<AppFile[]> {
  return (JSON.parse(await readFile(join(dir, 'app-files.json'), 'utf8')) as { files: AppFile[] }).files
}

/** Asks the browser to check for a new worker script; returns the new worker's final state, or null when there is none. */
function checkForWorker(page: Page, activate: boolean) {
  return page.evaluate(async (activate) => {
    const reg = await navigator.serviceWorker.getRegistration()
    if (!reg) throw new Error('no registration')
    await reg.update()
    const next = reg.installing ?? reg.waiting
    if (!next) return null
    const reach = (states: string[]) =>
      states.includes(next.state)
        ? Promise.resolve()
        : new Promise<void>((resolve) =>
            next.addEventListener('statechange', () => {
              if (states.includes(next.state)) resolve()
            }),
          )
    await reach(['installed', 'redundant'])
    if (next.state === 'redundant') return 'redundant'
    if (!activate) return next.state
    // Activated means its activate handler (which deletes old precaches) has finished.
    const activated = reach(['activated'])
    next.postMessage({ type: 'skip-waiting' })
    await activated
    return next.state
  }, activate)
}

const precacheNames = (page: Page) =>
  page.evaluate(async () => (await caches.keys()).filter((n) => n.startsWith('murmur-app-')))

/**
 * Writes `files` of `dir` into a release cache and makes it current, as engine/releases.ts does
 * once a release is verified (the pointer's shape is its `CurrentPointer`).
 */
async function installRelease(page: Page, id: string, dir: string): Promise<void> {
  const files = (await appFiles(dir)).filter((f) => f.path !== 'sw.js')
  const withBytes = await Promise.all(
    files.map(async (f) => ({ ...f, body: (await readFile(join(dir, f.path))).toString('base64') })),
  )
  await page.evaluate(
    async ({ id, files }) => {
      const cache = await caches.open(`murmur-release-${id}`)
      for (const f of files) {
        const bytes = Uint8Array.from(atob(f.body), (c) => c.charCodeAt(0))
        await cache.put(`/${f.path}`, new Response(bytes, { headers: { 'Content-Type': f.type } }))
      }
      const pointer = {
        id,
        entry: '/index.html',
        files: files.map((f) => ({ path: `/${f.path}`, sha256: f.sha256, size: f.size })),
      }
      await (await caches.open('murmur-current')).put('/__murmur/current', new Response(JSON.stringify(pointer)))
    },
    { id, files: withBytes.map((f) => ({ ...f, type: contentTypeOf(f.path) })) },
  )
}

test('a new build is no new worker: its files run once they arrive as a release', { timeout: 120_000 }, async () => {
  const v1 = await buildFixture()
  const v2 = await buildFixture({ lazy: 'version 2' })
  const server = await serveApp(v1.out)
  const browser = await launchChromium()
  try {
    const sw1 = await readFile(join(v1.out, 'sw.js'))
    assert.deepEqual(await readFile(join(v2.out, 'sw.js')), sw1, 'sw.js does not depend on the app build')
    assert.notDeepEqual(await appFiles(v2.out), await appFiles(v1.out))

    const page = await browser.newPage()
    await page.goto(`${server.origin}/`)
    await appRan(page)
    await settle(page)
    const before = await precacheNames(page)
    assert.equal(before.length, 1)

    server.state.dir = v2.out
    assert.equal(await checkForWorker(page, true), null, 'the same worker script: nothing to install')
    await page.reload()
    await appRan(page) // still version 1: the origin's new build does not reach the page
    assert.deepEqual(await precacheNames(page), before)

    await installRelease(page, 'two', v2.out)
    await page.reload()
    await appRan(page, 'version 2')

    server.state.offline = true
    await page.reload()
    await appRan(page, 'version 2') // from the release cache, offline
  } finally {
    await browser.close()
    await server.close()
    await v1.remove()
    await v2.remove()
  }
})

test('a changed worker script is a new worker; once it takes over, the old precache is gone', {
  timeout: 120_000,
}, async () => {
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

    // The origin serves a new build and a worker script with other bytes (and lists them).
    server.state.dir = v2.out
    const sw = Buffer.from(`${await readFile(join(v2.out, 'sw.js'), 'utf8')}\n// another worker\n`)
    const list = (await appFiles(v2.out)).map((f) =>
      f.path === 'sw.js' ? { ...f, sha256: createHash('sha256').update(sw).digest('hex'), size: sw.length } : f,
    )
    server.state.altered = new Map([
      ['sw.js', sw],
      ['app-files.json', Buffer.from(JSON.stringify({ files: list }))],
    ])
    const page = await context.newPage()
    await first.close()
    await page.goto(`${server.origin}/`)
    await appRan(page) // still version 1, from the cache
    assert.equal(await checkForWorker(page, true), 'activated')
    const names = await precacheNames(page)
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

test('a cached file altered after caching is never served', { timeout: 120_000 }, async () => {
  const app = await buildFixture()
  const server = await serveApp(app.out)
  const browser = await launchChromium()
  try {
    const lazy = (await appFiles(app.out)).find((f) => f.path.startsWith('assets/lazy-'))
    assert.ok(lazy)
    const page = await browser.newPage()
    await page.goto(`${server.origin}/`)
    await appRan(page)
    await settle(page)
    await page.waitForFunction(() => navigator.serviceWorker.controller !== null)
    const alter = (where: string) =>
      page.evaluate(
        async ({ where, path }) => {
          const name =
            where === 'release' ? 'murmur-release-r1' : (await caches.keys()).find((n) => n.startsWith('murmur-app-'))
          const cache = await caches.open(name as string)
          await cache.put(
            path,
            new Response('export const lazy = () => "evil"\n', { headers: { 'Content-Type': 'text/javascript' } }),
          )
        },
        { where, path: `/${lazy.path}` },
      )
    const fetchLazy = () =>
      page.evaluate(async (path) => {
        const r = await fetch(path)
        return { status: r.status, text: await r.text(), csp: r.headers.get('content-security-policy') }
      }, `/${lazy.path}`)
    const good = await readFile(join(app.out, lazy.path), 'utf8')

    for (const where of ['precache', 'release']) {
      if (where === 'release') {
        await installRelease(page, 'r1', app.out)
        await page.reload()
        await appRan(page)
      }
      await alter(where)
      // Offline, no other cache holds those bytes (the release is the same build: the precache does).
      server.state.offline = true
      const offline = await fetchLazy()
      if (where === 'release') assert.equal(offline.text, good, 'the precache copy with the same hash is served')
      else {
        assert.equal(offline.status, 503, where)
        assert.match(offline.text, /not the file this version of the app lists/)
      }
      assert.equal(offline.csp, APP_CSP)
      await page.reload()
      await page.waitForFunction(() => document.body.dataset.ready === 'yes')
      assert.notEqual(await page.evaluate(() => document.body.dataset.lazy), 'evil', where)
      // Online: a copy with the listed hash (the origin's, or the one just served) heals the entry.
      server.state.offline = false
      assert.equal((await fetchLazy()).text, good, where)
      server.state.offline = true
      assert.equal((await fetchLazy()).text, good, `${where}: healed`)
      server.state.offline = false
    }
  } finally {
    await browser.close()
    await server.close()
    await app.remove()
  }
})
