/**
 * The ingest's two stages (ingest.ts): the next batch is decoded and verified while one is
 * appended, yet appends, their results and the credit stay in frame order, and what became
 * unwelcome in between is dropped without blame.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { toHex, type VerifiedMsg } from '@murmur/core'
import type { Store } from '@murmur/store'
import { RemoteClock } from '../src/clock.js'
import { Ingest, type IngestDeps, type Welcome } from '../src/ingest.js'
import { newCounters } from '../src/limits.js'
import { ed, FeedWriter, identity, memoryStore, sha256, until } from './helpers.js'

/** A store whose appends wait until released, so a test can see what happens meanwhile. */
function heldStore(store: Store) {
  const gates: (() => void)[] = []
  const calls: number[] = []
  const appendMany = store.appendMany.bind(store)
  store.appendMany = async (msgs, opts) => {
    calls.push(msgs.length)
    await new Promise<void>((resolve) => gates.push(resolve))
    return appendMany(msgs, opts)
  }
  return { calls, release: () => gates.shift()?.() }
}

function ingest(store: Store, welcome: Map<string, Welcome>) {
  const log: string[] = []
  const deps: IngestDeps = {
    store,
    ed,
    sha256,
    remote: new RemoteClock(),
    counters: newCounters(),
    batchMessages: 100,
    maxRequests: 10,
    welcome: (hex) => welcome.get(hex) ?? 'no',
    penalize: (reason) => log.push(`penalize ${reason}`),
    fork: () => log.push('fork'),
    appended: (n) => log.push(`appended ${n}`),
    sendGet: (_, seq) => log.push(`get ${seq}`),
    refuseFeed: (hex) => {
      welcome.set(hex, 'was')
      log.push('refuse')
    },
    askedTail: () => false,
    tailChained: () => undefined,
    tailAhead: () => undefined,
    handled: (bytes, idle) => log.push(`handled ${bytes}${idle ? ' idle' : ''}`),
    fail: (err) => log.push(`fail ${err}`),
  }
  return { ingest: new Ingest(deps), log }
}

test('the next batch is verified during an append; appends and credit stay in order', async () => {
  const store = await memoryStore()
  const held = heldStore(store)
  const a = new FeedWriter(await identity(1))
  const msgs = await a.many(6)
  const { ingest: ing, log } = ingest(store, new Map([[toHex(a.keys.publicKey), 'yes']]))
  const bytes = (ms: VerifiedMsg[]) => ms.map((m) => m.bytes)
  ing.push(bytes(msgs.slice(0, 2)), 10)
  await until(() => held.calls.length === 1, 'the first append')
  ing.push(bytes(msgs.slice(2, 4)), 20)
  ing.push(bytes(msgs.slice(4, 6)), 30)
  // Both later frames went into the stage ahead; nothing of them is appended yet.
  await new Promise((resolve) => setTimeout(resolve, 20))
  assert.deepEqual(held.calls, [2])
  held.release()
  await until(() => held.calls.length === 2, 'the second append')
  assert.deepEqual(held.calls, [2, 4])
  assert.deepEqual(log, ['appended 2', 'handled 10'])
  held.release()
  await until(() => log.length === 4, 'the second batch handled')
  assert.deepEqual(log, ['appended 2', 'handled 10', 'appended 4', 'handled 50 idle'])
  assert.equal((await store.feedState(a.keys.publicKey))?.seq, 6)
})

test('a feed refused while its next messages were being verified: dropped without blame', async () => {
  const store = await memoryStore()
  const held = heldStore(store)
  const a = new FeedWriter(await identity(1))
  const msgs = await a.many(8)
  const { ingest: ing, log } = ingest(store, new Map([[toHex(a.keys.publicKey), 'yes']]))
  // Seq 1, 2, then 4: a gap, the peer's fault; seq 5.. arrive while that batch is appended.
  ing.push(
    [msgs[0], msgs[1], msgs[3]].map((m) => (m as VerifiedMsg).bytes),
    10,
  )
  await until(() => held.calls.length === 1, 'the first append')
  ing.push(
    msgs.slice(4).map((m) => m.bytes),
    20,
  )
  await new Promise((resolve) => setTimeout(resolve, 20))
  held.release()
  await until(() => log.includes('handled 20 idle'), 'the second batch handled')
  assert.deepEqual(log, ['penalize broken-chain', 'refuse', 'appended 2', 'handled 10', 'handled 20 idle'])
  assert.deepEqual(held.calls, [3], 'nothing more of the refused feed reaches the store')
  assert.equal((await store.feedState(a.keys.publicKey))?.seq, 2)
})
