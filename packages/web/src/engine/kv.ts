/**
 * A tiny key-value store in its own IndexedDB database, for what must outlive the app's
 * store and never mix with replicated data: the secret seed and the engine's settings.
 * Values are structured-cloned (Uint8Array, plain objects). Writes use `strict` durability:
 * a seed acknowledged but lost in a crash would lose the identity.
 */

/** Small, durable key-value storage (the seed and settings). */
export interface KeyValue {
  get(key: string): Promise<unknown>
  put(key: string, value: unknown): Promise<void>
  close(): void
}

const STORE = 'kv'

/** Opens (creating if needed) the IndexedDB database `name` as a {@link KeyValue}. */
export async function openIdbKeyValue(name: string, idb: IDBFactory = indexedDB): Promise<KeyValue> {
  const db = await request(
    (() => {
      const open = idb.open(name, 1)
      open.onupgradeneeded = () => open.result.createObjectStore(STORE)
      return open
    })(),
  )
  // Another context deleting or upgrading the database: let it, rather than block it forever.
  db.onversionchange = () => db.close()
  return {
    get: (key) => request(db.transaction(STORE, 'readonly').objectStore(STORE).get(key)),
    async put(key, value) {
      const tx = db.transaction(STORE, 'readwrite', { durability: 'strict' })
      tx.objectStore(STORE).put(value, key)
      await done(tx)
    },
    close: () => db.close(),
  }
}

function request<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result)
    req.onerror = () => reject(req.error ?? new Error('an IndexedDB request failed'))
  })
}

function done(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve()
    tx.onabort = () => reject(tx.error ?? new Error('an IndexedDB transaction was aborted'))
    tx.onerror = () => reject(tx.error ?? new Error('an IndexedDB transaction failed'))
  })
}
