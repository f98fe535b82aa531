/**
 * The store's database in the browser: browser-level (IndexedDB) with a faster batch.
 *
 * browser-level 3 writes a batch one request at a time, waiting for each put's success event
 * before it issues the next, so every row costs a round trip to the IndexedDB backend. Requests
 * within one transaction are already applied in the order they are made (IndexedDB spec,
 * "request ordering"), so this class issues them all at once and commits: the same atomic,
 * ordered batch, several times faster. Batches run with `relaxed` durability (the browser may
 * acknowledge before the disk has flushed, still atomically and in commit order) unless the
 * caller passes `{ sync: true }` — the store does that for the person's own messages, which
 * must never be lost once they may have been sent (see Store.publish).
 */
import { BrowserLevel, type DatabaseOptions } from 'browser-level'

type Bytes = Uint8Array
interface BatchOp {
  readonly type: 'put' | 'del'
  readonly key: Bytes
  readonly value?: Bytes
}

/** browser-level with one-shot batches; keys and values are Uint8Array. */
export class IdbLevel extends BrowserLevel<Bytes, Bytes> {
  /** @param name the IndexedDB database (and object store) name. */
  constructor(name: string, options: Omit<DatabaseOptions<Bytes, Bytes>, 'keyEncoding' | 'valueEncoding'> = {}) {
    super(name, { ...options, keyEncoding: 'view', valueEncoding: 'view' })
  }

  /** abstract-level's batch hook (not in browser-level's types): see the note at the top. */
  async _batch(operations: BatchOp[], options: { sync?: boolean } | undefined): Promise<void> {
    if (operations.length === 0) return
    const idb = (this as unknown as { db: IDBDatabase }).db
    const tx = idb.transaction([this.location], 'readwrite', { durability: options?.sync ? 'strict' : 'relaxed' })
    const store = tx.objectStore(this.location)
    const done = new Promise<void>((resolve, reject) => {
      tx.oncomplete = () => resolve()
      tx.onabort = () => reject(tx.error ?? new Error('the IndexedDB transaction was aborted'))
    })
    try {
      for (const op of operations) {
        if (op.type === 'del') store.delete(op.key as IDBValidKey)
        else store.put(op.value, op.key as IDBValidKey)
      }
    } catch (e) {
      tx.abort()
      await done.catch(() => undefined)
      throw e
    }
    tx.commit()
    return done
  }
}
