/**
 * The store: signed feeds in any abstract-level database, and the views derived from them.
 *
 * Layout (each a sublevel with binary keys and values):
 * - `log`, `feed`, `id`         -> the messages, in blocks by offset, by feed and by id (log.ts)
 * - `head`  author              -> FeedState (latest seq and id, first seq held, forked)
 * - `fork`  author              -> fork proof (the two signed messages)
 * - `ckpt`  view name           -> view version ‖ next offset
 * - `blob`  blob CIDs           -> bytes and sizes (see blobs.ts)
 * - `meta`  `format`            -> the layout's version (format.ts)
 * - `v-<name>`                  -> the view's own rows
 *
 * An append is one atomic batch of log + id + feed + head, so a message is durable in the log
 * before any view row refers to it; views follow from their checkpoints (see indexer.ts), and
 * when they are caught up their rows for the new messages join the append's batch.
 * Appends are serialized by a mutex: the head check and the write are one step. Within one
 * append, each feed's new messages take consecutive offsets (feeds in the order they first
 * appear), so they are stored as one block rather than row by row; they all have the same
 * received time, so no order that means anything is lost.
 */

import * as dagCbor from '@ipld/dag-cbor'
import {
  type AnyDraft,
  type CID,
  createMsg,
  type Draft,
  type Ed25519,
  encodeForkProof,
  type FeedId,
  type ForkProof,
  formatFeedId,
  type Keypair,
  type Msg,
  MurmurError,
  makeForkProof,
  toHex,
  type VerifiedMsg,
} from '@murmur/core'
import { BlobStore } from './blobs.js'
import { decodeFeedState, encodeFeedState, type FeedState, type LogEntry } from './codec.js'
import { openFormat } from './format.js'
import { decodeStored, Indexer } from './indexer.js'
import { Log } from './log.js'
import { Mutex } from './mutex.js'
import { type BatchOp, type Db, type IndexedMsg, type Rows, rootKey, type View } from './view.js'
import { defaultViews, type Views } from './views/index.js'

/** How an append went. A refused append throws instead (see {@link Store.append}). */
export type AppendResult =
  | { kind: 'appended'; offset: number }
  | { kind: 'duplicate' }
  | { kind: 'forked'; proof: ForkProof }

/** Batch options asking for a durable write (classic-level's `sync`; see browser.ts). */
const SYNC: object = { sync: true }

/** Why {@link Store.appendMany} refused one message (it goes on with the others). */
export type Refusal = { kind: 'refused'; code: 'NOT_NEXT' | 'FEED_FORKED'; reason: string }

/** Options of {@link Store.open}. */
export interface StoreOptions {
  /** This device's own feed id: views answer "my" timeline, petnames and blocks for it. */
  me?: FeedId
  /** Index views in the background after every append (default true). */
  autoIndex?: boolean
  /** How long a query waits for views to catch up with the log before it fails (ms). */
  indexWaitMs?: number
  /** The clock used for received times (tests pass their own). */
  now?: () => number
  /** The largest blob taken, in bytes (default 5 MiB). */
  maxBlobBytes?: number
}

const rowsOptions = { keyEncoding: 'view', valueEncoding: 'view' } as const

export class Store {
  readonly db: Db
  readonly me: FeedId | undefined
  /** The materialized views and their queries. */
  readonly views: Views
  /** Content-addressed blobs (images). */
  readonly blobs: BlobStore
  readonly #log: Log
  readonly #heads: Rows
  readonly #forks: Rows
  readonly #indexer: Indexer
  readonly #mutex = new Mutex()
  readonly #states = new Map<string, FeedState | null>()
  readonly #autoIndex: boolean
  readonly #indexWaitMs: number
  readonly #now: () => number
  readonly #listeners = new Set<(msg: VerifiedMsg, offset: number) => void>()
  #end = 0

