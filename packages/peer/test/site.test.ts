/** The peer's HTTP handler on a real loopback server, serving a small app folder made here. */
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer, type IncomingHttpHeaders, request } from 'node:http'
import type { AddressInfo } from 'node:net'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { formatFeedId } from '@murmur/core'
import { APP_CSP } from '@murmur/web/headers'
import { defaultAppDir, pathSegments, type SiteOptions, siteHandler } from '../src/site.js'

const ID = new Uint8Array(32).fill(7)

interface Reply {
  status: number
  headers: IncomingHttpHeaders
  body: string
}

/** A server with the site handler on 127.0.0.1 and a request function that sends the path as given. */
async function site(opts: Omit<SiteOptions, 'id' | 'tls'>) {
  const server = createServer(siteHandler({ id: ID, tls: false, ...opts }))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  const replies: Reply[] = []
  const get = (path: string, init: { method?: string; headers?: Record<string, string> } = {}) =>
    new Promise<Reply>((resolve, reject) => {
      // http.request sends `path` byte for byte: no URL parsing that would resolve `..` first.
      const req = request(
        { host: '127.0.0.1', port, path, method: init.method ?? 'GET', headers: init.headers },
        (res) => {
          let body = ''
          res.setEncoding('utf8')
          res.on('data', (d: string) => {
            body += d
          })
          res.on('end', () => {
            const reply = { status: res.statusCode ?? 0, headers: res.headers, body }
            replies.push(reply)
            resolve(reply)
          })
        },
      )
      req.on('error', reject)
      req.end()
    })
  const close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    })
  return { port, get, replies, close }
}

/** A temporary folder holding `app/` (a built app) and, beside it, a secret no request may reach. */
async function appFolder() {
  const root = await mkdtemp(join(tmpdir(), 'murmur-site-'))
  const app = join(root, 'app')
  await mkdir(join(app, 'assets'), { recursive: true })
  const files: Record<string, string> = {
    'index.html':
      '<!doctype html><html lang="en"><title>app</title><script type="module" src="/assets/index-AbC123.js"></script></html>',
    'assets/index-AbC123.js': 'console.log("app")\n',
    'assets/index-DeF456.css': 'body{color:#222}\n',
    'assets/logo-GhI789.svg': '<svg xmlns="http://www.w3.org/2000/svg"/>',
    'sw.js': 'self.addEventListener("fetch",()=>{})\n',
    'app-files.json': '{"files":[]}\n',
    'robots.txt': 'User-agent: *\n',
    '.hidden': 'not for the web\n',
  }
  for (const [path, body] of Object.entries(files)) await writeFile(join(app, path), body)
  await writeFile(join(root, 'secret.txt'), 'SECRET\n')
  return { app, files, remove: () => rm(root, { recursive: true, force: true }) }
}

test('serves the app files with their content types and caching', async () => {
  const dir = await appFolder()
  const s = await site({ appDir: dir.app })
  try {
    const cases: [string, string, string, string][] = [
      ['/', 'index.html', 'text/html; charset=utf-8', 'no-cache'],
      ['/index.html', 'index.html', 'text/html; charset=utf-8', 'no-cache'],
      ['/sw.js', 'sw.js', 'text/javascript; charset=utf-8', 'no-cache'],
      ['/app-files.json', 'app-files.json', 'application/json', 'no-cache'],
      ['/robots.txt', 'robots.txt', 'text/plain; charset=utf-8', 'no-cache'],
      ['/assets/index-AbC123.js', 'assets/index-AbC123.js', 'text/javascript; charset=utf-8', 'immutable'],
      ['/assets/index-DeF456.css?v=1', 'assets/index-DeF456.css', 'text/css; charset=utf-8', 'immutable'],
      ['/assets/logo-GhI789.svg', 'assets/logo-GhI789.svg', 'image/svg+xml', 'immutable'],
    ]
    for (const [path, file, type, cache] of cases) {
      const r = await s.get(path)
      assert.equal(r.status, 200, path)
      assert.equal(r.body, dir.files[file], path)
      assert.equal(r.headers['content-type'], type, path)
      assert.equal(r.headers['content-length'], String(Buffer.byteLength(dir.files[file] as string)), path)
      assert.match(
        r.headers['cache-control'] ?? '',
        cache === 'immutable' ? /max-age=31536000, immutable/ : /^no-cache$/,
      )
      assert.match(r.headers.etag ?? '', /^"[A-Za-z0-9_-]{27}"$/, path)
      assert.equal(r.headers['x-content-type-options'], 'nosniff')
    }
    // The ETag is the content's hash, so a rebuild with the same bytes keeps it.
    const index = await s.get('/')
    const hash = createHash('sha256')
      .update(dir.files['index.html'] as string)
      .digest('base64url')
    assert.equal(index.headers.etag, `"${hash.slice(0, 27)}"`)
  } finally {
    await s.close()
    await dir.remove()
  }
})

