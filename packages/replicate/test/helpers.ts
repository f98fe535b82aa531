/** Test helpers: fresh in-memory peers, signed feeds, raw Noise sessions and bounded waits. */
import { createHash } from 'node:crypto'
import {
  type AnyDraft,
  createMsg,
  type Draft,
  type FeedId,
  type Keypair,
  keypairFromSeed,
  type Sha256,
  type VerifiedMsg,
} from '@murmur/core'
import { createSodiumEd25519 } from '@murmur/core/sodium'
import { Store } from '@murmur/store'
import { MemoryLevel } from 'memory-level'
import { type Channel, type MemoryChannelOptions, memoryChannelPair } from '../src/channel.js'
import type { Connection, ConnectOptions } from '../src/connection.js'
import { decodeFrame, type Frame, isFrameError } from '../src/frames.js'
import { PUBLIC_NETWORK_KEY } from '../src/handshake.js'
import { Replicator, type ReplicatorOptions } from '../src/replicator.js'
import { type CloseInfo, Session } from '../src/session.js'

export const ed = createSodiumEd25519()
export const sha256: Sha256 = (b) => new Uint8Array(createHash('sha256').update(b).digest())

/** A deterministic identity from a small number. */
export function identity(n: number): Promise<Keypair> {
  const seed = new Uint8Array(32)
  new DataView(seed.buffer).setUint32(0, n + 1000)
  return keypairFromSeed(ed, seed)
}

/** A fresh in-memory store. */
export function memoryStore(me?: FeedId): Promise<Store> {
  return Store.open(new MemoryLevel({ keyEncoding: 'view', valueEncoding: 'view' }), { me })
}

/** A peer: identity, fresh store and replicator; `close` tears both down. */
export interface Peer {
  readonly keys: Keypair
  readonly id: FeedId
  readonly store: Store
  readonly rep: Replicator
  post(text: string, extra?: Record<string, unknown>): Promise<VerifiedMsg>
  follow(target: FeedId, following?: boolean): Promise<VerifiedMsg>
  block(target: FeedId): Promise<VerifiedMsg>
  close(): Promise<void>
}

/** Makes peer number `n` with a fresh store. */
export async function makePeer(n: number, opts: Partial<ReplicatorOptions> = {}): Promise<Peer> {
  const keys = await identity(n)
  const store = await memoryStore(keys.publicKey)
  const rep = new Replicator({ store, ed, keys, sha256, ...opts })
  return {
    keys,
    id: keys.publicKey,
    store,
    rep,
    post: (text, extra = {}) => store.publish(ed, keys, { type: 'post', content: { text, ...extra } } as AnyDraft),
    follow: (target, following = true) => store.publish(ed, keys, { type: 'contact', content: { target, following } }),
    block: (target) => store.publish(ed, keys, { type: 'contact', content: { target, blocking: true } }),
    async close() {
      await rep.close()
      await store.close()
    },
  }
}

/** Connects two replicators over a memory pair; resolves when both are ready. */
export async function link(
  a: Peer,
  b: Peer,
  opts: MemoryChannelOptions = {},
  conn: Partial<ConnectOptions> = {},
): Promise<{ ab: Connection; ba: Connection; channels: [Channel, Channel] }> {
  const channels = memoryChannelPair(opts)
  const ab = a.rep.connect(channels[0], { initiator: true, ...conn })
  const ba = b.rep.connect(channels[1], { initiator: false })
  await Promise.all([ab.ready, ba.ready])
  return { ab, ba, channels }
}

/** Waits until `check` is true, looking again every few ms; fails after `timeoutMs`. */
export async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const end = performance.now() + timeoutMs
  for (;;) {
    if (await check()) return
    if (performance.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 5))
  }
}

/** Resolves with `p`, or fails after `timeoutMs`. */
export function within<T>(p: Promise<T>, what: string, timeoutMs = 5000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs)
    }),
  ]).finally(() => clearTimeout(timer))
}

/** How many messages of `feed` a store holds (its head seq, 0 for none). */
export async function seqOf(store: Store, feed: FeedId): Promise<number> {
  return (await store.feedState(feed))?.seq ?? 0
}

