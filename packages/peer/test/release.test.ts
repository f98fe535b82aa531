import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { test } from 'node:test'
import { equalBytes, matchesCid, parseCid } from '@murmur/core'
import { openLocal } from '../src/local.js'
import { BIN, murmur, murmurJson, type Run, start, stop, tempData } from './helpers.js'

interface Published {
  id: string
  seq: number
  content: {
    app: string
    version: string
    entry: string
    worker?: string
    notes?: string
    prev?: string
    files: { path: string; link: string; size: number; type: string }[]
  }
}

interface Row {
  id: string
  app: string
  version: string
  files: number
  held: number
  notes: string | null
  prev: string | null
}

/** Polls `check` until it returns a value, at most `timeoutMs`. */
async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = await check()
    if (v !== undefined) return v
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise((r) => setTimeout(r, 100))
  }
}

/** Writes `files` (path -> text) under `dir`. */
async function writeApp(dir: string, files: Record<string, string>): Promise<void> {
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true })
    await writeFile(join(dir, path), text)
  }
}

const APP = {
  'index.html': '<!doctype html><title>app</title><script type="module" src="/assets/app.js"></script>',
  'sw.js': 'self.addEventListener("fetch", () => {})',
  'assets/app.js': 'console.log("v1")',
  'assets/app.css': 'body { color: black }',
}

async function list(data: string, feed?: string): Promise<Row[]> {
  const r = await murmurJson<{ releases: Row[] }>(['release', 'list', ...(feed ? [feed] : []), '--data', data])
  return r.releases
}

/** Checks that the store in `data` holds every file of `release` as a blob with the bytes of `dir`. */
async function assertBlobs(data: string, release: Published['content'], dir: string): Promise<void> {
  const local = await openLocal(data)
  try {
    for (const f of release.files) {
      const bytes = await local.store.blobs.get(parseCid(f.link))
      assert.ok(bytes, `blob of ${f.path}`)
      const file = new Uint8Array(await readFile(join(dir, f.path)))
      assert.ok(equalBytes(bytes, file), `bytes of ${f.path}`)
      assert.ok(matchesCid(parseCid(f.link), file), `sha-256 of ${f.path}`)
      assert.equal(f.size, file.length)
    }
  } finally {
    await local.close()
  }
}

test('release publish stores a folder as blobs and a release; list shows it; a new build links the previous one', async () => {
  const d = await tempData()
  try {
    await murmurJson(['init', '--data', d.dir])
    const dir = join(d.dir, 'app')
    await writeApp(dir, { ...APP, '.env': 'SECRET=1', '.git/config': 'x' })
    assert.deepEqual(await list(d.dir), [])
    const first = await murmurJson<Published>(['release', 'publish', dir, '--notes', 'first', '--data', d.dir])
    const c = first.content
    assert.equal(c.app, 'murmur-web')
    assert.match(c.version, /^\d{4}\.\d{1,2}\.\d{1,2}\+[0-9a-f]{8}$/, 'default version: date and hash')
    assert.equal(c.entry, 'index.html')
    assert.equal(c.worker, 'sw.js')
    assert.equal(c.prev, undefined)
    assert.deepEqual(
      c.files.map((f) => [f.path, f.type]),
      [
        ['assets/app.css', 'text/css; charset=utf-8'],
        ['assets/app.js', 'text/javascript; charset=utf-8'],
        ['index.html', 'text/html; charset=utf-8'],
        ['sw.js', 'text/javascript; charset=utf-8'],
      ],
      'every file, sorted, dot-files skipped, with MIME types',
    )
    await assertBlobs(d.dir, c, dir)

    await writeFile(join(dir, 'assets/app.js'), 'console.log("v2")')
    const second = await murmurJson<Published>([
      'release',
      'publish',
      dir,
      '--version',
      '1.1.0',
      '--app',
      'murmur-web',
      '--data',
      d.dir,
    ])
    assert.equal(second.content.prev, first.id, 'prev links the previous release of the app')
    assert.equal(second.content.version, '1.1.0')
    await assertBlobs(d.dir, second.content, dir)
    // Another app by the same author starts its own chain.
    const other = await murmurJson<Published>(['release', 'publish', dir, '--app', 'other', '--data', d.dir])
    assert.equal(other.content.prev, undefined)

    const rows = await list(d.dir)
    assert.deepEqual(
      rows.map((r) => [r.app, r.version, r.files, r.held, r.notes, r.prev]),
      [
        ['other', other.content.version, 4, 4, null, null],
        ['murmur-web', '1.1.0', 4, 4, null, first.id],
        ['murmur-web', c.version, 4, 4, 'first', null],
      ],
      'newest first',
    )
    const only = await murmurJson<{ releases: Row[] }>(['release', 'list', '--app', 'murmur-web', '--data', d.dir])
    assert.deepEqual(
      only.releases.map((r) => r.id),
      [second.id, first.id],
    )
    const text = await murmur(['release', 'list', '--data', d.dir])
    assert.equal(text.code, 0)
    assert.match(text.stdout, /murmur-web 1\.1\.0 · .* · 4 files, \d+ B\n {2}bafy/)
    assert.match(text.stdout, /\n {2}first\n/)
  } finally {
    await d.remove()
  }
})

