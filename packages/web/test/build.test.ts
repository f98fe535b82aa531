/** The Vite build (vite.config.ts): the files it writes, app-files.json, sw.js, and reproducibility. */
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { readdir, readFile } from 'node:fs/promises'
import { join, relative, sep } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { Script } from 'node:vm'
import { buildFixture } from './app-fixture.js'

interface AppFile {
  path: string
  sha256: string
  size: number
}

const sha256Hex = (bytes: Uint8Array | string) => createHash('sha256').update(bytes).digest('hex')

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true })
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)).split(sep).join('/'))
    .sort()
}

/** Checks that app-files.json lists exactly the other files of `out`, sorted, with their hashes and sizes. */
async function checkList(out: string): Promise<AppFile[]> {
  const { files } = JSON.parse(await readFile(join(out, 'app-files.json'), 'utf8')) as { files: AppFile[] }
  assert.deepEqual(
    files.map((f) => f.path),
    (await filesUnder(out)).filter((p) => p !== 'app-files.json'),
    'every file but the list itself is listed, in order',
  )
  for (const f of files) {
    const bytes = await readFile(join(out, f.path))
    assert.deepEqual(Object.keys(f), ['path', 'sha256', 'size'])
    assert.equal(f.size, bytes.length, f.path)
    assert.equal(f.sha256, sha256Hex(bytes), f.path)
  }
  return files
}

test('the build writes index.html, assets, sw.js and a matching app-files.json', async () => {
  const app = await buildFixture()
  try {
    const files = await checkList(app.out)
    const paths = files.map((f) => f.path)
    for (const p of ['index.html', 'sw.js', 'robots.txt']) assert.ok(paths.includes(p), p)
    assert.ok(
      paths.every(
        (p) => ['index.html', 'sw.js', 'robots.txt'].includes(p) || /^assets\/[\w-]+-[\w-]{8}\.(js|css)$/.test(p),
      ),
      `everything else is content-hashed under assets/: ${paths.join(', ')}`,
    )
    assert.ok(!paths.some((p) => p.endsWith('.map')), 'no source maps')

    // No inline script, style or handler: the page runs under script-src/style-src 'self'.
    const html = await readFile(join(app.out, 'index.html'), 'utf8')
    for (const tag of html.match(/<script\b[^>]*>/g) ?? []) assert.match(tag, /\bsrc="\/assets\//, tag)
    assert.doesNotMatch(html, /<script\b[^>]*>[^<]/, 'no inline script body')
    assert.doesNotMatch(html, /<style\b|\sstyle=|\son\w+=/i)
    assert.match(html, /<link rel="stylesheet"[^>]* href="\/assets\/[^"]+\.css"/)

    // The worker is its own ES module file; the lazy import its own chunk.
    const js = await Promise.all(paths.filter((p) => p.endsWith('.js')).map((p) => readFile(join(app.out, p), 'utf8')))
    assert.ok(
      js.some(
        (code) =>
          /new Worker\(new URL\([^)]*\/assets\/worker-[\w-]+\.js/.test(code) && /type:\s*[`'"]module/.test(code),
      ),
      'the page starts the worker from its own file as a module',
    )
    assert.ok(paths.some((p) => p.startsWith('assets/lazy-')))
    assert.ok(!js.some((code) => code.includes('sourceMappingURL')))
    for (const code of js) assert.ok(!code.includes(app.root), 'no absolute path in the output')

    // sw.js is one classic script (a module's import/export/import.meta would not parse) that
    // holds nothing of the build (sw.test.ts: another build gives the same sw.js), and is small.
    const sw = await readFile(join(app.out, 'sw.js'), 'utf8')
    assert.doesNotThrow(() => new Script(sw, { filename: 'sw.js' }))
    for (const f of files) assert.ok(!sw.includes(f.sha256), `sw.js holds no hash of the build (${f.path})`)
    assert.ok(sw.length < 8 * 1024, `sw.js is a small bootstrap (${sw.length} bytes)`)
    assert.ok(sw.includes("script-src 'self'"), 'sw.js holds the CSP')
  } finally {
    await app.remove()
  }
})

test('the build is reproducible: the same sources in another folder give the same bytes', async () => {
  const a = await buildFixture()
  const b = await buildFixture()
  try {
    assert.notEqual(a.root, b.root)
    const list = await readFile(join(a.out, 'app-files.json'), 'utf8')
    assert.equal(await readFile(join(b.out, 'app-files.json'), 'utf8'), list)
  } finally {
    await a.remove()
    await b.remove()
  }
})

test('the built app (npm run build) matches its app-files.json', async (t) => {
  const out = fileURLToPath(new URL('../app/', import.meta.url))
  if (!existsSync(join(out, 'app-files.json'))) {
    t.skip('packages/web/dist/app is not built: `npm run build` builds it')
    return
  }
  const files = await checkList(out)
  const paths = files.map((f) => f.path)
  assert.ok(paths.includes('index.html') && paths.includes('sw.js'), paths.join(', '))
})
