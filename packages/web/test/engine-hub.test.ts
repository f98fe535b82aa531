/**
 * The RPC and the tab election without a browser: Node has MessageChannel and BroadcastChannel,
 * and a small in-process lock manager stands in for Web Locks. A stub engine whose calls can be
 * held open makes the hard cases exact: a write in flight to a leader whose tab closes fails
 * with UNAVAILABLE (it may have run: never sent twice), a read is sent again to the next leader,
 * and the next leader opens its engine only after the first let go of the lock.
 * (engine-tabs.test.ts runs the real thing in Chromium.)
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { MurmurError } from '@murmur/core'
import type { EngineEvent, EngineMethod } from '../src/api.js'
import { EngineFailure, isEngineError } from '../src/engine/errors.js'
import { type EventedApi, Hub } from '../src/engine/hub.js'
import { callApi, ENGINE_METHODS, type RpcPort, serveApi } from '../src/rpc.js'

/** Web Locks' exclusive mode, in one process. */
class Locks {
  #held = false
  readonly #queue: (() => void)[] = []

  request(_name: string, fn: () => Promise<unknown>): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const run = () => {
        this.#held = true
        fn()
          .then(resolve, reject)
          .finally(() => {
            this.#held = false
            this.#queue.shift()?.()
          })
      }
      if (this.#held) this.#queue.push(run)
      else run()
    })
  }
}

/** A deferred result. */
function deferred<T>() {
  let resolve!: (v: T) => void
  const promise = new Promise<T>((r) => {
    resolve = r
  })
  return { promise, resolve }
}

/** An engine whose every call is recorded, with answers the test can hold back. */
function stubEngine(name: string, hold: Partial<Record<EngineMethod, Promise<unknown>>> = {}) {
  const calls: EngineMethod[] = []
  const listeners = new Set<(e: EngineEvent) => void>()
  const api: Record<string, unknown> = {
    on(fn: (e: EngineEvent) => void) {
      listeners.add(fn)
      return () => listeners.delete(fn)
    },
  }
  for (const m of ENGINE_METHODS) {
    api[m] = async (...args: unknown[]) => {
      calls.push(m)
      if (m === 'thread') throw new MurmurError('INVALID_ARGUMENT', `not a message id: ${String(args[0])}`)
      if (m === 'timeline') throw new RangeError('limit must be a positive integer')
      if (m === 'backupText') throw new EngineFailure('NO_IDENTITY', 'There is no identity here yet.')
      return (await hold[m]) ?? `${name}:${m}`
    }
  }
  const emit = (e: EngineEvent): void => {
    for (const fn of listeners) fn(e)
  }
  return { engine: api as unknown as EventedApi, calls, emit }
}

const portOf = (p: MessagePort) => p as unknown as RpcPort
const channelOf = (c: BroadcastChannel) => c as unknown as RpcPort

test('serveApi and callApi: values, EngineErrors for every failure, events, close', async () => {
  const { port1, port2 } = new MessageChannel()
  const stub = stubEngine('e', { network: new Promise(() => undefined) })
  const stop = serveApi(portOf(port1), stub.engine, { events: (emit) => stub.engine.on(emit) })
  const client = callApi(portOf(port2))
  try {
    assert.equal(await client.api.identity(), 'e:identity')
    const events: EngineEvent[] = []
    client.on((e) => events.push(e))
    stub.emit({ type: 'network' })
    await new Promise((r) => setTimeout(r, 20))
    assert.deepEqual(events, [{ type: 'network' }])

    const failures: [() => Promise<unknown>, string][] = [
      [() => client.api.thread('x'), 'INVALID_ARGUMENT'], // a MurmurError
      [() => client.api.timeline({ limit: 0 }), 'INVALID_ARGUMENT'], // a RangeError
      [() => client.api.backupText(), 'NO_IDENTITY'], // an EngineFailure
    ]
    for (const [f, code] of failures) {
      const err = await f().then(
        () => assert.fail('should reject'),
        (e: unknown) => e,
      )
      assert.ok(err instanceof Error && isEngineError(err), 'an Error that is an EngineError')
      assert.equal(err.code, code)
      assert.match(err.message, /^[A-Z]/, 'a sentence')
    }
    // Only EngineApi methods are callable, whatever name arrives.
    port2.postMessage({ rpc: 'call', id: 'evil', method: 'constructor', args: [] })
    const { promise, resolve } = deferred<unknown>()
    port2.addEventListener('message', (ev: MessageEvent) => {
      if ((ev.data as { id?: string }).id === 'evil') resolve(ev.data)
    })
    assert.equal(((await promise) as { error: { code: string } }).error.code, 'INVALID_ARGUMENT')

    const pending = client.api.network()
    client.close()
    await assert.rejects(pending, { code: 'UNAVAILABLE' })
  } finally {
    stop()
    port1.close()
    port2.close()
  }
})

