import assert from 'node:assert/strict'
import { test } from 'node:test'
import { blobId, equalBytes } from '@murmur/core'
import { encodeBlobChunk, encodeBlobHave } from '../src/frames.js'
import { link, makePeer, rawPeer, sha256, until, within } from './helpers.js'

function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n)
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(out.subarray(i, Math.min(n, i + 65536)))
  return out
}

test('a 200 KiB blob moves in chunks, is verified, and is fetched for a followed feed', async () => {
  const a = await makePeer(1)
  const b = await makePeer(2)
  const c = await makePeer(3)
  const bytes = randomBytes(200 * 1024)
  const cid = await a.store.blobs.put(bytes)
  await a.post('a picture', { blobs: [{ link: cid, type: 'image/png', size: bytes.length }] })
  await b.follow(a.id)
  // b follows a: it wants the blobs of a's posts by itself.
  const { ba } = await link(a, b)
  await until(() => b.store.blobs.has(cid), 'the automatic fetch')
  assert.ok(equalBytes((await b.store.blobs.get(cid)) as Uint8Array, bytes))
  assert.equal(ba.counters().blobsReceived, 1)
  assert.ok(ba.counters().bytesIn > bytes.length, 'the bytes came over the connection')
  // c follows nobody: it fetches on demand, here through b (which now holds it).
  await link(c, b)
  const got = await c.rep.fetchBlob(cid, { timeoutMs: 5000 })
  assert.ok(equalBytes(got, bytes))
  assert.equal(await c.store.blobs.has(cid), true)
  // A blob nobody has times out with a typed error.
  const missing = blobId(new Uint8Array([1, 2, 3]), sha256)
  await assert.rejects(c.rep.fetchBlob(missing, { timeoutMs: 100 }), { code: 'TIMEOUT' })
  await Promise.all([a.close(), b.close(), c.close()])
})

test('a peer that sends wrong bytes for a blob is counted, nothing is stored, and another peer delivers', async () => {
  const v = await makePeer(1)
  const honest = await makePeer(2)
  const bytes = randomBytes(100 * 1024)
  const cid = await honest.store.blobs.put(bytes)
  const raw = await rawPeer(v.rep, 9)
  await until(() => raw.credit() > 0, 'credit')
  const fetching = v.rep.fetchBlob(cid, { timeoutMs: 5000 })
  await until(() => raw.frames.some((f) => f.type === 'blob-want'), 'the want')
  raw.session.send(encodeBlobHave(cid, bytes.length))
  await until(() => raw.frames.some((f) => f.type === 'blob-get'), 'the get')
  // The right size, the wrong bytes, within the credit granted.
  const wrong = randomBytes(bytes.length)
  for (let at = 0; at < wrong.length; at += 60_000) {
    raw.session.send(encodeBlobChunk(cid, at, wrong.subarray(at, Math.min(wrong.length, at + 60_000))))
  }
  await until(() => raw.conn.counters().rejected['bad-blob'] === 1, 'the bad blob to be counted')
  assert.equal(await v.store.blobs.has(cid), false)
  assert.equal(v.rep.status().rejected['bad-blob'], 1)
  // An honest peer that connects later delivers the real bytes.
  await link(v, honest)
  assert.ok(equalBytes(await within(fetching, 'the fetch'), bytes))
  assert.equal(await v.store.blobs.has(cid), true)
  // A chunk nobody asked for is counted too.
  raw.session.send(encodeBlobChunk(cid, 0, new Uint8Array(10)))
  await until(() => raw.conn.counters().rejected.unwanted === 1, 'the unwanted chunk')
  raw.session.close('local', 'done')
  await Promise.all([v.close(), honest.close()])
})
