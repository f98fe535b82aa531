import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { equalBytes } from '@murmur/core'
import type { Store } from '../src/index.js'
import { diskStore, dumpViews, identity, tempDir } from './helpers.js'

const writer = join(fileURLToPath(new URL('.', import.meta.url)), 'fixtures', 'crash-writer.js')

/** Runs the writer until it reports at least `atLeast` committed messages, then SIGKILLs it. */
function runAndKill(dir: string, atLeast: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [writer, dir], { stdio: ['ignore', 'pipe', 'pipe'] })
    let seen = 0
    let stderr = ''
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`writer did not reach ${atLeast} messages in 60 s (saw ${seen}): ${stderr}`))
    }, 60_000)
    child.stderr.on('data', (d) => {
      stderr += d
    })
    child.stdout.on('data', (d: Buffer) => {
      const last = d.toString().trim().split('\n').at(-1)
      seen = Number(last)
      if (seen >= atLeast && !child.killed) child.kill('SIGKILL')
    })
    child.on('exit', (code, signal) => {
      clearTimeout(timer)
      if (signal === 'SIGKILL') resolve(seen)
      else reject(new Error(`writer exited ${code}: ${stderr}`))
    })
  })
}

/** Every feed's chain is whole, and the log holds exactly the feeds' messages. */
async function assertConsistent(store: Store): Promise<number> {
  let total = 0
  for await (const [author, state] of store.feeds()) {
    let expect = state.first
    let last: Uint8Array | undefined
    for await (const m of store.messages(author)) {
      assert.equal(m.value.seq, expect++)
      assert.ok(equalBytes(m.value.author, author))
      const byId = await store.get(m.id)
      assert.ok(byId && equalBytes(byId.bytes, m.bytes))
      last = m.id.bytes
      total++
    }
    assert.equal(expect - 1, state.seq, 'the head is the last message of the feed')
    assert.ok(last && equalBytes(last, state.id.bytes))
  }
  let logged = 0
  for await (const _ of store.log()) logged++
  assert.equal(logged, total, 'the log holds exactly the messages of the feeds')
  assert.equal(store.size, total)
  return total
}

test('SIGKILL during appends leaves a store that reopens consistent, with views that rebuild the same', async () => {
  const dir = await tempDir()
  try {
    let before = 0
    for (const atLeast of [200, 700, 1300]) {
      const seen = await runAndKill(dir.path, atLeast)
      const me = await identity(100)
      const store = await diskStore(dir.path, { me: me.publicKey })
      const total = await assertConsistent(store)
      assert.ok(total >= seen, `every reported commit survived (${total} >= ${seen})`)
      assert.ok(total > before)
      before = total
      await store.indexed()
      assert.equal(store.indexedTo, store.size)
      const rows = await dumpViews(store)
      assert.ok(rows.timeline && rows.timeline.length > 0)
      for (const name of Object.keys(store.views)) await store.rebuildView(name)
      assert.deepEqual(await dumpViews(store), rows, 'rebuilding every view from the log gives the same rows')
      await store.close()
    }
  } finally {
    await dir.remove()
  }
})