test('revalidation answers 304, HEAD answers headers only', async () => {
  const dir = await appFolder()
  const s = await site({ appDir: dir.app })
  try {
    const first = await s.get('/sw.js')
    const etag = first.headers.etag as string
    for (const ifNoneMatch of [etag, `W/${etag}`, `"other", ${etag}`, '*']) {
      const again = await s.get('/sw.js', { headers: { 'If-None-Match': ifNoneMatch } })
      assert.equal(again.status, 304, ifNoneMatch)
      assert.equal(again.body, '')
      assert.equal(again.headers.etag, etag)
      assert.equal(again.headers['cache-control'], 'no-cache')
    }
    const changed = await s.get('/sw.js', { headers: { 'If-None-Match': '"something-else"' } })
    assert.equal(changed.status, 200)
    assert.equal(changed.body, dir.files['sw.js'])

    const head = await s.get('/assets/index-AbC123.js', { method: 'HEAD' })
    assert.equal(head.status, 200)
    assert.equal(head.body, '')
    assert.equal(head.headers['content-type'], 'text/javascript; charset=utf-8')
    assert.equal(
      head.headers['content-length'],
      String(Buffer.byteLength(dir.files['assets/index-AbC123.js'] as string)),
    )
    assert.match(head.headers['cache-control'] ?? '', /immutable/)
    assert.equal((await s.get('/profile/x', { method: 'HEAD' })).headers['content-type'], 'text/html; charset=utf-8')

    const post = await s.get('/', { method: 'POST' })
    assert.equal(post.status, 405)
    assert.equal(post.headers.allow, 'GET, HEAD')
  } finally {
    await s.close()
    await dir.remove()
  }
})

test('routes of the app get index.html; missing files are 404', async () => {
  const dir = await appFolder()
  const s = await site({ appDir: dir.app })
  try {
    for (const path of ['/profile/abc', '/settings/', '/thread/x?y=1', '/assets', '/index.html/']) {
      const r = await s.get(path)
      assert.equal(r.status, 200, path)
      assert.equal(r.body, dir.files['index.html'], path)
      assert.equal(r.headers['cache-control'], 'no-cache', path)
    }
    for (const path of [
      '/missing.js',
      '/assets/index-Gone00.js',
      '/favicon.ico',
      '/.hidden',
      '/.well-known/other.json',
    ]) {
      const r = await s.get(path)
      assert.equal(r.status, 404, path)
      assert.doesNotMatch(r.body, /app|not for the web/, path)
    }
    const wellKnown = await s.get('/.well-known/murmur.json')
    assert.equal(wellKnown.status, 200)
    assert.equal(wellKnown.headers['content-type'], 'application/json')
    assert.deepEqual(JSON.parse(wellKnown.body), { id: formatFeedId(ID), replicate: '/murmur' })
  } finally {
    await s.close()
    await dir.remove()
  }
})

