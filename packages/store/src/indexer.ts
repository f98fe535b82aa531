/**
 * The indexer: brings every view up to the end of the log.
 *
 * It reads the log in chunks from the lowest view checkpoint, decodes each message once, hands
 * each view the entries past its own checkpoint, and commits all views' rows together with
 * their new checkpoints in one atomic batch per chunk. Memory is bounded by the chunk size,
 * never by the log. A crash loses at most the chunk in flight, which is simply indexed again
 * on the next open (the log itself was committed before any row refers to it).
 *
 * The common case skips all that: when every view has indexed the whole log and nothing else
 * is indexing, an append hands its new entries over (see {@link Indexer.appendWith}) and the
 * views' rows and checkpoints go into the append's own atomic batch, straight from the decoded
 * messages in memory. The log is not read back nor decoded again, and there is one write
 * instead of two — in the browser, where every IndexedDB request is dear, that is most of the
 * indexing cost. The invariant holds as before: no row is durable without its message.
 */
import { decodeCanonical, type Msg, type MsgValue, MurmurError } from '@murmur/core'
import { decodeCheckpoint, encodeCheckpoint } from './codec.js'
import type { Log } from './log.js'
import { Mutex } from './mutex.js'
import { type BatchOp, type Db, type IndexedMsg, type Rows, rootKey, type View } from './view.js'

const CHUNK = 1000

interface ViewSlot {
  readonly view: View
  readonly rows: Rows
  next: number
}

/** Decodes a message that was verified before it was stored (no second verification). */
export function decodeStored(id: Msg['id'], bytes: Uint8Array): Msg {
  const [value] = decodeCanonical(bytes) as [MsgValue, Uint8Array]
  return { id, bytes, value }
}

export class Indexer {
  readonly #db: Db
  readonly #log: Log
  readonly #checkpoints: Rows
  readonly #slots: ViewSlot[]
  readonly #mutex = new Mutex()
  readonly #waiters = new Set<{ target: number; resolve: () => void }>()
  #end = 0
  #running: Promise<void> | undefined
  #failure: unknown

  constructor(db: Db, log: Log, checkpoints: Rows, views: ReadonlyArray<{ view: View; rows: Rows }>) {
    this.#db = db
    this.#log = log
    this.#checkpoints = checkpoints
    this.#slots = views.map(({ view, rows }) => ({ view, rows, next: 0 }))
  }

  /** Reads checkpoints; clears any view whose stored version differs from its code. */
  async open(logEnd: number): Promise<void> {
    this.#end = logEnd
    for (const slot of this.#slots) {
      slot.view.attach(slot.rows)
      const raw = await this.#checkpoints.get(nameKey(slot.view.name))
      const ck = raw ? decodeCheckpoint(raw) : undefined
      if (ck && ck.version === slot.view.version && ck.next <= logEnd) {
        slot.next = ck.next
      } else {
        await this.#clear(slot)
      }
    }
  }

