/**
 * The view contract (kappa architecture): a view is a versioned reducer over the log. The
 * indexer feeds it messages in log order and writes its rows and its checkpoint in one atomic
 * batch, so a view is never ahead of or behind its own checkpoint, even after a crash. Bumping
 * `version` clears the view's rows and rebuilds it from the log.
 */
import type { Msg } from '@murmur/core'
import type { AbstractLevel, AbstractSublevel } from 'abstract-level'

/** Any abstract-level database (classic-level, browser-level, memory-level) with binary keys. */
// biome-ignore lint/suspicious/noExplicitAny: the store works with any backend's format types
export type Db = AbstractLevel<any, any, any>

/** A sublevel of binary keys and values: a view's own key space. */
// biome-ignore lint/suspicious/noExplicitAny: abstract-level's parent-database type parameter is irrelevant here
export type Rows = AbstractSublevel<any, any, Uint8Array, Uint8Array>

/** A log entry as views see it: the message (verified before it was appended) and where it sits. */
export interface IndexedMsg {
  /** Position in this store's arrival log. */
  readonly offset: number
  /** When this store received it (ms): views order by min(received, claimed). */
  readonly received: number
  readonly msg: Msg
}

/** Where a view writes its rows: collected into the indexer's atomic batch. */
export interface RowWriter {
  put(key: Uint8Array, value: Uint8Array): void
  del(key: Uint8Array): void
}

/** A materialized view: a named, versioned reducer with its own rows. */
export interface View {
  /** Unique name; also the name of its key space. */
  readonly name: string
  /** Bump to clear and rebuild the view when its rows' meaning changes. */
  readonly version: number
  /** Called once by the store before any `apply`, with the view's own rows to read and query. */
  attach(rows: Rows): void
  /**
   * Reduces `entries` (in log order) into row writes. Must be deterministic: the same log gives
   * the same rows, so a view can be dropped and rebuilt at any time. May keep in-memory state
   * that mirrors its rows (rebuilt by {@link reset} and replays).
   */
  apply(entries: readonly IndexedMsg[], out: RowWriter): void | Promise<void>
  /** Forgets in-memory state when the view's rows are cleared. */
  reset?(): void
}

/**
 * An operation of a root-database batch. Keys are full root keys (see {@link rootKey}): going
 * around abstract-level's per-operation sublevel handling makes a batch about a third cheaper.
 */
export type BatchOp = { type: 'put'; key: Uint8Array; value: Uint8Array } | { type: 'del'; key: Uint8Array }

const prefixes = new WeakMap<Rows, Uint8Array>()
const encoder = new TextEncoder()

/** The root-database key of `key` in `rows` (a sublevel of the root): its prefix, then the key. */
export function rootKey(rows: Rows, key: Uint8Array): Uint8Array {
  let prefix = prefixes.get(rows)
  if (prefix === undefined) {
    prefix = encoder.encode(rows.prefix)
    prefixes.set(rows, prefix)
  }
  const out = new Uint8Array(prefix.length + key.length)
  out.set(prefix)
  out.set(key, prefix.length)
  return out
}
