/**
 * Helpers for replication over real WebSockets on loopback: peers (identity, fresh store,
 * replicator), a peer that serves on a listener, clients that dial it, feed writers, a raw Noise
 * session over a real socket for playing a misbehaving peer, bounded waits and a teardown stack.
 * A few of them repeat packages/replicate/test/helpers.ts, whose compiled output lies outside
 * this project's references; the frame encoders are written from the layout in frames.ts, so
 * the misbehaving peer does not lean on the code it attacks.
 */
import { createHash } from 'node:crypto'
import {
  type AnyDraft,
  createMsg,
  type Draft,
  equalBytes,
  type FeedId,
  type Keypair,
  keypairFromSeed,
  type Sha256,
  type VerifiedMsg,
} from '@murmur/core'
import { createSodiumEd25519 } from '@murmur/core/sodium'
import {
  type CloseInfo,
  type Connection,
  decodeFrame,
  type Frame,
  PUBLIC_NETWORK_KEY,
  Replicator,
  type ReplicatorOptions,
  Session,
} from '@murmur/replicate'
import { Store } from '@murmur/store'
import { MemoryLevel } from 'memory-level'
import { WebSocket } from 'ws'
import { type WsChannel, wsChannel } from '../src/index.js'
import { type Listener, listen, nodeDial } from '../src/node.js'
import { within } from './helpers.js'

export const ed = createSodiumEd25519()
export const sha256: Sha256 = (b) => new Uint8Array(createHash('sha256').update(b).digest())

/** A deterministic identity from a small number. */
export function identity(n: number): Promise<Keypair> {
  const seed = new Uint8Array(32)
  new DataView(seed.buffer).setUint32(0, n + 2000)
  return keypairFromSeed(ed, seed)
}

/** A fresh in-memory store. */
export function memoryStore(me?: FeedId): Promise<Store> {
  return Store.open(new MemoryLevel({ keyEncoding: 'view', valueEncoding: 'view' }), { me })
}

/** A peer: identity, store and replicator; `close` stops the replicator, then the store (once). */
export interface Peer {
  readonly keys: Keypair
  readonly id: FeedId
  readonly store: Store
  readonly rep: Replicator
  post(text: string, extra?: Record<string, unknown>): Promise<VerifiedMsg>
  follow(target: FeedId): Promise<VerifiedMsg>
  block(target: FeedId): Promise<VerifiedMsg>
  close(): Promise<void>
}

/** Makes peer number `n`, on a fresh memory store unless `store` is given. */
export async function makePeer(n: number, opts: Partial<ReplicatorOptions> = {}, store?: Store): Promise<Peer> {
  const keys = await identity(n)
  const db = store ?? (await memoryStore(keys.publicKey))
  const rep = new Replicator({ store: db, ed, keys, sha256, ...opts })
  let closing: Promise<void> | undefined
  return {
    keys,
    id: keys.publicKey,
    store: db,
    rep,
    post: (text, extra = {}) => db.publish(ed, keys, { type: 'post', content: { text, ...extra } } as AnyDraft),
    follow: (target) => db.publish(ed, keys, { type: 'contact', content: { target, following: true } }),
    block: (target) => db.publish(ed, keys, { type: 'contact', content: { target, blocking: true } }),
    close() {
      closing ??= rep.close().then(() => db.close())
      return closing
    },
  }
}

/**
 * Serves `peer` on a loopback listener (on `port`, default any): every accepted socket becomes a
 * responder connection; `channels`, when given, collects the accepted channels in order.
 */
export function serve(peer: Peer, opts: { port?: number; channels?: WsChannel[] } = {}): Promise<Listener> {
  return listen({
    port: opts.port ?? 0,
    onChannel(channel) {
      opts.channels?.push(channel)
      try {
        peer.rep.connect(channel, { initiator: false })
      } catch (err) {
        // The replicator closed while the listener still ran (a test tearing down).
        channel.close((err as Error).message)
      }
    },
  })
}

