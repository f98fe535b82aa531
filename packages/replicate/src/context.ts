/**
 * What a {@link Connection} needs from its replicator: the shared parts (store, crypto, limits,
 * blob exchange, want set) and the places it reports to. An explicit contract, so a connection
 * can be read (and tested) without the replicator around it.
 */
import type { Ed25519, FeedId, ForkProof, Keypair, Sha256 } from '@murmur/core'
import type { Store } from '@murmur/store'
import type { BlobExchange } from './blobs.js'
import type { Connection, Progress } from './connection.js'
import type { GossipMode, PeerEntry, SignalFrame } from './frames.js'
import type { Limits, RejectReason } from './limits.js'
import type { CloseInfo } from './session.js'

/** The replicator as its connections see it. */
export interface ReplicaContext {
  readonly store: Store
  readonly ed: Ed25519
  readonly sha256: Sha256
  readonly keys: Keypair
  readonly networkKey: Uint8Array
  readonly limits: Limits
  readonly blobs: BlobExchange
  /** The feature bits this peer's hello announces (frames.ts `FEATURE`). */
  readonly features: number
  /** True when this peer wants feed `hex` (lowercase hex of its id). */
  wants(hex: string): boolean
  /** The want set, once it is computed. */
  wantList(): Promise<FeedId[]>
  /**
   * For a wanted feed `hex` held nothing of: how many of its newest messages to ask for (a tail),
   * or undefined for the whole feed.
   */
  tailOf(hex: string): number | undefined
  /** `conn`'s remote said it holds `feed` to `seq` (0: none), higher than it said before. */
  told(conn: Connection, feed: FeedId, seq: number): void
  /** The handshake of `conn` finished. */
  ready(conn: Connection): void
  /** `conn` ended. */
  closed(conn: Connection, info: CloseInfo): void
  /** `conn`'s remote sent an invalid item. */
  rejected(conn: Connection, reason: RejectReason, detail: string): void
  /** A message from `conn` proved a fork (the author's fault). */
  fork(conn: Connection, proof: ForkProof): void
  /** `conn`'s progress changed. */
  progress(conn: Connection, progress: Progress): void
  /** How to ask `conn` to serve wanted feed `hex`, held here to `held`, as it is announced (gossip.ts). */
  gossipMode(conn: Connection, hex: string, feed: FeedId, held: number): GossipMode
  /** `conn`'s remote told us of peers (entries with bad urls already dropped and counted). */
  peers(conn: Connection, entries: PeerEntry[]): void
  /** A SIGNAL from `conn`, already checked: `from` is its remote unless relayed, and a relayed one is for us. */
  signal(conn: Connection, frame: SignalFrame): void
}