test('no request reaches a file outside the app folder', async () => {
  const dir = await appFolder()
  const s = await site({ appDir: dir.app })
  try {
    const attempts = [
      '/../secret.txt',
      '/assets/../../secret.txt',
      '/./index.html',
      '/%2e%2e/secret.txt',
      '/%2E%2E/secret.txt',
      '/assets/%2e%2e/%2e%2e/secret.txt',
      '/..%2fsecret.txt',
      '/assets%2F..%2F..%2Fsecret.txt',
      '/..%5csecret.txt',
      '/..\\secret.txt',
      '/index.html%00.js',
      '/%00',
      '/%zz',
      '/%c0%ae%c0%ae/secret.txt',
      'secret.txt',
    ]
    for (const path of attempts) {
      const r = await s.get(path)
      assert.ok(r.status === 400 || r.status === 404, `${path} answered ${r.status}`)
      assert.doesNotMatch(r.body, /SECRET/, path)
    }
    assert.equal((await s.get('/../secret.txt')).status, 400)
    assert.equal((await s.get('/%2e%2e/secret.txt')).status, 400)
    assert.equal((await s.get('/..%2fsecret.txt')).status, 400)
    assert.equal((await s.get('/index.html%00.js')).status, 400)

    // A raw NUL never gets past Node's HTTP parser.
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = connect(s.port, '127.0.0.1', () =>
        socket.end('GET /a\0/../secret.txt HTTP/1.1\r\nHost: x\r\n\r\n'),
      )
      let text = ''
      socket.setEncoding('latin1')
      socket.on('data', (d: string) => {
        text += d
      })
      socket.on('end', () => resolve(text))
      socket.on('error', reject)
    })
    assert.match(raw, /^HTTP\/1\.1 400 /)
    assert.doesNotMatch(raw, /SECRET/)
  } finally {
    await s.close()
    await dir.remove()
  }
})

test('pathSegments decodes each segment and refuses every way out', () => {
  assert.deepEqual(pathSegments('/'), [''])
  assert.deepEqual(pathSegments('/assets/a%20b.js?x=../..'), ['assets', 'a b.js'])
  assert.deepEqual(pathSegments('/caf%C3%A9/'), ['café', ''])
  for (const bad of ['', 'x', '/..', '/a/./b', '/%2E%2e', '/a%2fb', '/a%5Cb', '/a\\b', '/a%00', '/a\0', '/%e0%a4%a'])
    assert.equal(pathSegments(bad), undefined, bad)
})

test('until the app is built, / is the placeholder page that says how to build it', async () => {
  const empty = await mkdtemp(join(tmpdir(), 'murmur-site-'))
  for (const appDir of [empty, undefined]) {
    const s = await site({ appDir })
    try {
      const page = await s.get('/', { headers: { Host: 'peer.example:8420' } })
      assert.equal(page.status, 200)
      assert.equal(page.headers['content-type'], 'text/html; charset=utf-8')
      assert.match(page.body, /npm run build/)
      assert.ok(page.body.includes(formatFeedId(ID)))
      assert.ok(page.body.includes('ws://peer.example:8420/murmur'))
      assert.equal((await s.get('/profile/x')).status, 404)
      assert.equal((await s.get('/sw.js')).status, 404)
      assert.equal((await s.get('/.well-known/murmur.json')).status, 200)
    } finally {
      await s.close()
    }
  }
  await rm(empty, { recursive: true, force: true })
})

test('every response carries the app CSP', async () => {
  const dir = await appFolder()
  const s = await site({ appDir: dir.app })
  try {
    const probes = ['/', '/profile/x', '/assets/index-AbC123.js', '/missing.js', '/../x', '/.well-known/murmur.json']
    for (const path of probes) await s.get(path)
    await s.get('/', { method: 'DELETE' })
    await s.get('/', { method: 'HEAD' })
    await s.get('/sw.js', { headers: { 'If-None-Match': '*' } })
    assert.deepEqual(new Set(s.replies.map((r) => r.status)), new Set([200, 304, 400, 404, 405]))
    for (const r of s.replies) {
      assert.equal(r.headers['content-security-policy'], APP_CSP)
      assert.equal(r.headers['x-content-type-options'], 'nosniff')
      assert.equal(r.headers['referrer-policy'], 'no-referrer')
    }
    // Scripts only from the origin: no inline code, no eval, no WebAssembly compilation.
    assert.match(APP_CSP, /script-src 'self';/)
    assert.doesNotMatch(APP_CSP, /'unsafe-inline'|'unsafe-eval'|'wasm-unsafe-eval'/)
  } finally {
    await s.close()
    await dir.remove()
  }
})

test('the default app folder is @murmur/web/dist/app', () => {
  const dir = defaultAppDir()
  assert.ok(dir?.replaceAll('\\', '/').endsWith('/web/dist/app/'), dir)
})
