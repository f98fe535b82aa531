/** Test helpers: fresh stores and real signed feeds. */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createMsg, type Draft, type Keypair, keypairFromSeed, type VerifiedMsg } from '@murmur/core'
import { createSodiumEd25519 } from '@murmur/core/sodium'
import { ClassicLevel } from 'classic-level'
import { MemoryLevel } from 'memory-level'
import { Store, type StoreOptions } from '../src/index.js'

export const ed = createSodiumEd25519()

/** A deterministic identity from a small number. */
export function identity(n: number): Promise<Keypair> {
  const seed = new Uint8Array(32)
  new DataView(seed.buffer).setUint32(0, n + 1)
  return keypairFromSeed(ed, seed)
}

/** A fresh in-memory store. */
export function memoryStore(opts: StoreOptions = {}): Promise<Store> {
  return Store.open(new MemoryLevel({ keyEncoding: 'view', valueEncoding: 'view' }), opts)
}

/** A temporary folder, removed by the returned function. */
export async function tempDir(): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), 'murmur-store-'))
  return { path, remove: () => rm(path, { recursive: true, force: true }) }
}

/** A classic-level store on disk at `path`. */
export function diskStore(path: string, opts: StoreOptions = {}): Promise<Store> {
  return Store.open(new ClassicLevel(path, { keyEncoding: 'view', valueEncoding: 'view' }), opts)
}

/** Writes a feed outside any store: `n` posts (or the drafts given) chained from `after`. */
export class FeedWriter {
  readonly keys: Keypair
  head: VerifiedMsg | undefined

  constructor(keys: Keypair, head?: VerifiedMsg) {
    this.keys = keys
    this.head = head
  }

  async next(
    draft: Draft = { type: 'post', content: { text: `post ${(this.head?.value.seq ?? 0) + 1}` } },
  ): Promise<VerifiedMsg> {
    const h = this.head
    this.head = await createMsg(ed, this.keys, h && { seq: h.value.seq, id: h.id }, { ts: 1_760_000_000_000, ...draft })
    return this.head
  }

  async many(n: number): Promise<VerifiedMsg[]> {
    const out: VerifiedMsg[] = []
    for (let i = 0; i < n; i++) out.push(await this.next())
    return out
  }
}

/** Every row of every view and the log indexes, for comparing two stores or two builds. */
export async function dumpViews(store: Store): Promise<Record<string, [string, string][]>> {
  const out: Record<string, [string, string][]> = {}
  for (const [name, view] of Object.entries(store.views)) {
    const rows: [string, string][] = []
    for await (const [k, v] of view.rows.iterator())
      rows.push([Buffer.from(k).toString('hex'), Buffer.from(v).toString('hex')])
    out[name] = rows
  }
  return out
}
