import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { createSodiumEd25519 } from '../src/ed25519/sodium.js'
import {
  blobId,
  fingerprint,
  formatBackup,
  formatFeedId,
  fromBase64url,
  generateKeypair,
  keypairFromSeed,
  parseBackup,
  parseCid,
  parseFeedId,
  toBase64url,
} from '../src/index.js'

const ed = createSodiumEd25519()

test('a new identity is a 32-byte key whose text form is URL-safe and round-trips', async () => {
  const k = await generateKeypair(ed)
  assert.equal(k.publicKey.length, 32)
  assert.equal(k.seed.length, 32)
  const text = formatFeedId(k.publicKey)
  assert.match(text, /^@[A-Za-z0-9_-]{43}\.ed25519$/)
  assert.equal(encodeURIComponent(text), text.replace('@', '%40'))
  assert.deepEqual(parseFeedId(text), k.publicKey)
  assert.deepEqual(parseFeedId(text.slice(1)), k.publicKey, 'without the @')
  assert.equal(fingerprint(k.publicKey).length, 8)
  const other = await generateKeypair(ed)
  assert.notDeepEqual(other.publicKey, k.publicKey)
})

test('bad feed ids give a clear typed error', () => {
  for (const bad of [
    '',
    '@',
    '@abc.ed25519',
    `@${'A'.repeat(44)}.ed25519`,
    'hello world',
    `@${'!'.repeat(43)}.ed25519`,
  ]) {
    assert.throws(
      () => parseFeedId(bad),
      (e: Error & { code?: string }) => e.code === 'INVALID_ARGUMENT' && /feed id/.test(e.message),
    )
  }
})

test('base64url round-trips and has exactly one text form per bytes', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 70 }), (b) => {
      assert.deepEqual(fromBase64url(toBase64url(b)), b)
    }),
  )
  assert.equal(fromBase64url('AB'), undefined, 'non-zero trailing bits are not canonical')
})

test('secret key backup round-trips and restores the same identity', async () => {
  const k = await generateKeypair(ed)
  const backup = formatBackup(k.seed)
  assert.match(backup, /^murmur-secret-v1 ([0-9A-Z]{4}-){13}[0-9A-Z]{4}$/)
  const seed = parseBackup(backup)
  const restored = await keypairFromSeed(ed, seed)
  assert.deepEqual(restored.publicKey, k.publicKey)
  // Written down and typed back: lowercase, spaces for dashes, line breaks.
  const body = backup.slice('murmur-secret-v1 '.length)
  const typed = `murmur-secret-v1\n${body
    .toLowerCase()
    .replace(/-/g, ' ')
    .replace(/ (....) /, '\n$1\n')}`
  assert.deepEqual(parseBackup(typed), k.seed)
})

test('property: every seed survives the backup text', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (seed) => {
      assert.deepEqual(parseBackup(formatBackup(seed)), seed)
    }),
  )
})

test('a typo in a backup is caught, never restored as another identity', async () => {
  const k = await generateKeypair(ed)
  const backup = formatBackup(k.seed)
  const body = backup.slice('murmur-secret-v1 '.length)
  let caught = 0
  let typos = 0
  for (let i = 0; i < body.length; i++) {
    if (body[i] === '-') continue
    const c = body[i] === 'A' ? 'B' : 'A'
    typos++
    const typo = `murmur-secret-v1 ${body.slice(0, i)}${c}${body.slice(i + 1)}`
    try {
      const seed = parseBackup(typo)
      assert.notDeepEqual(seed, k.seed)
    } catch (e) {
      assert.equal((e as { code?: string }).code, 'INVALID_ARGUMENT')
      caught++
    }
  }
  assert.equal(caught, typos, 'every single-letter typo is caught by the checksum')
  assert.throws(() => parseBackup('hello'), /murmur-secret-v1/)
  assert.throws(() => parseBackup('murmur-secret-v1 ABCD'), /length/)
})

test('message and blob ids parse from text', () => {
  const id = blobId(new Uint8Array([1, 2, 3]))
  assert.ok(parseCid(id.toString()).equals(id))
  assert.throws(() => parseCid('nope'), { code: 'INVALID_ARGUMENT' })
})