test('release errors are one line with a meaningful exit code, and store nothing', async () => {
  const d = await tempData()
  try {
    await murmurJson(['init', '--data', d.dir])
    const dir = join(d.dir, 'app')
    await writeApp(dir, APP)
    const missing = await murmur(['release', 'publish', join(d.dir, 'nope'), '--data', d.dir])
    assert.equal(missing.code, 1)
    assert.match(missing.stderr, /there is no folder .*nope/)
    const notDir = await murmur(['release', 'publish', join(dir, 'index.html'), '--data', d.dir])
    assert.equal(notDir.code, 1)
    assert.match(notDir.stderr, /is not a folder/)
    await writeFile(join(dir, 'assets', 'huge.js'), Buffer.alloc(5 * 1024 * 1024 + 1))
    const huge = await murmur(['release', 'publish', dir, '--data', d.dir])
    assert.equal(huge.code, 1)
    assert.match(huge.stderr, /assets\/huge\.js is 5242881 bytes: .* a blob is at most 5242880 bytes \(5\.0 MiB\)/)
    await writeFile(join(dir, 'assets', 'huge.js'), '')
    const entry = await murmur(['release', 'publish', dir, '--entry', 'main.html', '--data', d.dir])
    assert.equal(entry.code, 2)
    assert.match(entry.stderr, /has no main\.html: name the page that starts the app with --entry/)
    const app = await murmur(['release', 'publish', dir, '--app', 'Not An App', '--data', d.dir])
    assert.equal(app.code, 2)
    assert.match(app.stderr, /release\.app must be a short lowercase name/)
    const version = await murmur(['release', 'publish', dir, '--version', 'v 1', '--data', d.dir])
    assert.equal(version.code, 2)
    await writeFile(join(dir, 'a b.js'), '')
    const name = await murmur(['release', 'publish', dir, '--data', d.dir])
    assert.equal(name.code, 1)
    assert.match(name.stderr, /a b\.js: a release lists only paths of/)
    const many = join(d.dir, 'many')
    await writeApp(many, Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`assets/f${i}.js`, `${i}`])))
    await writeFile(join(many, 'index.html'), '')
    const tooMany = await murmur(['release', 'publish', many, '--data', d.dir])
    assert.equal(tooMany.code, 1)
    assert.match(tooMany.stderr, /101 files are too many for one release \(a release is a message of at most 8 KiB/)
    const usage = await murmur(['release', 'frobnicate', '--data', d.dir])
    assert.equal(usage.code, 2)
    assert.match(usage.stderr, /usage: murmur release publish DIR/)
    const noDir = await murmur(['release', 'publish', '--data', d.dir])
    assert.equal(noDir.code, 2)
    const badFeed = await murmur(['release', 'list', 'nobody', '--data', d.dir])
    assert.equal(badFeed.code, 2)
    for (const r of [missing, notDir, huge, entry, app, version, name, tooMany, usage, noDir, badFeed]) {
      assert.equal(r.stderr.trim().split('\n')[0]?.startsWith('murmur: '), true, r.stderr)
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace')
    }
    assert.deepEqual(await list(d.dir), [], 'nothing was published')
    const local = await openLocal(d.dir)
    try {
      let blobs = 0
      for await (const _ of local.store.blobs.list()) blobs++
      assert.equal(blobs, 0, 'a refused release stores no blobs')
    } finally {
      await local.close()
    }
  } finally {
    await d.remove()
  }
})

/** Runs `murmur ...args` in the working folder `cwd`. */
function murmurIn(cwd: string, args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (b) => {
      stdout += b
    })
    child.stderr.on('data', (b) => {
      stderr += b
    })
    child.on('exit', (code) => resolve({ code, stdout, stderr }))
  })
}

