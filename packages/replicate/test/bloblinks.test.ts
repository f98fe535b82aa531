import assert from 'node:assert/strict'
import { test } from 'node:test'
import { blobId, createMsg, keypairFromSeed, utf8 } from '@murmur/core'
import { createSodiumEd25519 } from '@murmur/core/sodium'
import { blobLinks } from '../src/index.js'

const ed = createSodiumEd25519()
const keys = await keypairFromSeed(ed, new Uint8Array(32).fill(7))

test('blobLinks: the blobs a peer fetches for a message (post images, about image, release files)', async () => {
  const [a, b, c] = [blobId(utf8('a')), blobId(utf8('b')), blobId(utf8('c'))]
  const links = async (draft: Parameters<typeof createMsg>[3]) =>
    blobLinks(await createMsg(ed, keys, undefined, draft)).map(String)
  assert.deepEqual(
    await links({ type: 'post', content: { text: 'x', blobs: [{ link: a, type: 'image/png', size: 1 }] } }),
    [String(a)],
  )
  assert.deepEqual(await links({ type: 'about', content: { target: keys.publicKey, image: b } }), [String(b)])
  const files = [
    { path: 'index.html', link: a, size: 1, type: 'text/html; charset=utf-8' },
    { path: 'sw.js', link: c, size: 1, type: 'text/javascript; charset=utf-8' },
  ]
  const release = { app: 'murmur-web', version: '1.0.0', files, entry: 'index.html', worker: 'sw.js' }
  assert.deepEqual(await links({ type: 'release', content: release }), [String(a), String(c)])
  assert.deepEqual(await links({ type: 'other', content: { files } }), [], 'unknown types link nothing')
})
