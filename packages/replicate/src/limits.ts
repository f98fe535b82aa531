/**
 * Limits, and the counters that hold a peer to them. Every item a peer sends that is invalid is
 * counted against that peer under a {@link RejectReason}; past {@link Limits.maxInvalid} the
 * peer is disconnected. What is not the peer's fault (a fork: the author's; a duplicate: two
 * peers racing to serve the same message) is tallied but never held against it.
 */

import { MurmurError } from '@murmur/core'

/** Limits of a replicator; every field has a default (see {@link DEFAULT_LIMITS}). */
export interface Limits {
  /** How long a handshake may take (ms). */
  handshakeTimeoutMs: number
  /** The receive window granted to each peer for MSGS and BLOB_CHUNK frames (bytes, at least 64 KiB). */
  window: number
  /** The sender waits while the channel has more than this queued (bytes). */
  highWaterMark: number
  /** Invalid items from one peer before it is disconnected. */
  maxInvalid: number
  /** Control frames (CLOCK, GET, BLOB_WANT…) a peer may send per second, sustained. */
  controlPerSecond: number
  /** Control frames a peer may send in a burst. */
  controlBurst: number
  /** Feeds one peer may ask for. */
  maxRemoteWants: number
  /** Outstanding GET and BLOB_GET requests one peer may have queued with us. */
  maxRemoteRequests: number
  /** Feeds hosted for others (host mode 'peers'), beyond this peer's own follow graph. */
  maxHostedFeeds: number
  /** Bytes of hosted feeds taken before hosting stops taking more (this process's tally). */
  maxHostedBytes: number
  /** Blob downloads at once (each holds up to the blob size in memory). */
  maxBlobDownloads: number
  /** Blobs wanted at once (fetches and automatic wants). */
  maxWantedBlobs: number
  /** A blob download that makes no progress for this long moves to another peer (ms). */
  blobStallMs: number
  /** Messages verified and appended in one batch. */
  batchMessages: number
  /** PEERS frames a peer may send per second, sustained (peer exchange is occasional). */
  peersPerSecond: number
  /** PEERS frames a peer may send in a burst. */
  peersBurst: number
  /** SIGNAL frames a peer may send per second, sustained (to us or to be relayed). */
  signalPerSecond: number
  /** SIGNAL frames a peer may send in a burst. */
  signalBurst: number
  /** SIGNAL payload bytes a peer may send per second, sustained (the burst is twice this). */
  signalBytesPerSecond: number
}

/** The defaults. */
export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  handshakeTimeoutMs: 10_000,
  window: 1024 * 1024,
  highWaterMark: 1024 * 1024,
  maxInvalid: 50,
  controlPerSecond: 1000,
  controlBurst: 2000,
  maxRemoteWants: 100_000,
  maxRemoteRequests: 256,
  maxHostedFeeds: 5000,
  maxHostedBytes: 1024 * 1024 * 1024,
  maxBlobDownloads: 4,
  maxWantedBlobs: 2000,
  blobStallMs: 15_000,
  batchMessages: 2000,
  peersPerSecond: 1,
  peersBurst: 5,
  signalPerSecond: 20,
  signalBurst: 40,
  signalBytesPerSecond: 64 * 1024,
})

/** Why an item from a peer was rejected (each counts against that peer). */
export type RejectReason =
  /** A message over 8 KiB. */
  | 'too-large'
  /** A message that is not `[msg, sig]` with a 64-byte signature. */
  | 'malformed'
  /** A message that is not canonical DAG-CBOR. */
  | 'non-canonical'
  /** A message whose envelope is not version 1. */
  | 'bad-envelope'
  /** A message of a known type with invalid content. */
  | 'bad-content'
  /** A message whose signature does not verify. */
  | 'bad-signature'
  /** A message that does not extend the feed (a gap, or a chain the peer cannot back). */
  | 'broken-chain'
  /** A message of a feed not asked for, or a blob chunk not asked for. */
  | 'unwanted'
  /** A frame that does not decode. */
  | 'bad-frame'
  /** A wire frame over 64 KiB. */
  | 'oversized-frame'
  /** Bulk data beyond the credit granted (flow control broken). */
  | 'over-credit'
  /** Control frames or requests past their rate or queue limits. */
  | 'flood'
  /** Blob bytes that do not hash to their id, or chunks outside the blob. */
  | 'bad-blob'