/** Writes a feed outside any store. */
export class FeedWriter {
  readonly keys: Keypair
  head: VerifiedMsg | undefined
  constructor(keys: Keypair, head?: VerifiedMsg) {
    this.keys = keys
    this.head = head
  }
  async next(draft?: Draft | AnyDraft): Promise<VerifiedMsg> {
    const h = this.head
    const seq = (h?.value.seq ?? 0) + 1
    this.head = await createMsg(
      ed,
      this.keys,
      h && { seq: h.value.seq, id: h.id },
      { ts: 1_760_000_000_000 + seq, ...(draft ?? { type: 'post', content: { text: `post ${seq}` } }) },
      sha256,
    )
    return this.head
  }
  async many(n: number, text = 'post'): Promise<VerifiedMsg[]> {
    const out: VerifiedMsg[] = []
    for (let i = 0; i < n; i++) out.push(await this.next({ type: 'post', content: { text: `${text} ${i + 1}` } }))
    return out
  }
}

/** A raw Noise session to a replicator, for playing a misbehaving peer. */
export interface RawPeer {
  readonly keys: Keypair
  readonly session: Session
  /** The raw side's channel (to send unsealed wire frames). */
  readonly channel: Channel
  /** The replicator's side of the connection. */
  readonly conn: Connection
  /** Frames received from the replicator. */
  readonly frames: Frame[]
  /** Credit granted by the replicator, in all. */
  credit(): number
  readonly closed: Promise<CloseInfo>
}

/**
 * Opens a raw session (identity `n`) to `victim`; resolves once both sides are ready. `features`
 * is what its hello announces (default: all this version speaks; 0 plays a peer of before them).
 */
export async function rawPeer(
  victim: Replicator,
  n: number,
  opts: MemoryChannelOptions = {},
  features?: number,
): Promise<RawPeer> {
  const keys = await identity(n)
  const [mine, theirs] = memoryChannelPair(opts)
  const conn = victim.connect(theirs, { initiator: false })
  const frames: Frame[] = []
  let credit = 0
  let ready!: () => void
  let closedFn!: (info: CloseInfo) => void
  const readyP = new Promise<void>((r) => {
    ready = r
  })
  const closed = new Promise<CloseInfo>((r) => {
    closedFn = r
  })
  const session = new Session(
    mine,
    { initiator: true, seed: keys.seed, networkKey: PUBLIC_NETWORK_KEY, handshakeTimeoutMs: 5000, features },
    {
      ready: () => ready(),
      frame: (p) => {
        const f = decodeFrame(p)
        if (isFrameError(f)) return
        frames.push(f)
        if (f.type === 'credit') credit += f.bytes
      },
      dropped: () => {},
      closed: (info) => closedFn(info),
    },
  )
  await within(Promise.all([readyP, conn.ready]), 'the raw session')
  return { keys, session, channel: mine, conn, frames, credit: () => credit, closed }
}

/** Holds back what one side of a channel sends while paused (a stalled peer), in order. */
export interface Valve {
  pause(): void
  /** Sends what was held, in order, and lets frames through again. */
  resume(): void
}

/** Wraps `channel` so that its sends can be held back (see {@link Valve}). */
export function withValve(channel: Channel): [Channel, Valve] {
  let paused = false
  const held: Uint8Array[] = []
  const wrapped: Channel = {
    send: (frame) => {
      if (paused) held.push(frame.slice())
      else channel.send(frame)
    },
    get bufferedAmount() {
      return channel.bufferedAmount
    },
    onFrame: (fn) => channel.onFrame(fn),
    onClose: (fn) => channel.onClose(fn),
    close: (reason) => channel.close(reason),
  }
  const valve: Valve = {
    pause: () => {
      paused = true
    },
    resume: () => {
      paused = false
      for (const frame of held.splice(0)) channel.send(frame)
    },
  }
  return [wrapped, valve]
}

/**
 * Connects two replicators like {@link link}, with a valve on what `b` sends to `a`: pausing it
 * makes `b` a neighbour that stalls.
 */
export async function linkWithValve(a: Peer, b: Peer): Promise<{ ab: Connection; ba: Connection; valve: Valve }> {
  const [ca, cb] = memoryChannelPair()
  const [fromB, valve] = withValve(cb)
  const ab = a.rep.connect(ca, { initiator: true })
  const ba = b.rep.connect(fromB, { initiator: false })
  await Promise.all([ab.ready, ba.ready])
  return { ab, ba, valve }
}
