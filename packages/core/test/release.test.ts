import assert from 'node:assert/strict'
import { test } from 'node:test'
import * as dagCbor from '@ipld/dag-cbor'
import { createSodiumEd25519 } from '../src/ed25519/sodium.js'
import {
  blobId,
  type CID,
  checkContent,
  contentOf,
  createMsg,
  decodeMsg,
  isReleasePath,
  keypairFromSeed,
  LIMITS,
  MAX_MSG_BYTES,
  type ReleaseContent,
  type ReleaseFile,
  utf8,
} from '../src/index.js'

const ed = createSodiumEd25519()
const alice = await keypairFromSeed(ed, new Uint8Array(32).fill(1))
const T = 1_760_000_000_000

const file = (path: string, type = 'text/javascript; charset=utf-8'): ReleaseFile => ({
  path,
  link: blobId(utf8(path)),
  size: path.length,
  type,
})

const base: ReleaseContent = {
  app: 'murmur-web',
  version: '2026.11.25+3f2a9c1d',
  files: [
    file('index.html', 'text/html; charset=utf-8'),
    file('sw.js'),
    file('assets/index-DtlGFwHx.js'),
    file('assets/index-OFGYYQcv.css', 'text/css; charset=utf-8'),
    file('app-files.json', 'application/json'),
  ],
  entry: 'index.html',
  worker: 'sw.js',
  notes: 'First release.',
}

/** Signs `content` as a release without core's encoder guarding it (to build bad ones). */
async function signRaw(content: unknown): Promise<Uint8Array> {
  const unsigned = dagCbor.encode({ author: alice.publicKey, seq: 1, prev: null, ts: T, type: 'release', content })
  const sig = await ed.sign(alice.seed, new Uint8Array([...utf8('murmur/msg/v1\0'), ...unsigned]))
  return new Uint8Array([0x82, ...unsigned, 0x58, 0x40, ...sig])
}

test('a release is a known type: valid ones sign, decode and read back typed', async () => {
  const first = await createMsg(ed, alice, undefined, { type: 'release', content: base, ts: T })
  const r = decodeMsg(first.bytes)
  assert.ok(r.ok)
  assert.deepEqual(
    contentOf(r.value, 'release')?.files.map((f) => f.path),
    base.files.map((f) => f.path),
  )
  const minimal: ReleaseContent = { app: 'x', version: '1', files: [file('a.html')], entry: 'a.html' }
  const second = await createMsg(
    ed,
    alice,
    { seq: 1, id: first.id },
    { type: 'release', content: { ...minimal, prev: first.id } },
  )
  assert.ok(decodeMsg(second.bytes).ok)
  // Extra keys are allowed, as in every content type (a newer app may add fields).
  assert.equal(checkContent('release', { ...base, signedBy: 'someone' }), undefined)
})

test('bad releases are rejected with a reason, whoever signed them', async () => {
  const msgLink = (await createMsg(ed, alice, undefined, { type: 'post', content: { text: 'x' } })).id
  const blob = blobId(new Uint8Array(1))
  const bad: [string, Record<string, unknown>][] = [
    ['no app', { ...base, app: undefined }],
    ['uppercase app', { ...base, app: 'Murmur' }],
    ['long app', { ...base, app: 'a'.repeat(65) }],
    ['app with a space', { ...base, app: 'murmur web' }],
    ['numeric version', { ...base, version: 1 }],
    ['long version', { ...base, version: '1'.repeat(LIMITS.versionLength + 1) }],
    ['version with a newline', { ...base, version: '1.0\n' }],
    ['no files', { ...base, files: [], entry: 'index.html', worker: undefined }],
    ['files not a list', { ...base, files: base.files[0] }],
    ['duplicate path', { ...base, files: [...base.files, file('sw.js')] }],
    ['file and folder', { ...base, files: [...base.files, file('assets')] }],
    ['leading slash', { ...base, files: [...base.files, file('/etc/passwd')] }],
    ['dot-dot', { ...base, files: [...base.files, file('assets/../../x.js')] }],
    ['dot segment', { ...base, files: [...base.files, file('./x.js')] }],
    ['dot-file', { ...base, files: [...base.files, file('.well-known/murmur.json')] }],
    ['empty segment', { ...base, files: [...base.files, file('assets//x.js')] }],
    ['trailing slash', { ...base, files: [...base.files, file('assets/')] }],
    ['backslash', { ...base, files: [...base.files, file('assets\\x.js')] }],
    ['percent escape', { ...base, files: [...base.files, file('a%2fb.js')] }],
    ['query', { ...base, files: [...base.files, file('a.js?x=1')] }],
    ['long path', { ...base, files: [...base.files, file(`${'a'.repeat(LIMITS.releasePathLength)}.js`)] }],
    ['message link', { ...base, files: [...base.files, { ...file('x.js'), link: msgLink }] }],
    ['string link', { ...base, files: [...base.files, { ...file('x.js'), link: blob.toString() }] }],
    ['negative size', { ...base, files: [...base.files, { ...file('x.js'), size: -1 }] }],
    ['fractional size', { ...base, files: [...base.files, { ...file('x.js'), size: 1.5 }] }],
    ['no type', { ...base, files: [...base.files, { path: 'x.js', link: blob, size: 1 }] }],
    ['type without slash', { ...base, files: [...base.files, file('x.js', 'javascript')] }],
    ['type with a newline', { ...base, files: [...base.files, file('x.js', 'text/html\r\nSet-Cookie: a=b')] }],
    ['entry not listed', { ...base, entry: 'main.html' }],
    ['no entry', { ...base, entry: undefined }],
    ['worker not listed', { ...base, worker: 'service-worker.js' }],
    ['long notes', { ...base, notes: 'x'.repeat(LIMITS.notesLength + 1) }],
    ['prev a blob', { ...base, prev: blob }],
    ['prev a string', { ...base, prev: msgLink.toString() }],
  ]
  for (const [name, content] of bad) {
    const clean = Object.fromEntries(Object.entries(content).filter(([, v]) => v !== undefined))
    assert.equal(typeof checkContent('release', clean), 'string', name)
    await assert.rejects(
      createMsg(ed, alice, undefined, { type: 'release', content: clean }),
      (e: Error & { code?: string }) => e.code === 'INVALID_ARGUMENT',
      name,
    )
    const r = decodeMsg(await signRaw(clean))
    assert.equal(!r.ok && r.code, 'bad-content', name)
  }
})

