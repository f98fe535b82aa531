/**
 * Live latency: the time from `post` on one peer to the message stored on a connected peer.
 * Posts go one at a time (each waits for its arrival), after a short warm-up, so every sample
 * is one message's trip through sign, append, the sender's pump, the WebSocket, the receiver's
 * decode, verify and append, and nothing queues behind another post.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { equalBytes, type FeedId, keypairFromSeed, type VerifiedMsg } from '@murmur/core'
import { createSodiumEd25519 } from '@murmur/core/sodium'
import { listen, nodeDial } from '@murmur/net/node'
import { Replicator } from '@murmur/replicate'
import { Store } from '@murmur/store'
import { ClassicLevel } from 'classic-level'
import { nodeSha256 } from './store.js'

/** Median, p99 and max of a latency series, in ms. */
export interface LatencyStats {
  readonly posts: number
  readonly medianMs: number
  readonly p99Ms: number
  readonly maxMs: number
}

/** Summarizes `samples` (ms) by nearest rank. */
export function latencyStats(samples: readonly number[]): LatencyStats {
  const s = [...samples].sort((a, b) => a - b)
  const rank = (p: number): number => s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))] ?? Number.NaN
  const r = (n: number): number => Math.round(n * 100) / 100
  return { posts: s.length, medianMs: r(rank(0.5)), p99Ms: r(rank(0.99)), maxMs: r(rank(1)) }
}

/**
 * Resolves with the time (performance.now) at which `store` appends the next message of
 * `author`; call it before the post, so the append cannot be missed.
 * @throws (as a rejection) when none arrives within `timeoutMs`.
 */
export function nextAppend(store: Store, author: FeedId, timeoutMs = 5000): Promise<number> {
  return new Promise((resolve, reject) => {
    const off = store.onAppend((msg: VerifiedMsg) => {
      if (!equalBytes(msg.value.author, author)) return
      const at = performance.now()
      off()
      clearTimeout(timer)
      resolve(at)
    })
    const timer = setTimeout(() => {
      off()
      reject(new Error(`no message of the posting peer arrived within ${timeoutMs} ms`))
    }, timeoutMs)
  })
}

/** The number of unmeasured posts before the measured ones (JIT, socket and cache warm-up). */
export const WARM_UP = 20

async function openPeer(dir: string) {
  const ed = createSodiumEd25519()
  const keys = await keypairFromSeed(ed, globalThis.crypto.getRandomValues(new Uint8Array(32)))
  const db = new ClassicLevel<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' })
  const store = await Store.open(db, { me: keys.publicKey })
  return { ed, keys, store }
}

/**
 * Two peers in this process with their own classic-level stores, connected over a real
 * WebSocket on loopback (the receiver dials the sender's listener and follows it); the sender
 * posts `posts` times. Both event loops are this one, so each sample includes both sides' work.
 */
export async function pairLatency(posts: number): Promise<LatencyStats> {
  const dir = await mkdtemp(join(tmpdir(), 'murmur-latency-'))
  const sender = await openPeer(join(dir, 'sender'))
  const receiver = await openPeer(join(dir, 'receiver'))
  const replicators: Replicator[] = []
  const ended: (() => Promise<void>)[] = []
  try {
    await receiver.store.publish(receiver.ed, receiver.keys, {
      type: 'contact',
      content: { target: sender.keys.publicKey, following: true },
    })
    await receiver.store.indexed()
    const options = { sha256: nodeSha256 }
    const rs = new Replicator({ ...sender, ...options })
    const rr = new Replicator({ ...receiver, ...options })
    replicators.push(rs, rr)
    const listener = await listen({ port: 0, onChannel: (channel) => rs.connect(channel, { initiator: false }) })
    ended.push(() => listener.close())
    const conn = rr.connect(await nodeDial(listener.url, { timeoutMs: 10_000 }), { initiator: true })
    await conn.ready

    const post = async (i: number): Promise<number> => {
      const t0 = performance.now()
      const arrived = nextAppend(receiver.store, sender.keys.publicKey)
      await sender.store.publish(sender.ed, sender.keys, { type: 'post', content: { text: `latency ${i}` } })
      return (await arrived) - t0
    }
    // The first post also waits for the receiver's want to reach the sender.
    for (let i = 0; i < WARM_UP; i++) await post(-i)
    const samples: number[] = []
    for (let i = 0; i < posts; i++) samples.push(await post(i))
    return latencyStats(samples)
  } finally {
    await Promise.all(replicators.map((r) => r.close()))
    for (const end of ended) await end()
    await sender.store.close()
    await receiver.store.close()
    await rm(dir, { recursive: true, force: true })
  }
}