/** Dials `url` and replicates over it as the initiator; resolves once the handshake is done. */
export async function dialPeer(peer: Peer, url: string): Promise<Connection> {
  const channel = await nodeDial(url, { timeoutMs: 5000 })
  const conn = peer.rep.connect(channel, { initiator: true })
  await within(5000, 'the handshake', conn.ready)
  return conn
}

/** `rep`'s open connection to `remote` (waits for the responder side to be ready). */
export async function connectionTo(rep: Replicator, remote: FeedId, ms = 5000): Promise<Connection> {
  let found: Connection | undefined
  await until(
    () => {
      found = rep.connections().find((c) => c.state === 'ready' && c.remote && equalBytes(c.remote, remote))
      return found !== undefined
    },
    'the connection on the other side',
    ms,
  )
  return found as Connection
}

/** Waits until `check` holds, looking again every few ms; fails after `ms`. */
export async function until(check: () => boolean | Promise<boolean>, what: string, ms = 5000): Promise<void> {
  const end = performance.now() + ms
  for (;;) {
    if (await check()) return
    if (performance.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 5))
  }
}

/** The head seq a store holds of `feed` (0 for none). */
export async function seqOf(store: Store, feed: FeedId): Promise<number> {
  return (await store.feedState(feed))?.seq ?? 0
}

/** Writes a feed outside any store (deterministic timestamps). */
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

/** Closers run last-in first-out, each once, all of them even when one fails. */
export class Teardown {
  readonly #fns: (() => unknown)[] = []
  /** Registers `fn` to run at {@link run}; returns `value` for chaining. */
  add<T>(value: T, fn: (value: T) => unknown): T {
    this.#fns.push(() => fn(value))
    return value
  }
  /** Runs every closer; rethrows the first failure after all have run. */
  async run(): Promise<void> {
    const errors: unknown[] = []
    for (let fn = this.#fns.pop(); fn; fn = this.#fns.pop()) {
      try {
        await fn()
      } catch (err) {
        errors.push(err)
      }
    }
    if (errors.length > 0) throw errors[0]
  }
}

// ---------------------------------------------------------------------------------------------
// A misbehaving peer: protocol frames by hand (frames.ts layout), a raw Noise session.

/** A raw Noise session over a real socket: the misbehaving side of a connection. */
export interface RawWsPeer {
  readonly keys: Keypair
  /** The raw `ws` socket (no Murmur limits): for text and oversized frames. */
  readonly socket: WebSocket
  /** The same socket as a channel: for unsealed wire frames. */
  readonly channel: WsChannel
  readonly session: Session
  /** The victim's side of the connection. */
  readonly conn: Connection
  /** Protocol frames received from the victim. */
  readonly frames: Frame[]
  /** Credit granted by the victim, in all. */
  credit(): number
  readonly closed: Promise<CloseInfo>
}

/** Opens a raw session (identity `n`) to the replicator `victim` serving at `url`. */
export async function rawWsPeer(url: string, victim: Replicator, n: number): Promise<RawWsPeer> {
  const keys = await identity(n)
  const socket = new WebSocket(url, { perMessageDeflate: false })
  socket.on('error', () => {})
  await within(
    5000,
    `a raw socket to ${url}`,
    new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve())
      socket.once('close', () => reject(new Error('closed before it opened')))
    }),
  )
  const channel = wsChannel(socket)
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
    channel,
    { initiator: true, seed: keys.seed, networkKey: PUBLIC_NETWORK_KEY, handshakeTimeoutMs: 5000 },
    {
      ready: () => ready(),
      frame: (p) => {
        const f = decodeFrame(p)
        if ('error' in f) return
        frames.push(f)
        if (f.type === 'credit') credit += f.bytes
      },
      dropped: () => {},
      closed: (info) => closedFn(info),
    },
  )
  await within(5000, 'the raw handshake', readyP)
  const conn = await connectionTo(victim, keys.publicKey)
  return { keys, socket, channel, session, conn, frames, credit: () => credit, closed }
}
