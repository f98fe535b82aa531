/** What every view class shares: its store (for queries) and its attached rows. */
import { type FeedId, MurmurError } from '@murmur/core'
import { key, prefixEnd } from '../codec.js'
import type { Store } from '../store.js'
import type { IndexedMsg, Rows, RowWriter, View } from '../view.js'

/** A view constructed with the store it answers queries from. */
export abstract class StoreView implements View {
  abstract readonly name: string
  abstract readonly version: number
  readonly store: Store
  #rows: Rows | undefined

  constructor(store: Store) {
    this.store = store
  }

  /**
   * The view's own key space.
   * @throws {MurmurError} `NOT_OPEN` before the store attached it.
   */
  get rows(): Rows {
    if (!this.#rows) throw new MurmurError('NOT_OPEN', `the ${this.name} view is not attached to a store`)
    return this.#rows
  }

  /** Called by the store with this view's key space. */
  attach(rows: Rows): void {
    this.#rows = rows
  }

  abstract apply(entries: readonly IndexedMsg[], out: RowWriter): void | Promise<void>
}

const ONE = new Uint8Array([1])
const FEED_BYTES = 32

/**
 * A relation between feeds (follows, blocks) kept both ways, so either side is one prefix scan:
 * `forward ‖ a ‖ b` and `reverse ‖ b ‖ a`, each -> [1] while the relation holds.
 */
export class Edges {
  readonly #forward: Uint8Array
  readonly #reverse: Uint8Array

  constructor(forward: number, reverse: number) {
    this.#forward = new Uint8Array([forward])
    this.#reverse = new Uint8Array([reverse])
  }

  /** Writes (or removes, when `on` is false) the relation a -> b. */
  write(out: RowWriter, a: FeedId, b: FeedId, on: boolean): void {
    const fwd = key(this.#forward, a, b)
    const rev = key(this.#reverse, b, a)
    if (on) {
      out.put(fwd, ONE)
      out.put(rev, ONE)
    } else {
      out.del(fwd)
      out.del(rev)
    }
  }

  /** The feeds `a` relates to. */
  from(rows: Rows, a: FeedId): Promise<FeedId[]> {
    return scan(rows, key(this.#forward, a))
  }

  /** The feeds that relate to `b`. */
  to(rows: Rows, b: FeedId): Promise<FeedId[]> {
    return scan(rows, key(this.#reverse, b))
  }

  /** True while a relates to b. */
  async has(rows: Rows, a: FeedId, b: FeedId): Promise<boolean> {
    return (await rows.get(key(this.#forward, a, b))) !== undefined
  }
}

async function scan(rows: Rows, prefix: Uint8Array): Promise<FeedId[]> {
  const out: FeedId[] = []
  for await (const k of rows.keys({ gt: prefix, lt: prefixEnd(prefix) })) out.push(k.slice(1 + FEED_BYTES))
  return out
}
