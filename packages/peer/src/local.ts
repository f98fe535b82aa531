/**
 * A peer's local state opened from a data folder: identity, ed25519, the store on
 * classic-level. The folder is locked by LevelDB while it is open, so a second process gets
 * a clear "in use" error (and the CLI then talks to the running peer instead).
 */
import { hash } from 'node:crypto'
import { mkdir } from 'node:fs/promises'
import type { Ed25519, Keypair, Sha256 } from '@murmur/core'
import { createSodiumEd25519 } from '@murmur/core/sodium'
import { createSodiumPool } from '@murmur/core/sodium-pool'
import { Store } from '@murmur/store'
import { ClassicLevel } from 'classic-level'
import { CliError, EXIT } from './errors.js'
import { loadIdentity } from './identity.js'
import { dataPaths } from './paths.js'

/** Node's native sha-256 (faster than the pure one for blobs). */
export const nodeSha256: Sha256 = (b) => hash('sha256', b, 'buffer')

/** What a command works with. */
export interface Local {
  readonly dataDir: string
  readonly keys: Keypair
  readonly ed: Ed25519
  readonly store: Store
  close(): Promise<void>
}

/** Options of {@link openLocal}. */
export interface OpenOptions {
  /** Verify on every core (for `serve` and `sync`); one-shot commands verify inline. */
  pool?: boolean
}

/**
 * Opens the data folder's identity and store.
 * @throws {CliError} `noIdentity` without an identity; `locked` when another process holds it.
 */
export async function openLocal(dataDir: string, opts: OpenOptions = {}): Promise<Local> {
  const paths = dataPaths(dataDir)
  const ed = opts.pool ? createSodiumPool() : createSodiumEd25519()
  const keys = await loadIdentity(ed, paths.secret)
  await mkdir(paths.db, { recursive: true, mode: 0o700 })
  const db = new ClassicLevel(paths.db, { keyEncoding: 'view', valueEncoding: 'view' })
  try {
    await db.open()
  } catch (err) {
    await ed.close?.()
    if (isLocked(err))
      throw new CliError(
        `the data folder ${dataDir} is in use by another murmur process: stop it, or use another --data folder`,
        EXIT.locked,
      )
    throw new CliError(`cannot open the database in ${paths.db}: ${(err as Error).message}`, EXIT.failed, {
      cause: err,
    })
  }
  const store = await Store.open(db, { me: keys.publicKey })
  return {
    dataDir,
    keys,
    ed,
    store,
    async close() {
      await store.close()
      await ed.close?.()
    },
  }
}

/** True when a LevelDB open failed because another process (or this one) holds the lock. */
export function isLocked(err: unknown): boolean {
  const e = err as { code?: string; cause?: { code?: string } }
  return e?.code === 'LEVEL_LOCKED' || e?.cause?.code === 'LEVEL_LOCKED'
}