  private constructor(db: Db, opts: StoreOptions) {
    this.db = db
    this.me = opts.me
    this.#autoIndex = opts.autoIndex ?? true
    this.#indexWaitMs = opts.indexWaitMs ?? 30_000
    this.#now = opts.now ?? Date.now
    const sub = (name: string): Rows => db.sublevel(name, rowsOptions) as Rows
    this.#log = new Log(sub('log'), sub('feed'), sub('id'))
    this.#heads = sub('head')
    this.#forks = sub('fork')
    this.blobs = new BlobStore(sub('blob'), { maxBlobBytes: opts.maxBlobBytes })
    this.views = defaultViews(this)
    const list: View[] = Object.values(this.views)
    this.#indexer = new Indexer(
      db,
      this.#log,
      sub('ckpt'),
      list.map((view) => ({ view, rows: sub(`v-${view.name}`) })),
    )
  }

  /**
   * Opens a store on `db` (opened here if it is not yet), indexing whatever the views have not
   * seen (after a crash, from their checkpoints).
   */
  static async open(db: Db, opts: StoreOptions = {}): Promise<Store> {
    if (db.status !== 'open') await db.open()
    const sub = (name: string): Rows => db.sublevel(name, rowsOptions) as Rows
    await openFormat(db, { meta: sub('meta'), log: sub('log'), feeds: sub('feed'), heads: sub('head') })
    const store = new Store(db, opts)
    store.#end = await store.#log.end()
    await store.#indexer.open(store.#end)
    store.#indexer.logGrew(store.#end, store.#autoIndex)
    return store
  }

  /** The next log offset: how many messages this store has appended. */
  get size(): number {
    return this.#end
  }

  /** The state of `author`'s feed here, or undefined when none of it is held. */
  async feedState(author: FeedId): Promise<FeedState | undefined> {
    const k = toHex(author)
    const cached = this.#states.get(k)
    if (cached !== undefined) return cached ?? undefined
    const raw = await this.#heads.get(author)
    // An append may have committed while the read was in flight (this runs outside the write
    // mutex): its state is newer than what was read, and caching the read would hide it.
    const now = this.#states.get(k)
    if (now !== undefined) return now ?? undefined
    const s = raw ? decodeFeedState(raw) : null
    this.#states.set(k, s)
    return s ?? undefined
  }

  /** Every feed held, with its state. */
  async *feeds(): AsyncGenerator<[FeedId, FeedState]> {
    for await (const [k, v] of this.#heads.iterator()) yield [k, decodeFeedState(v)]
  }

  /**
   * Appends a verified message. It must extend the feed's head (seq + 1 and `prev` = head id),
   * or start a feed this store does not hold yet (at any seq: a store may hold a suffix).
   * A message already held is a `duplicate`; a different valid message at a seq already held
   * is a fork: both are stored as a proof, the feed is marked forked and takes nothing more.
   * @throws {MurmurError} `NOT_NEXT` when the message does not extend the head (a gap, or a
   * `prev` that names another message); `FEED_FORKED` when the feed is already forked.
   */
  async append(msg: VerifiedMsg, opts: { received?: number } = {}): Promise<AppendResult> {
    const [r] = await this.appendMany([msg], opts)
    if (r === undefined) throw new MurmurError('CORRUPT', 'append lost its result')
    if (r.kind === 'refused') throw new MurmurError(r.code, r.reason)
    return r
  }

  /**
   * Appends verified messages in one atomic batch (the fast path for replication): each is
   * checked against the head as left by the ones before it. Refusals are returned, not thrown,
   * so one bad message does not stop the others.
   */
  appendMany(msgs: readonly VerifiedMsg[], opts: { received?: number } = {}): Promise<(AppendResult | Refusal)[]> {
    return this.#mutex.run(() => this.#appendMany(msgs, opts.received ?? this.#now()))
  }

  async #appendMany(
    msgs: readonly VerifiedMsg[],
    received: number,
    durable = false,
  ): Promise<(AppendResult | Refusal)[]> {
    const results: (AppendResult | Refusal)[] = []
    const ops: BatchOp[] = []
    const staged = new Map<string, FeedState>()
    const authors = new Map<string, FeedId>()
    // Per feed, in the order feeds first appear: the messages to append and their results.
    const runs = new Map<string, { msgs: VerifiedMsg[]; results: { kind: 'appended'; offset: number }[] }>()
    for (const msg of msgs) {
      const author = msg.value.author
      const k = toHex(author)
      // Most heads are known already: no await (a turn of the microtask queue) per message.
      const known = staged.get(k) ?? this.#states.get(k)
      const state = known === undefined ? await this.feedState(author) : (known ?? undefined)
      const { seq, prev } = msg.value
      if (state?.forked) {
        results.push(refuse('FEED_FORKED', `${formatFeedId(author)} is forked; nothing more is taken from it`))
        continue
      }
      if (state === undefined || (seq === state.seq + 1 && prev !== null && prev.equals(state.id))) {
        staged.set(k, { seq, id: msg.id, first: state?.first ?? seq, forked: false })
        authors.set(k, author)
        const run = runs.get(k) ?? { msgs: [], results: [] }
        runs.set(k, run)
        const result = { kind: 'appended' as const, offset: -1 } // the offset is known below
        run.msgs.push(msg)
        run.results.push(result)
        results.push(result)
        continue
      }
      if (seq >= state.first && seq <= state.seq) {
        const held = await this.#heldAt(author, seq, runs.get(k)?.msgs ?? [])
        if (held?.id.equals(msg.id)) {
          results.push({ kind: 'duplicate' })
          continue
        }
        if (held) {
          const proof = makeForkProof(held as VerifiedMsg, msg)
          ops.push({ type: 'put', key: rootKey(this.#forks, author), value: encodeForkProof(proof) })
          staged.set(k, { ...state, forked: true })
          authors.set(k, author)
          results.push({ kind: 'forked', proof })
          continue
        }
      }
      const why =
        seq === state.seq + 1
          ? `seq ${seq} names another message as prev than the one held at ${state.seq} (a fork?)`
          : seq < state.first
            ? `seq ${seq} is before the first held message (${state.first})`
            : `seq ${seq} does not follow the head at ${state.seq}`
      results.push(refuse('NOT_NEXT', `${formatFeedId(author)}: ${why}`))
    }
    if (ops.length === 0 && runs.size === 0) return results
    const appended: IndexedMsg[] = []
    let offset = this.#end
    for (const [k, run] of runs) {
      this.#log.write(ops, authors.get(k) as FeedId, offset, received, run.msgs)
      for (let i = 0; i < run.msgs.length; i++) {
        ;(run.results[i] as { offset: number }).offset = offset
        appended.push({ offset: offset++, received, msg: run.msgs[i] as VerifiedMsg })
      }
    }
    for (const [k, s] of staged) {
      ops.push({ type: 'put', key: rootKey(this.#heads, authors.get(k) as FeedId), value: encodeFeedState(s) })
    }
    // `sync` (classic-level: fsync; browser: strict IndexedDB durability) for our own messages:
    // one lost after it was sent would make the next publish reuse its seq, a fork for good.
    // What peers sent can be fetched again, so it takes the faster, relaxed path.
    const commit = () => this.db.batch(ops, durable ? SYNC : {})
    if (this.#autoIndex) await this.#indexer.appendWith(this.#end, appended, ops, commit)
    else await commit()
    for (const [k, s] of staged) this.#states.set(k, s)
    this.#end = offset
    this.#indexer.logGrew(offset, this.#autoIndex)
    for (const e of appended) for (const fn of this.#listeners) fn(e.msg as VerifiedMsg, e.offset)
    return results
  }

  async #heldAt(author: FeedId, seq: number, staged: readonly VerifiedMsg[]): Promise<Msg | undefined> {
    for (const m of staged) if (m.value.seq === seq) return m
    const e = await this.#log.at(author, seq)
    return e ? decodeStored(e.id, e.bytes) : undefined
  }

  /**
   * Signs and appends a new message on `keys`' own feed, reading the head and appending as one
   * step, so two concurrent calls never sign two messages with the same seq (a fork).
   * @throws {MurmurError} `INVALID_ARGUMENT` for an invalid draft; `FEED_FORKED`.
   */
  publish(ed: Ed25519, keys: Keypair, draft: Draft | AnyDraft): Promise<VerifiedMsg> {
    return this.#mutex.run(async () => {
      const state = await this.feedState(keys.publicKey)
      if (state?.forked) throw new MurmurError('FEED_FORKED', 'your own feed is forked: restore from a newer copy')
      const msg = await createMsg(ed, keys, state, { ts: this.#now(), ...draft })
      const [r] = await this.#appendMany([msg], this.#now(), true)
      if (r?.kind !== 'appended') throw new MurmurError('NOT_NEXT', 'could not append your own message')
      return msg
    })
  }

  /** The message with id `id`, if held. */
  async get(id: CID): Promise<Msg | undefined> {
    const e = await this.#log.byId(id)
    return e ? decodeStored(e.id, e.bytes) : undefined
  }

  /** The log entry at `offset` with its decoded message. */
  async entry(offset: number): Promise<(LogEntry & { msg: Msg }) | undefined> {
    const e = await this.#log.entry(offset)
    return e ? withMsg(e) : undefined
  }

  /** `author`'s messages from seq `from` to `to` (default: all held), in seq order or reversed. */
  async *messages(author: FeedId, opts: { from?: number; to?: number; reverse?: boolean } = {}): AsyncGenerator<Msg> {
    const to = opts.to ?? Number.MAX_SAFE_INTEGER
    for await (const e of this.#log.feed(author, opts.from ?? 0, to, opts.reverse ?? false)) {
      yield decodeStored(e.id, e.bytes)
    }
  }

  /**
   * The signed bytes of up to `limit` of `author`'s messages from seq `from` to `to`, in seq
   * order, without decoding them: what replication sends. One range read of the feed index and
   * one batched read of the log, instead of a round trip per message.
   */
  async feedBytes(
    author: FeedId,
    opts: { from: number; to: number; limit: number },
  ): Promise<{ seq: number; bytes: Uint8Array }[]> {
    const entries = await this.#log.feedEntries(author, opts.from, opts.to, opts.limit)
    return entries.map((e) => ({ seq: e.seq, bytes: e.bytes }))
  }

  /** The arrival log from `from` on (streamed, never all in memory). */
  async *log(opts: { from?: number } = {}): AsyncGenerator<LogEntry & { msg: Msg }> {
    for await (const e of this.#log.entries(opts.from ?? 0)) yield withMsg(e)
  }

  /** The stored fork proof of `author`'s feed, if it forked. */
  async forkProof(author: FeedId): Promise<ForkProof | undefined> {
    const raw = await this.#forks.get(author)
    if (!raw) return undefined
    const [a, b] = dagCbor.decode(raw) as [Uint8Array, Uint8Array]
    const [value] = dagCbor.decode(a) as [{ seq: number }]
    return { author, seq: value.seq, a, b }
  }

  /** Calls `fn` after each message this store appends; returns the function that stops it. */
  onAppend(fn: (msg: VerifiedMsg, offset: number) => void): () => void {
    this.#listeners.add(fn)
    return () => this.#listeners.delete(fn)
  }

  /**
   * Resolves when every view has indexed the log as it is now.
   * @throws {MurmurError} `TIMEOUT` when that takes longer than `timeoutMs`.
   */
  indexed(timeoutMs = this.#indexWaitMs): Promise<void> {
    return this.#indexer.caughtUp(timeoutMs)
  }

  /** Starts indexing now (for stores opened with `autoIndex: false`). */
  index(): Promise<void> {
    this.#indexer.kick()
    return this.indexed()
  }

  /** How far the views have indexed (an offset), against {@link size}. */
  get indexedTo(): number {
    return this.#indexer.indexed
  }

  /** Drops view `name` and rebuilds it from the log; resolves when it has caught up. */
  async rebuildView(name: string): Promise<void> {
    await this.#indexer.rebuild(name)
    await this.indexed()
  }

  /** Finishes pending writes and closes the database. */
  async close(): Promise<void> {
    await this.#mutex.run(async () => {
      await this.#indexer.idle()
      await this.db.close()
    })
  }
}

/** A log entry with its message decoded (a plain LogEntry: no block fields). */
function withMsg(e: LogEntry): LogEntry & { msg: Msg } {
  return { offset: e.offset, received: e.received, id: e.id, bytes: e.bytes, msg: decodeStored(e.id, e.bytes) }
}

function refuse(code: Refusal['code'], reason: string): Refusal {
  return { kind: 'refused', code, reason }
}
