/**
 * The store on IndexedDB in a real page (IdbLevel): feeds appended in batches and by publish,
 * read back after the database is closed and opened again, and the views' answers, reported
 * to the test in Node, which compares them with the same workload on memory-level.
 */
import { createMsg, createWebCryptoEd25519, keypairFromSeed, type VerifiedMsg } from '@murmur/core'
import { IdbLevel } from '../../src/browser.js'
import { Store } from '../../src/index.js'

/** What the page reports. */
export interface IdbReport {
  readonly heads: number[]
  readonly logLength: number
  readonly timeline: string[]
  readonly follows: number
  readonly publishedSeq: number
  readonly failedBatchKept: boolean
}

async function writer(ed: ReturnType<typeof createWebCryptoEd25519>, n: number) {
  const seed = new Uint8Array(32)
  seed[0] = n + 1
  const keys = await keypairFromSeed(ed, seed)
  let head: VerifiedMsg | undefined
  return {
    keys,
    async next(text: string): Promise<VerifiedMsg> {
      head = await createMsg(ed, keys, head && { seq: head.value.seq, id: head.id }, {
        type: 'post',
        content: { text },
        ts: 1_760_000_000_000 + (head?.value.seq ?? 0),
      })
      return head
    },
  }
}

/** Appends `authors × perAuthor` posts in batches of `batch`, reopens, and reports. */
export async function run(input: { authors: number; perAuthor: number; batch: number }): Promise<IdbReport> {
  const ed = createWebCryptoEd25519(globalThis.crypto.subtle)
  const me = await writer(ed, 100)
  const ws = await Promise.all(Array.from({ length: input.authors }, (_, i) => writer(ed, i)))
  const name = `idb-${crypto.randomUUID()}`
  let store = await Store.open(new IdbLevel(name), { me: me.keys.publicKey })
  for (const w of ws)
    await store.publish(ed, me.keys, { type: 'contact', content: { target: w.keys.publicKey, following: true } })
  const msgs: VerifiedMsg[] = []
  for (let s = 0; s < input.perAuthor; s++)
    for (const [i, w] of ws.entries()) msgs.push(await w.next(`a${i} s${s + 1}`))
  for (let i = 0; i < msgs.length; i += input.batch) await store.appendMany(msgs.slice(i, i + input.batch))
  const published = await store.publish(ed, me.keys, { type: 'post', content: { text: 'mine' } })
  await store.index()
  const db = store.db as IdbLevel
  // A batch that fails part-way (a key IndexedDB refuses) must leave nothing behind.
  let failedBatchKept = false
  try {
    await db.batch([
      { type: 'put', key: new Uint8Array([0xff, 1]), value: new Uint8Array([1]) },
      { type: 'put', key: undefined as unknown as Uint8Array, value: new Uint8Array([2]) },
    ])
  } catch {
    failedBatchKept = (await db.get(new Uint8Array([0xff, 1]))) !== undefined
  }
  await store.close()

  store = await Store.open(new IdbLevel(name), { me: me.keys.publicKey })
  try {
    const heads: number[] = []
    for (const w of ws) heads.push((await store.feedState(w.keys.publicKey))?.seq ?? 0)
    let logLength = 0
    for await (const _ of store.log()) logLength++
    const page = await store.views.timeline.page({ limit: 5 })
    return {
      heads,
      logLength,
      timeline: page.items.map((i) => String((i.msg.value.content as { text?: unknown }).text)),
      follows: (await store.views.graph.follows(me.keys.publicKey)).length,
      publishedSeq: published.value.seq,
      failedBatchKept,
    }
  } finally {
    await store.close()
  }
}
