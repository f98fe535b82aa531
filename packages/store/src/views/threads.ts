/**
 * The threads view: the replies of each thread.
 *
 * Rows: `root id (36 bytes) ‖ offset (u64)` -> empty, one per post that names a `root`. A
 * thread is read with one range scan over its root's prefix, then ordered at query time:
 * claimed times cannot be trusted and replies arrive in any order, so the order is causal —
 * a reply comes after every message of the thread its `branch` names (a topological order;
 * hash links cannot form a cycle), and among replies that are free to go next, the one with
 * the earliest min(received, ts) goes first, then the smaller id. A branch naming a message
 * that is not in the thread (not held yet, or in another thread) does not hold a reply back.
 */
import type { CID, Msg } from '@murmur/core'
import { key, prefixEnd, readU64, u64 } from '../codec.js'
import type { IndexedMsg, RowWriter } from '../view.js'
import { StoreView } from './base.js'

/** A thread: its root (when held) and its replies in causal order. */
export interface Thread {
  readonly root?: Msg
  readonly replies: Msg[]
}

const EMPTY = new Uint8Array(0)

interface Node {
  readonly msg: Msg
  readonly id: string
  readonly sortTime: number
  /** Replies in this thread that name this one in their branch. */
  readonly children: Node[]
  /** Parents in this thread not yet placed. */
  waiting: number
}

/** Posts by thread root; the query orders a thread's replies causally. */
export class ThreadsView extends StoreView {
  readonly name = 'threads'
  readonly version = 1

  /** One row per reply; no reads. */
  apply(entries: readonly IndexedMsg[], out: RowWriter): void {
    for (const e of entries) {
      if (e.msg.value.type !== 'post') continue
      const root = (e.msg.value.content as { root?: CID }).root
      if (root) out.put(key(root.bytes, u64(e.offset)), EMPTY)
    }
  }

  /**
   * The thread that starts at `rootId`: the root message if held, and every held reply in
   * causal order. Waits until the views have indexed the log as it is now.
   * @throws {MurmurError} `TIMEOUT` when indexing does not catch up in time.
   */
  async thread(rootId: CID): Promise<Thread> {
    await this.store.indexed()
    const prefix = rootId.bytes
    const nodes = new Map<string, Node>()
    for await (const k of this.rows.keys({ gt: prefix, lt: prefixEnd(prefix) })) {
      const e = await this.store.entry(readU64(k, prefix.length))
      if (!e) continue
      const id = e.msg.id.toString()
      nodes.set(id, { msg: e.msg, id, sortTime: Math.min(e.received, e.msg.value.ts), children: [], waiting: 0 })
    }
    const root = await this.store.get(rootId)
    return root ? { root, replies: causalOrder(nodes) } : { replies: causalOrder(nodes) }
  }
}

/** Kahn's algorithm, always taking the earliest ready reply next. */
function causalOrder(nodes: Map<string, Node>): Msg[] {
  for (const node of nodes.values()) {
    const branch = (node.msg.value.content as { branch?: CID[] }).branch ?? []
    const seen = new Set<string>()
    for (const link of branch) {
      const id = link.toString()
      const parent = nodes.get(id)
      if (!parent || seen.has(id)) continue // unknown or outside the thread (or the root)
      seen.add(id)
      parent.children.push(node)
      node.waiting++
    }
  }
  // `ready` is kept sorted latest first, so the earliest is popped from the end.
  const ready = [...nodes.values()].filter((n) => n.waiting === 0).sort((a, b) => compare(b, a))
  const out: Msg[] = []
  while (ready.length > 0) {
    const next = ready.pop() as Node
    out.push(next.msg)
    for (const child of next.children) {
      if (--child.waiting === 0) ready.splice(insertAt(ready, child), 0, child)
    }
  }
  return out
}

/** Earlier sort time first, then the smaller id (a total order: ids are unique). */
function compare(a: Node, b: Node): number {
  return a.sortTime - b.sortTime || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
}

/** Where `node` goes in `ready` (sorted latest first). */
function insertAt(ready: Node[], node: Node): number {
  let lo = 0
  let hi = ready.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (compare(ready[mid] as Node, node) > 0) lo = mid + 1
    else hi = mid
  }
  return lo
}
