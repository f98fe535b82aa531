/**
 * Experiment: raw IndexedDB put costs in this Chromium (main-thread issue time and wall time),
 * by rows per transaction, value size and type; `mode` 'one' packs a transaction's rows into
 * one value (what the store's log blocks do). And the cost of a WebCrypto Ed25519 verify.
 */

function open(name: string): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const r = indexedDB.open(name, 1)
    r.onupgradeneeded = () => r.result.createObjectStore('s')
    r.onsuccess = () => resolve(r.result)
    r.onerror = () => reject(r.error)
  })
}

function keyOf(i: number, len: number, salt: number): Uint8Array {
  const k = new Uint8Array(len)
  k[0] = 0x21
  k[1] = salt
  new DataView(k.buffer).setUint32(len - 4, i)
  return k
}

/** `rows` puts, `txRows` per transaction; returns puts/s and µs per put (issuing, wall). */
export async function puts(input: {
  rows: number
  txRows: number
  valueBytes: number
  keyBytes: number
  mode: string
}) {
  const db = await open(`idb-${Math.random()}`)
  const value = new Uint8Array(input.valueBytes).fill(7)
  let issue = 0
  const t0 = performance.now()
  for (let done = 0; done < input.rows; done += input.txRows) {
    const tx = db.transaction(['s'], 'readwrite', { durability: 'relaxed' })
    const s = tx.objectStore('s')
    const ok = new Promise<void>((resolve, reject) => {
      tx.oncomplete = () => resolve()
      tx.onabort = () => reject(tx.error)
    })
    const ti = performance.now()
    const n = Math.min(input.txRows, input.rows - done)
    if (input.mode === 'one') {
      // n rows packed into one value
      const big = new Uint8Array(input.valueBytes * n)
      s.put(big, keyOf(done, input.keyBytes, 1) as unknown as IDBValidKey)
    } else {
      for (let i = 0; i < n; i++) {
        const k = keyOf(done + i, input.keyBytes, 1)
        const v = input.mode === 'copy' ? value.slice() : input.mode === 'ab' ? value.slice().buffer : value
        s.put(v, (input.mode === 'abkey' ? k.buffer : k) as unknown as IDBValidKey)
      }
    }
    tx.commit()
    issue += performance.now() - ti
    await ok
  }
  const wall = performance.now() - t0
  db.close()
  return {
    ...input,
    putsPerSec: Math.round((input.rows / wall) * 1000),
    issueUsPerPut: (issue * 1000) / input.rows,
    wallUsPerPut: (wall * 1000) / input.rows,
  }
}

/** The main-thread cost of issuing `n` WebCrypto Ed25519 verifies, against their wall time. */
export async function verifies(input: { n: number }) {
  const subtle = globalThis.crypto.subtle
  const pair = (await subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify'])) as CryptoKeyPair
  const msg = new Uint8Array(350).fill(1)
  const sig = new Uint8Array(await subtle.sign({ name: 'Ed25519' }, pair.privateKey, msg))
  const t0 = performance.now()
  const all: Promise<boolean>[] = []
  for (let i = 0; i < input.n; i++) all.push(subtle.verify({ name: 'Ed25519' }, pair.publicKey, sig, msg))
  const issued = performance.now() - t0
  const ok = (await Promise.all(all)).every(Boolean)
  const wall = performance.now() - t0
  return { ok, issueUs: (issued * 1000) / input.n, wallUs: (wall * 1000) / input.n }
}