/** Every reject reason, for building zeroed tallies. */
export const REJECT_REASONS: readonly RejectReason[] = [
  'too-large',
  'malformed',
  'non-canonical',
  'bad-envelope',
  'bad-content',
  'bad-signature',
  'broken-chain',
  'unwanted',
  'bad-frame',
  'oversized-frame',
  'over-credit',
  'flood',
  'bad-blob',
]

/** Counters of one connection. */
export interface PeerCounters {
  /** Messages from this peer that were appended. */
  received: number
  /** Messages sent to this peer. */
  sent: number
  /**
   * Messages from this peer already held, or of a tail that does not chain on another peer's
   * tail that came first (not its fault: another peer was faster).
   */
  duplicates: number
  /** Messages of a forked feed, refused without blame. */
  forkedRefused: number
  /** Forks this peer relayed (the authors' fault, never the peer's). */
  forks: number
  /** Items rejected, by reason; their sum is {@link invalid}. */
  rejected: Record<RejectReason, number>
  /** Invalid items in all. */
  invalid: number
  /** Bytes of frames received and sent (sealed). */
  bytesIn: number
  bytesOut: number
  /** Blobs received (verified and stored) from and sent to this peer. */
  blobsReceived: number
  blobsSent: number
}

/** Zeroed counters. */
export function newCounters(): PeerCounters {
  return {
    received: 0,
    sent: 0,
    duplicates: 0,
    forkedRefused: 0,
    forks: 0,
    rejected: newRejectTally(),
    invalid: 0,
    bytesIn: 0,
    bytesOut: 0,
    blobsReceived: 0,
    blobsSent: 0,
  }
}

/** A zeroed tally per reject reason. */
export function newRejectTally(): Record<RejectReason, number> {
  return Object.fromEntries(REJECT_REASONS.map((r) => [r, 0])) as Record<RejectReason, number>
}

/** A token bucket: `take()` is false once the peer has spent its burst faster than the rate. */
export class TokenBucket {
  readonly #rate: number
  readonly #burst: number
  readonly #now: () => number
  #tokens: number
  #at: number

  constructor(ratePerSecond: number, burst: number, now: () => number = () => performance.now()) {
    this.#rate = ratePerSecond
    this.#burst = burst
    this.#now = now
    this.#tokens = burst
    this.#at = now()
  }

  /** Takes `n` tokens (default 1); false, taking none, when fewer are left. */
  take(n = 1): boolean {
    const t = this.#now()
    this.#tokens = Math.min(this.#burst, this.#tokens + ((t - this.#at) / 1000) * this.#rate)
    this.#at = t
    if (this.#tokens < n) return false
    this.#tokens -= n
    return true
  }
}

/**
 * The limits with `partial` applied.
 * @throws {MurmurError} `INVALID_ARGUMENT` when a limit is not a positive number, or the window
 * is under 64 KiB (one frame).
 */
export function resolveLimits(partial: Partial<Limits> = {}): Limits {
  const limits = { ...DEFAULT_LIMITS, ...partial }
  for (const [k, v] of Object.entries(limits)) {
    if (typeof v !== 'number' || !(v > 0)) {
      throw new MurmurError('INVALID_ARGUMENT', `limits.${k} must be a positive number, got ${v}`)
    }
  }
  if (limits.window < 65536) throw new MurmurError('INVALID_ARGUMENT', 'limits.window must be at least 64 KiB')
  return limits
}
