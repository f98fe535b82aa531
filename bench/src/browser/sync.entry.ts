/** Experiment: a fresh page syncs a serving peer's workload into IndexedDB. */
import {
  createMsg,
  createWebCryptoEd25519,
  decodeMsg,
  type Ed25519,
  generateKeypair,
  parseFeedId,
  type VerifyItem,
  verifyMsgs,
} from '@murmur/core'
import { dial } from '@murmur/net'
import { type Limits, Replicator } from '@murmur/replicate'
import { Store } from '@murmur/store'
import { IdbLevel } from '@murmur/store/browser'

/**
 * A prototype (bench only): WebCrypto verification in `n` dedicated workers. Chromium runs an
 * Ed25519 `subtle.verify` synchronously on the calling thread (~80 µs here), so on the page it
 * competes with everything else; in workers it runs beside it.
 */
function workerVerifier(base: Ed25519, n: number): Ed25519 {
  const code = `
    const keys = new Map()
    onmessage = async (e) => {
      const { id, items } = e.data
      const out = await Promise.all(items.map(async ([pk, m, s]) => {
        const k = String.fromCharCode(...pk)
        let key = keys.get(k)
        if (!key) { key = crypto.subtle.importKey('raw', pk, { name: 'Ed25519' }, false, ['verify']).catch(() => null); keys.set(k, key) }
        const ck = await key
        if (!ck) return false
        try { return await crypto.subtle.verify({ name: 'Ed25519' }, ck, s, m) } catch { return false }
      }))
      postMessage({ id, out })
    }`
  const url = URL.createObjectURL(new Blob([code], { type: 'text/javascript' }))
  const workers = Array.from({ length: n }, () => new Worker(url))
  const waiting = new Map<number, (v: boolean[]) => void>()
  for (const w of workers) w.onmessage = (e) => waiting.get(e.data.id)?.(e.data.out)
  let next = 0
  const one = (w: Worker, items: readonly VerifyItem[]): Promise<boolean[]> =>
    new Promise((resolve) => {
      const id = next++
      waiting.set(id, (v) => {
        waiting.delete(id)
        resolve(v)
      })
      w.postMessage({ id, items: items.map((i) => [i.publicKey, i.message, i.signature]) })
    })
  return {
    ...base,
    name: 'webcrypto-workers',
    async verifyBatch(items) {
      const per = Math.ceil(items.length / n)
      const parts = await Promise.all(workers.map((w, i) => one(w, items.slice(i * per, (i + 1) * per))))
      return parts.flat()
    },
  }
}