test('serve publishes the app it serves once per build; release publish reaches a running serve', async () => {
  const d = await tempData()
  try {
    await murmurJson(['init', '--data', d.dir])
    const dir = join(d.dir, 'app')
    const serve = ['serve', '--port', '0', '--app', dir, '--data', d.dir]
    const ready = /murmur is serving (http:\/\/\S+)/

    // Not built: serve runs, says so in one line, publishes nothing.
    const none = await start(serve, ready)
    try {
      assert.match(none.output(), /the web app is not built \(no .*index\.html\): no app release published/)
      assert.deepEqual(await list(d.dir), [])
    } finally {
      assert.equal(await stop(none.child), 0)
    }

    await writeApp(dir, APP)
    const a = await start(serve, ready)
    let first: Row
    try {
      assert.match(a.output(), /published the web app as release \S+ \(bafy\w+\)/)
      const rows = await list(d.dir)
      assert.equal(rows.length, 1)
      first = rows[0] as Row
      assert.equal(first.app, 'murmur-web')
      assert.equal(first.files, 4)
      // The HTTP side serves the same folder, as before.
      const res = await fetch(new URL('assets/app.js', a.match[1]))
      assert.equal(res.status, 200)
      assert.equal(await res.text(), APP['assets/app.js'])
    } finally {
      assert.equal(await stop(a.child), 0)
    }

    // Same build: no new release.
    const b = await start(serve, ready)
    try {
      assert.doesNotMatch(b.output(), /published the web app/)
      assert.equal((await list(d.dir)).length, 1)
      // Through the running serve's control socket, with a path relative to another folder.
      await writeApp(join(d.dir, 'other'), { 'index.html': 'other app' })
      const r = await murmurIn(d.dir, ['release', 'publish', 'other', '--app', 'other', '--json', '--data', d.dir])
      assert.equal(r.code, 0, r.stderr)
      const other = JSON.parse(r.stdout) as Published
      assert.deepEqual(
        other.content.files.map((f) => f.path),
        ['index.html'],
      )
      assert.equal(other.content.worker, undefined, 'no sw.js, no worker')
    } finally {
      assert.equal(await stop(b.child), 0)
    }

    // A new build: a new release that links the first.
    await writeFile(join(dir, 'assets/app.js'), 'console.log("v2")')
    const c = await start(serve, ready)
    try {
      assert.match(c.output(), /published the web app as release/)
      const rows = await list(d.dir)
      assert.deepEqual(
        rows.map((x) => [x.app, x.prev]),
        [
          ['murmur-web', first.id],
          ['other', null],
          ['murmur-web', null],
        ],
      )
    } finally {
      assert.equal(await stop(c.child), 0)
    }
  } finally {
    await d.remove()
  }
})

test('a peer that follows the publisher gets its release and the release blobs', async () => {
  const a = await tempData()
  const b = await tempData()
  try {
    const { id: aId } = await murmurJson<{ id: string }>(['init', '--data', a.dir])
    await murmurJson(['init', '--data', b.dir])
    const dir = join(a.dir, 'app')
    // A file larger than one frame, so the blob moves in chunks.
    await writeApp(dir, {
      ...APP,
      'assets/big.js': `/* ${createHash('sha256').update('x').digest('hex').repeat(4000)} */`,
    })
    const published = await murmurJson<Published>(['release', 'publish', dir, '--data', a.dir])
    // A serves the folder it published: the same build, so no second release.
    const A = await start(['serve', '--port', '0', '--json', '--app', dir, '--data', a.dir], /"ws": "(ws:\/\/[^"]+)"/)
    try {
      await murmurJson(['follow', aId, '--data', b.dir])
      const B = await start(
        ['serve', '--port', '0', '--peer', A.match[1] as string, '--data', b.dir],
        /murmur is serving/,
      )
      try {
        const got = await eventually(async () => {
          const [r] = await list(b.dir, aId)
          return r && r.held === r.files ? r : undefined
        })
        assert.equal(got.id, published.id)
        assert.equal((await list(b.dir, aId)).length, 1)
        assert.equal(got.files, 5)
      } finally {
        assert.equal(await stop(B.child), 0)
      }
    } finally {
      assert.equal(await stop(A.child), 0)
    }
    await assertBlobs(b.dir, published.content, dir)
  } finally {
    await a.remove()
    await b.remove()
  }
})