test('release paths: relative, no dot segments, URL-safe characters, bounded', () => {
  for (const p of ['index.html', 'sw.js', 'assets/index-DtlGFwHx.js', 'a/b/c/d.txt', 'x~y@z+1,2=3_-.js', 'noext'])
    assert.ok(isReleasePath(p), p)
  for (const p of ['', '/', '/a', 'a/', 'a//b', '.', '..', '../a', 'a/../b', '.env', 'a/.git/x', 'a b', 'a\\b', 'é.js'])
    assert.equal(isReleasePath(p), false, JSON.stringify(p))
  assert.equal(isReleasePath(3), false)
  assert.ok(isReleasePath('a'.repeat(LIMITS.releasePathLength)))
  assert.equal(isReleasePath('a'.repeat(LIMITS.releasePathLength + 1)), false)
})

/** The most files of the given shape one release message holds (8 KiB in all, with a prev link). */
async function mostFiles(make: (i: number) => ReleaseFile, extra: Partial<ReleaseContent> = {}): Promise<number> {
  const prev = (await createMsg(ed, alice, undefined, { type: 'post', content: { text: '' } })).id as CID
  const head = { seq: Number.MAX_SAFE_INTEGER - 1, id: prev }
  let n = 0
  for (;;) {
    const files = Array.from({ length: n + 1 }, (_, i) => make(i))
    const content = {
      ...base,
      files,
      entry: files[0]?.path as string,
      worker: files[0]?.path as string,
      prev,
      ...extra,
    }
    try {
      const m = await createMsg(ed, alice, head, { type: 'release', content, ts: Number.MAX_SAFE_INTEGER })
      assert.ok(m.bytes.length <= MAX_MSG_BYTES)
      n++
    } catch (err) {
      assert.match((err as Error).message, /the limit is 8192/)
      return n
    }
  }
}

test('the 8 KiB message limit: how many files a release holds', async (t) => {
  // A built app like ours: Vite's hashed asset names, full Content-Types, sizes up to 5 MiB.
  const typical = await mostFiles((i) => ({ ...file(`assets/chunk${i}-DtlGFwHx.js`), size: 5 * 1024 * 1024 }))
  assert.ok(typical >= 50 && typical < LIMITS.filesPerRelease, `typical: ${typical}`)
  // The longest paths and types allowed, with the longest notes: still a useful release.
  const longest = await mostFiles(
    (i) => ({ ...file(`${String(i).padStart(LIMITS.releasePathLength, 'a')}`), type: `a/${'b'.repeat(98)}` }),
    { notes: 'n'.repeat(LIMITS.notesLength) },
  )
  assert.ok(longest >= 10, `longest: ${longest}`)
  // The smallest entries cannot reach the list's own bound either: the message size binds first.
  const smallest = await mostFiles((i) => ({ ...file(i.toString(36)), type: 'a/b', size: 0 }))
  assert.ok(smallest < LIMITS.filesPerRelease, `smallest: ${smallest}`)
  t.diagnostic(`files per release: typical ${typical}, longest ${longest}, smallest ${smallest}`)
})