  /** The lowest offset every view has indexed up to (exclusive). */
  get indexed(): number {
    let min = this.#end
    for (const s of this.#slots) min = Math.min(min, s.next)
    return min
  }

  /** The log grew to `end`; indexing starts (once) in the background. */
  logGrew(end: number, autoIndex: boolean): void {
    this.#end = end
    if (autoIndex && this.indexed < end) this.kick()
  }

  /**
   * Runs `commit`, the write of an append's batch `ops` that puts `entries` at the end of the
   * log (offsets from `from` on, contiguous). When every view has indexed the log up to `from`
   * and nothing else is indexing, the views' rows for `entries` and their new checkpoints are
   * added to `ops` first, so they commit with the log entries in one atomic write; otherwise
   * `commit` runs alone and the views catch up from the log later.
   * @throws whatever `commit` throws.
   */
  async appendWith(
    from: number,
    entries: readonly IndexedMsg[],
    ops: BatchOp[],
    commit: () => Promise<void>,
  ): Promise<void> {
    const inline =
      entries.length > 0 &&
      this.#mutex.idle &&
      this.#failure === undefined &&
      this.#end === from &&
      this.#slots.every((s) => s.next === from)
    if (!inline) return commit()
    // Taken while idle, so nothing (a rebuild, a catch-up) runs until this write is done.
    await this.#mutex.run(async () => {
      const end = from + entries.length
      const own = ops.length
      try {
        for (const slot of this.#slots) await this.#apply(slot, entries, end, ops)
      } catch (err) {
        // A view that fails fails indexing, as in a catch-up; the append itself goes on.
        ops.length = own
        this.#failure = err
        for (const w of this.#waiters) w.resolve()
        return commit()
      }
      try {
        await commit()
      } catch (err) {
        // Nothing was written; a view that keeps state in memory has moved past its rows.
        if (this.#slots.some((s) => s.view.reset)) this.#failure = err
        throw err
      }
      this.#end = Math.max(this.#end, end)
      for (const slot of this.#slots) slot.next = end
      for (const w of this.#waiters) if (this.indexed >= w.target) w.resolve()
    })
  }

  /** Starts indexing if it is not running. */
  kick(): void {
    if (this.#running || this.#failure !== undefined) return
    this.#running = this.#mutex
      .run(() => this.#catchUp())
      .catch((err) => {
        // A failed write (disk full, closed database) must not hang readers forever.
        this.#failure = err
        for (const w of this.#waiters) w.resolve()
      })
      .finally(() => {
        this.#running = undefined
        if (this.#failure === undefined && this.indexed < this.#end) this.kick()
      })
  }

  /**
   * Resolves when every view has indexed the log as it is now.
   * @throws {MurmurError} `TIMEOUT` after `timeoutMs`; the cause of a failed indexing run.
   */
  async caughtUp(timeoutMs: number): Promise<void> {
    const target = this.#end
    if (this.#failure !== undefined) throw this.#failure
    if (this.indexed >= target) return
    this.kick()
    let waiter: { target: number; resolve: () => void } | undefined
    let timer: ReturnType<typeof setTimeout> | undefined
    try {
      await new Promise<void>((resolve, reject) => {
        waiter = { target, resolve }
        this.#waiters.add(waiter)
        timer = setTimeout(
          () => reject(new MurmurError('TIMEOUT', `views did not catch up with the log within ${timeoutMs} ms`)),
          timeoutMs,
        )
      })
    } finally {
      if (waiter) this.#waiters.delete(waiter)
      clearTimeout(timer)
    }
    if (this.#failure !== undefined) throw this.#failure
  }

  /** Drops a view's rows and checkpoint and indexes it again from the start of the log. */
  async rebuild(name: string): Promise<void> {
    const slot = this.#slots.find((s) => s.view.name === name)
    if (!slot) throw new MurmurError('INVALID_ARGUMENT', `no view named ${name}`)
    await this.#mutex.run(() => this.#clear(slot))
    this.kick()
  }

  /** Waits for the run in flight (used before closing the database). */
  async idle(): Promise<void> {
    while (this.#running) await this.#running
  }

  async #clear(slot: ViewSlot): Promise<void> {
    await slot.rows.clear()
    await this.#checkpoints.put(nameKey(slot.view.name), encodeCheckpoint(slot.view.version, 0))
    slot.view.reset?.()
    slot.next = 0
  }

  /** Reads and decodes about CHUNK log entries from `from`, below `end`. */
  async #read(from: number, end: number): Promise<IndexedMsg[]> {
    const entries = await this.#log.read(from, end, CHUNK)
    return entries.map((e) => ({ offset: e.offset, received: e.received, msg: decodeStored(e.id, e.bytes) }))
  }

  /** Adds `slot`'s rows for `entries` and its checkpoint (`next`) to `ops`. */
  async #apply(slot: ViewSlot, entries: readonly IndexedMsg[], next: number, ops: BatchOp[]): Promise<void> {
    const rows = slot.rows
    await slot.view.apply(entries, {
      put: (key, value) => ops.push({ type: 'put', key: rootKey(rows, key), value }),
      del: (key) => ops.push({ type: 'del', key: rootKey(rows, key) }),
    })
    ops.push({
      type: 'put',
      key: rootKey(this.#checkpoints, nameKey(slot.view.name)),
      value: encodeCheckpoint(slot.view.version, next),
    })
  }

  async #catchUp(): Promise<void> {
    // A three-stage pipeline: while chunk k is written, chunk k + 1 is applied and chunk k + 2
    // read. Writes stay one at a time and in order, so no checkpoint is ever durable before the
    // rows of the chunks under it; `applied` runs ahead of the durable `next`.
    const applied = new Map<ViewSlot, number>(this.#slots.map((s) => [s, s.next]))
    const lowest = (): number => Math.min(this.#end, ...applied.values())
    let reading = this.#read(lowest(), this.#end)
    let writing: Promise<void> = Promise.resolve()
    try {
      for (;;) {
        const entries = await reading
        if (entries.length === 0) break
        const first = (entries[0] as IndexedMsg).offset
        const last = (entries[entries.length - 1] as IndexedMsg).offset
        reading = this.#read(last + 1, this.#end)
        const ops: BatchOp[] = []
        const advanced: ViewSlot[] = []
        for (const slot of this.#slots) {
          const from = applied.get(slot) as number
          if (from > last) continue
          const mine = from <= first ? entries : entries.filter((e) => e.offset >= from)
          await this.#apply(slot, mine, last + 1, ops)
          applied.set(slot, last + 1)
          advanced.push(slot)
        }
        await writing
        writing = this.#db.batch(ops).then(() => {
          for (const slot of advanced) slot.next = Math.max(slot.next, last + 1)
          for (const w of this.#waiters) if (this.indexed >= w.target) w.resolve()
        })
        writing.catch(() => undefined) // awaited below; this only stops an unhandled-rejection crash
        // Let timers and I/O run between chunks: on a backend that answers in microtasks only
        // (memory-level), a long run would otherwise starve the event loop, and no waiter's
        // timeout could fire before the whole backlog is indexed.
        await nextMacrotask()
      }
      await writing
    } finally {
      await reading.catch(() => undefined)
      await writing.catch(() => undefined)
    }
  }
}

/** Resolves on a later turn of the event loop (setImmediate where it exists: no timer clamp). */
const nextMacrotask = (): Promise<void> =>
  new Promise((resolve) => {
    if (typeof setImmediate === 'function') setImmediate(resolve)
    else setTimeout(resolve, 0)
  })

const encoder = new TextEncoder()
const nameKey = (name: string): Uint8Array => encoder.encode(name)