export async function sync(input: {
  url: string
  authors: string[]
  messages: number
  limits?: Partial<Limits>
  trace?: boolean
  verifyWorkers?: number
}) {
  const webcrypto = createWebCryptoEd25519(globalThis.crypto.subtle)
  const ed = input.verifyWorkers ? workerVerifier(webcrypto, input.verifyWorkers) : webcrypto
  const keys = await generateKeypair(ed)
  const db = new IdbLevel(`bench-${Math.random()}`)
  const store = await Store.open(db, { me: keys.publicKey })
  for (const a of input.authors)
    await store.publish(ed, keys, { type: 'contact', content: { target: parseFeedId(a), following: true } })
  await store.index()
  // Where the time goes: time inside appendMany and verifyBatch (wall, overlapping), batch sizes,
  // and (with `trace`) when each append and verify ran and how many bytes had arrived by then.
  const stats = { appendMs: 0, appends: 0, verifyMs: 0, verifies: 0, maxBatch: 0, rows: 0 }
  const idbBatch = db._batch.bind(db)
  db._batch = (ops, opts) => {
    stats.rows += ops.length
    return idbBatch(ops, opts)
  }
  const events: string[] = []
  let bytesIn = 0
  let t0 = performance.now()
  const at = () => Math.round(performance.now() - t0)
  if (input.trace) {
    const proto = WebSocket.prototype as unknown as { addEventListener: typeof WebSocket.prototype.addEventListener }
    const add = proto.addEventListener
    proto.addEventListener = function (this: WebSocket, type: string, fn: unknown, opts?: unknown) {
      if (type === 'message') {
        const inner = fn as (e: Event) => void
        const counting = (e: Event) => {
          bytesIn += ((e as MessageEvent).data as ArrayBuffer).byteLength ?? 0
          inner(e)
        }
        return add.call(this, type, counting, opts as never)
      }
      return add.call(this, type, fn as never, opts as never)
    } as never
  }
  const append = store.appendMany.bind(store)
  store.appendMany = async (msgs, opts) => {
    const t = performance.now()
    if (input.trace) events.push(`${at()} append ${msgs.length} (in ${Math.round(bytesIn / 1024)} KiB)`)
    try {
      return await append(msgs, opts)
    } finally {
      stats.appendMs += performance.now() - t
      if (input.trace) events.push(`${at()} appended`)
      stats.appends++
      stats.maxBatch = Math.max(stats.maxBatch, msgs.length)
    }
  }
  const verifyBatch = ed.verifyBatch.bind(ed)
  ed.verifyBatch = async (items) => {
    const t = performance.now()
    if (input.trace) events.push(`${at()} verify ${items.length} (in ${Math.round(bytesIn / 1024)} KiB)`)
    try {
      return await verifyBatch(items)
    } finally {
      stats.verifyMs += performance.now() - t
      if (input.trace) events.push(`${at()} verified`)
      stats.verifies++
    }
  }
  let got = 0
  let appendedAt = 0
  t0 = performance.now()
  const replicator = new Replicator({ store, ed, keys, ...(input.limits ? { limits: input.limits } : {}) })
  await new Promise<void>((resolve) => {
    const off = store.onAppend(() => {
      got++
      if (got >= input.messages) {
        appendedAt = performance.now()
        off()
        resolve()
      }
    })
    void dial(input.url, { timeoutMs: 10000 }).then((ch) => replicator.connect(ch, { initiator: true }))
  })
  await store.index()
  const indexedAt = performance.now()
  const seconds = (appendedAt - t0) / 1000
  await replicator.close()
  return {
    seconds: Math.round(seconds * 100) / 100,
    indexedSeconds: Math.round((indexedAt - t0) / 10) / 100,
    rate: Math.round(input.messages / seconds),
    appendMs: Math.round(stats.appendMs),
    appends: stats.appends,
    avgBatch: Math.round(input.messages / stats.appends),
    maxBatch: stats.maxBatch,
    verifyMs: Math.round(stats.verifyMs),
    verifies: stats.verifies,
    rowsPerMessage: Math.round((stats.rows / input.messages) * 100) / 100,
    ...(input.trace ? { events } : {}),
  }
}

/** Times decode, verify, append (views inline when caught up) and index of `n` messages apart. */
export async function parts(input: { n: number; batch: number; autoIndex: boolean }) {
  const ed = createWebCryptoEd25519(globalThis.crypto.subtle)
  const keys = await generateKeypair(ed)
  const authors = await Promise.all(Array.from({ length: 10 }, () => generateKeypair(ed)))
  const bytes: Uint8Array[] = []
  const heads: Awaited<ReturnType<typeof createMsg>>[] = []
  for (let i = 0; i < input.n; i++) {
    const a = i % 10
    const h = heads[a]
    const m = await createMsg(ed, authors[a] as never, h && { seq: h.value.seq, id: h.id }, {
      type: 'post',
      content: { text: 'hello world '.repeat(20) },
      ts: Date.now(),
    })
    heads[a] = m
    bytes.push(m.bytes)
  }
  const out: Record<string, number> = {}
  let t = performance.now()
  const decoded = bytes.map((b) => decodeMsg(b)).flatMap((r) => (r.ok ? [r.value] : []))
  out.decodeUs = ((performance.now() - t) * 1000) / input.n
  t = performance.now()
  const verified: Awaited<ReturnType<typeof verifyMsgs>> = []
  for (let i = 0; i < decoded.length; i += input.batch)
    verified.push(...(await verifyMsgs(ed, decoded.slice(i, i + input.batch))))
  out.verifyUs = ((performance.now() - t) * 1000) / input.n
  const db = new IdbLevel(`parts-${Math.random()}`)
  const store = await Store.open(db, { me: keys.publicKey, autoIndex: input.autoIndex })
  t = performance.now()
  for (let i = 0; i < verified.length; i += input.batch)
    await store.appendMany(verified.slice(i, i + input.batch) as never)
  out.appendUs = ((performance.now() - t) * 1000) / input.n
  t = performance.now()
  await store.index()
  out.indexUs = ((performance.now() - t) * 1000) / input.n
  for (const k of Object.keys(out)) out[k] = Math.round(out[k] as number)
  return { ...input, ...out }
}