test('the hub: one leader; a follower forwards; on handover a lost write fails and a lost read is resent', async () => {
  const locks = new Locks()
  const held = deferred<unknown>()
  const first = stubEngine('A', { post: held.promise, suggestions: held.promise })
  const second = stubEngine('B')
  const opened: string[] = []
  const pages = [new MessageChannel(), new MessageChannel()]
  const channels = [new BroadcastChannel('murmur-test'), new BroadcastChannel('murmur-test')]
  const hubOf = (i: 0 | 1, engine: EventedApi, label: string) =>
    new Hub({
      locks: locks as unknown as LockManager,
      channel: channelOf(channels[i] as BroadcastChannel),
      page: portOf((pages[i] as MessageChannel).port1),
      open: async () => {
        opened.push(label)
        return engine
      },
    })
  const a = hubOf(0, first.engine, 'A')
  const b = hubOf(1, second.engine, 'B')
  const clientA = callApi(portOf((pages[0] as MessageChannel).port2))
  const clientB = callApi(portOf((pages[1] as MessageChannel).port2))
  try {
    assert.equal(await clientB.api.identity(), 'A:identity', "the follower's call runs in the leader")
    assert.equal(await clientA.api.identity(), 'A:identity')
    assert.deepEqual([a.role, b.role, clientA.role, clientB.role], ['leader', 'follower', 'leader', 'follower'])
    const events: EngineEvent[] = []
    clientB.on((e) => events.push(e))
    first.emit({ type: 'changed', authors: ['@x'] })
    await new Promise((r) => setTimeout(r, 20))
    assert.deepEqual(events, [{ type: 'changed', authors: ['@x'] }])

    // Both held open in A; then A's tab "closes" (stops answering and lets go of the lock).
    const write = clientB.api.post({ text: 'hi' })
    const read = clientB.api.suggestions()
    await new Promise((r) => setTimeout(r, 20))
    assert.deepEqual(first.calls.slice(-2), ['post', 'suggestions'])
    await a.close()
    held.resolve('too late') // A finishes after it died: nobody hears it
    const err = await write.then(
      () => assert.fail('a lost write must not report success'),
      (e: unknown) => e as EngineFailure,
    )
    assert.equal(err.code, 'UNAVAILABLE')
    assert.match(err.message, /try again/)
    assert.equal(await read, 'B:suggestions', 'the read was sent again, to the new leader')
    assert.deepEqual(opened, ['A', 'B'], 'B opened its engine only after A let go')
    assert.equal(b.role, 'leader')
    assert.deepEqual(second.calls, ['suggestions'], 'the write was not sent twice')
    assert.equal(await clientB.api.identity(), 'B:identity')
  } finally {
    clientA.close()
    clientB.close()
    await a.close()
    await b.close()
    for (const c of channels) c.close()
    for (const p of pages) {
      p.port1.close()
      p.port2.close()
    }
  }
})

test('the hub: a write still queued (no leader known) when this worker takes the lock runs here, once', async () => {
  const locks = new Locks()
  // Something else holds the lock and never announces itself (a leader that is going away).
  const released = deferred<undefined>()
  void locks.request('murmur-engine', () => released.promise)
  const stub = stubEngine('B')
  const page = new MessageChannel()
  const channel = new BroadcastChannel('murmur-test-queued')
  const hub = new Hub({
    locks: locks as unknown as LockManager,
    channel: channelOf(channel),
    page: portOf(page.port1),
    open: async () => stub.engine,
  })
  const client = callApi(portOf(page.port2))
  try {
    const write = client.api.post({ text: 'queued' })
    await new Promise((r) => setTimeout(r, 20))
    assert.equal(hub.role, 'follower')
    released.resolve(undefined)
    assert.equal(await write, 'B:post')
    assert.deepEqual(stub.calls, ['post'])
  } finally {
    client.close()
    await hub.close()
    channel.close()
    page.port1.close()
    page.port2.close()
  }
})
