/**
 * ed25519 rates of each Node backend, through the strict path the app uses (core's pre-check,
 * then the backend): sodium-native's synchronous verify, WebCrypto (Node's OpenSSL) in batches,
 * noble's synchronous verify. Each is timed for about a second (noble for half of one: it is
 * ~20x slower) after a short warm-up, on a pool of distinct keys and 100-byte messages.
 *
 * WebCrypto does its work off the main thread: Node runs each sign and verify as a job on the
 * libuv thread pool, so a batch in flight can use more than one core. The others are strictly
 * single-threaded.
 */
import {
  createNobleEd25519,
  createWebCryptoEd25519,
  type Ed25519,
  type VerifyItem,
  verifyStrict,
  verifyStrictSync,
} from '@murmur/core'
import { createSodiumEd25519 } from '@murmur/core/sodium'

/** One backend's measured rates, operations per second. */
export interface Ed25519Rate {
  readonly name: string
  readonly verifyPerSec: number
  readonly signPerSec: number
}

const POOL = 64
const BATCH = 64

/**
 * Measures verify and sign rates of sodium, webcrypto and noble in this process.
 * @throws when a backend rejects one of its own signatures (the numbers would be meaningless).
 */
export async function measureVerifyRates(): Promise<Ed25519Rate[]> {
  const sodium = createSodiumEd25519()
  const pool = await makePool(sodium)
  const out: Ed25519Rate[] = []
  for (const [backend, budgetMs] of [
    [sodium, 1000],
    [createWebCryptoEd25519(globalThis.crypto.subtle), 1000],
    [createNobleEd25519(), 500],
  ] as const) {
    out.push({
      name: backend.name,
      verifyPerSec: await verifyRate(backend, pool, budgetMs),
      signPerSec: await signRate(backend, pool, budgetMs),
    })
  }
  return out
}

interface PoolEntry extends VerifyItem {
  readonly seed: Uint8Array
}

async function makePool(ed: Ed25519): Promise<PoolEntry[]> {
  const pool: PoolEntry[] = []
  for (let i = 0; i < POOL; i++) {
    const seed = globalThis.crypto.getRandomValues(new Uint8Array(32))
    const message = globalThis.crypto.getRandomValues(new Uint8Array(100))
    pool.push({ seed, message, publicKey: await ed.publicKey(seed), signature: await ed.sign(seed, message) })
  }
  return pool
}

async function verifyRate(ed: Ed25519, pool: readonly PoolEntry[], budgetMs: number): Promise<number> {
  if (ed.verifySync !== undefined) {
    return timed(budgetMs, (i) => {
      if (!verifyStrictSync(ed, pool[i % pool.length] as PoolEntry))
        throw new Error(`${ed.name} rejected a valid signature`)
      return 1
    })
  }
  const batch = pool.slice(0, BATCH)
  return timedAsync(budgetMs, async () => {
    const verdicts = await verifyStrict(ed, batch)
    if (!verdicts.every(Boolean)) throw new Error(`${ed.name} rejected a valid signature`)
    return verdicts.length
  })
}

async function signRate(ed: Ed25519, pool: readonly PoolEntry[], budgetMs: number): Promise<number> {
  const batch = pool.slice(0, BATCH)
  return timedAsync(budgetMs, async () => {
    await Promise.all(batch.map((p) => ed.sign(p.seed, p.message)))
    return batch.length
  })
}

// Runs `op` (which returns how many operations it did) for about `budgetMs` after a warm-up.
function timed(budgetMs: number, op: (i: number) => number): number {
  for (let i = 0; i < 20; i++) op(i)
  let n = 0
  const start = performance.now()
  let now = start
  for (let i = 0; now - start < budgetMs; i++) {
    n += op(i)
    now = performance.now()
  }
  return Math.round((n * 1000) / (now - start))
}

async function timedAsync(budgetMs: number, op: () => Promise<number>): Promise<number> {
  await op()
  let n = 0
  const start = performance.now()
  let now = start
  while (now - start < budgetMs) {
    n += await op()
    now = performance.now()
  }
  return Math.round((n * 1000) / (now - start))
}

/**
 * The raw single-core verify rate: sodium-native's synchronous verify of valid signatures (no
 * pre-checks), best of `rounds` half-second runs, so a passing hiccup of the machine does not
 * lower the yardstick that other figures are compared with.
 */
export async function rawVerifyRate(rounds = 3): Promise<number> {
  const sodium = createSodiumEd25519()
  const verify = sodium.verifySync as NonNullable<typeof sodium.verifySync>
  const pool = await makePool(sodium)
  let best = 0
  for (let r = 0; r < rounds; r++) {
    best = Math.max(
      best,
      timed(500, (i) => {
        if (!verify(pool[i % pool.length] as PoolEntry)) throw new Error('sodium rejected a valid signature')
        return 1
      }),
    )
  }
  return best
}
