import assert from 'node:assert/strict'
import { test } from 'node:test'
import { blobId, cidOf, DAG_CBOR, isMurmurError } from '@murmur/core'
import { MemoryLevel } from 'memory-level'
import { BlobStore, DEFAULT_MAX_BLOB_BYTES, Store } from '../src/index.js'
import { memoryStore } from './helpers.js'

/** `n` bytes that differ from blob to blob. */
function bytesOf(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n)
  for (let i = 0; i < n; i++) out[i] = (i * 31 + seed * 7) & 255
  return out
}

test('a blob round-trips under its raw CID', async () => {
  const store = await memoryStore()
  const bytes = bytesOf(100_000)
  const cid = await store.blobs.put(bytes)
  assert.ok(cid.equals(blobId(bytes)))
  assert.equal(store.blobs.maxBlobBytes, DEFAULT_MAX_BLOB_BYTES)
  assert.deepEqual(await store.blobs.get(cid), bytes)
  assert.equal(await store.blobs.has(cid), true)
  assert.equal(await store.blobs.size(cid), bytes.length)
  // Storing it again changes nothing; an empty blob is a blob too.
  assert.ok((await store.blobs.put(bytes)).equals(cid))
  const empty = await store.blobs.put(new Uint8Array(0))
  assert.equal(await store.blobs.size(empty), 0)
  assert.deepEqual(await store.blobs.get(empty), new Uint8Array(0))
  await store.close()
})

test('putVerified stores only bytes that hash to the CID they came under', async () => {
  const store = await memoryStore()
  const bytes = bytesOf(5000)
  const cid = blobId(bytes)
  const wrong = bytes.slice()
  wrong[1234] = (wrong[1234] as number) ^ 1
  assert.equal(await store.blobs.putVerified(cid, wrong), false, 'one changed byte')
  assert.equal(await store.blobs.putVerified(cid, bytes.subarray(1)), false, 'truncated')
  assert.equal(await store.blobs.has(cid), false)
  assert.equal(await store.blobs.get(cid), undefined)
  // The right digest under the message codec is not a blob id.
  assert.equal(await store.blobs.putVerified(cidOf(DAG_CBOR, bytes), bytes), false, 'dag-cbor CID')
  assert.equal(await store.blobs.putVerified(cid, bytes), true)
  assert.deepEqual(await store.blobs.get(cid), bytes)
  await store.close()
})

test('blobs over the size limit are refused, by put with a typed error and by putVerified with false', async () => {
  const store = await memoryStore({ maxBlobBytes: 1024 })
  assert.equal(store.blobs.maxBlobBytes, 1024)
  assert.ok(await store.blobs.put(bytesOf(1024)), 'exactly the limit is fine')
  const big = bytesOf(1025)
  await assert.rejects(
    store.blobs.put(big),
    (e: unknown) => isMurmurError(e, 'INVALID_ARGUMENT') && /at most 1024 bytes/.test(e.message),
  )
  assert.equal(await store.blobs.putVerified(blobId(big), big), false)
  assert.equal(await store.blobs.has(blobId(big)), false)
  await store.close()
  assert.throws(() => new BlobStore(new MemoryLevel().sublevel('x') as never, { maxBlobBytes: -1 }), RangeError)
})

test('has, size, list and delete', async () => {
  const store = await memoryStore()
  const blobs = [bytesOf(10, 1), bytesOf(2000, 2), bytesOf(300_000, 3)]
  const cids = []
  for (const b of blobs) cids.push(await store.blobs.put(b))
  const absent = blobId(bytesOf(10, 4))
  assert.equal(await store.blobs.has(absent), false)
  assert.equal(await store.blobs.size(absent), undefined)
  assert.equal(await store.blobs.get(absent), undefined)

  const listed = []
  for await (const { cid, size } of store.blobs.list()) listed.push([cid.toString(), size])
  const expected = cids.map((c, i) => [c.toString(), blobs[i]?.length])
  assert.deepEqual(
    listed.sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
    expected.sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
  )

  await store.blobs.delete(cids[1]!)
  await store.blobs.delete(absent)
  assert.equal(await store.blobs.has(cids[1]!), false)
  assert.equal(await store.blobs.size(cids[1]!), undefined)
  assert.equal(await store.blobs.get(cids[1]!), undefined)
  const left = []
  for await (const { cid } of store.blobs.list()) left.push(cid.toString())
  assert.deepEqual(left.sort(), [cids[0]!.toString(), cids[2]!.toString()].sort())
  await store.close()
})

test('blobs live in their own key space: feeds and views do not see them', async () => {
  const db = new MemoryLevel<Uint8Array, Uint8Array>({ keyEncoding: 'view', valueEncoding: 'view' })
  const store = await Store.open(db)
  const cid = await store.blobs.put(bytesOf(64))
  assert.equal(store.size, 0)
  const feeds = []
  for await (const f of store.feeds()) feeds.push(f)
  assert.deepEqual(feeds, [])
  await store.close()
  // Reopened, the blob is still there.
  const again = await Store.open(db)
  assert.deepEqual(await again.blobs.get(cid), bytesOf(64))
  await again.close()
})
