/**
 * Blob exchange, shared by every connection of a replicator: content-addressed want/have/get.
 *
 * A blob this peer wants (an explicit {@link BlobExchange.fetch}, or one referenced by a message
 * it shows) is announced with BLOB_WANT to every connected peer; a peer that holds it answers
 * BLOB_HAVE with its size; the first offer within the size limit is fetched with BLOB_GET and
 * arrives as BLOB_CHUNK frames under the same credit as messages. Chunks must come in order and
 * inside the announced size, into one buffer of that size (so memory is bounded by
 * {@link Limits.maxBlobDownloads} × the blob size limit). When the last chunk is in, the bytes
 * are hashed against the id before anything is stored; a mismatch counts against the peer that
 * sent them and the next offer is tried. A download that stalls moves on to another peer
 * without blame. Serving is the mirror: a peer that wants a blob we do not hold yet is told
 * BLOB_HAVE when we get it.
 */
import { type CID, type FeedId, MurmurError, matchesCid, type Sha256 } from '@murmur/core'
import type { BlobStore } from '@murmur/store'
import { BLOB_WANT_PER_FRAME, encodeBlobGet, encodeBlobHave, encodeBlobWant } from './frames.js'
import type { Limits, RejectReason } from './limits.js'

/** What the exchange needs from a connection. */
export interface BlobPeer {
  /** The remote's feed id (for status). */
  readonly remote: FeedId | undefined
  /** Sends a control frame; false when the connection is not ready. */
  sendControl(frame: Uint8Array): boolean
  /** Counts an invalid item against the peer. */
  penalize(reason: RejectReason, detail: string): void
  /** A blob from this peer was verified and stored. */
  blobReceived(): void
}

interface Waiter {
  resolve(bytes: Uint8Array): void
  reject(err: unknown): void
  timer: ReturnType<typeof setTimeout>
}

interface Download {
  readonly peer: BlobPeer
  readonly size: number
  readonly buf: Uint8Array
  received: number
  timer: ReturnType<typeof setTimeout> | undefined
}

interface Want {
  readonly cid: CID
  readonly waiters: Set<Waiter>
  auto: boolean
  /** Peers that offered the blob, with the size they announced. */
  readonly offers: Map<BlobPeer, number>
  /** Peers that failed (bad bytes or a stall): not asked again for this blob. */
  readonly failed: Set<BlobPeer>
  download?: Download
}

/** Options of a {@link BlobExchange}. */
export interface BlobExchangeOptions {
  readonly blobs: BlobStore
  readonly sha256: Sha256
  readonly limits: Limits
  /** A blob was stored. */
  stored(cid: CID): void
}

/** Blob wants, offers and downloads of one replicator. */
export class BlobExchange {
  readonly #o: BlobExchangeOptions
  readonly #wants = new Map<string, Want>()
  readonly #peers = new Set<BlobPeer>()
  /** Per peer: blobs it wants that we do not hold (told BLOB_HAVE when we get them). */
  readonly #remoteWants = new Map<BlobPeer, Set<string>>()
  /** Per peer: downloads we abandoned, whose late chunks are dropped without blame. */
  readonly #abandoned = new Map<BlobPeer, Set<string>>()
  #active = 0
  #closed = false

  constructor(opts: BlobExchangeOptions) {
    this.#o = opts
  }

  /** Blobs wanted now. */
  get wanted(): number {
    return this.#wants.size
  }

  /** Downloads in progress. */
  get downloading(): number {
    return this.#active
  }

  /**
   * The bytes of blob `cid`: from the store if held, else asked of every connected peer (and of
   * peers that connect later) until one delivers verified bytes.
   * @throws {MurmurError} `TIMEOUT` when no peer delivered within `timeoutMs`; `NOT_OPEN` after close.
   */
  async fetch(cid: CID, timeoutMs: number): Promise<Uint8Array> {
    if (this.#closed) throw new MurmurError('NOT_OPEN', 'the replicator is closed')
    const held = await this.#o.blobs.get(cid)
    if (held) return held
    return new Promise<Uint8Array>((resolve, reject) => {
      const want = this.#want(cid, false)
      const waiter: Waiter = {
        resolve,
        reject,
        timer: setTimeout(() => {
          want.waiters.delete(waiter)
          if (want.waiters.size === 0 && !want.auto) this.#drop(want)
          reject(new MurmurError('TIMEOUT', `no peer delivered blob ${cid.toString()} within ${timeoutMs} ms`))
        }, timeoutMs),
      }
      want.waiters.add(waiter)
    })
  }

  /** Wants blobs referenced by shown messages, in the background (bounded; no error). */
  async autoWant(cids: readonly CID[]): Promise<void> {
    for (const cid of cids) {
      if (this.#closed || this.#wants.size >= this.#o.limits.maxWantedBlobs) return
      const key = cid.toString()
      const existing = this.#wants.get(key)
      if (existing) {
        existing.auto = true
        continue
      }
      if (await this.#o.blobs.has(cid)) continue
      this.#want(cid, true)
    }
  }

  #want(cid: CID, auto: boolean): Want {
    const key = cid.toString()
    let want = this.#wants.get(key)
    if (want) {
      want.auto ||= auto
      return want
    }
    want = { cid, waiters: new Set(), auto, offers: new Map(), failed: new Set() }
    this.#wants.set(key, want)
    const frame = encodeBlobWant([cid])
    for (const peer of this.#peers) peer.sendControl(frame)
    return want
  }

  /** A connection became ready: it hears every current want. */
  peerReady(peer: BlobPeer): void {
    this.#peers.add(peer)
    const cids = [...this.#wants.values()].map((w) => w.cid)
    for (let i = 0; i < cids.length; i += BLOB_WANT_PER_FRAME) {
      peer.sendControl(encodeBlobWant(cids.slice(i, i + BLOB_WANT_PER_FRAME)))
    }
  }

  /** A connection closed: its offers go, its downloads move to other peers. */
  peerClosed(peer: BlobPeer): void {
    this.#peers.delete(peer)
    this.#remoteWants.delete(peer)
    this.#abandoned.delete(peer)
    for (const want of this.#wants.values()) {
      want.offers.delete(peer)
      want.failed.delete(peer)
      if (want.download?.peer === peer) this.#abandon(want, false)
    }
    this.#startQueued()
  }

  /** The remote wants these blobs: offer those held, remember the rest. */
  async onWant(peer: BlobPeer, cids: readonly CID[]): Promise<void> {
    for (const cid of cids) {
      const size = await this.#o.blobs.size(cid)
      if (size !== undefined) {
        peer.sendControl(encodeBlobHave(cid, size))
        continue
      }
      let set = this.#remoteWants.get(peer)
      if (!set) {
        set = new Set()
        this.#remoteWants.set(peer, set)
      }
      if (set.size < this.#o.limits.maxWantedBlobs) set.add(cid.toString())
    }
  }

  /** The remote holds blob `cid` of `size` bytes. */
  onHave(peer: BlobPeer, cid: CID, size: number): void {
    const want = this.#wants.get(cid.toString())
    // Not wanted (any more), or over our size limit: not the peer's fault, just not taken.
    if (!want || want.failed.has(peer) || size > this.#o.blobs.maxBlobBytes) return
    want.offers.set(peer, size)
    this.#start(want)
  }

  /** A chunk of a blob from `peer`. */
  onChunk(peer: BlobPeer, cid: CID, offset: number, bytes: Uint8Array): void {
    const key = cid.toString()
    const want = this.#wants.get(key)
    const d = want?.download
    if (!want || !d || d.peer !== peer) {
      if (this.#abandoned.get(peer)?.has(key)) return
      // Completed just now from this peer: a late duplicate chunk is not possible (chunks are
      // in order and the last one completes), so anything else was never asked for.
      peer.penalize('unwanted', `a chunk of blob ${key} that was not asked for`)
      return
    }
    if (offset !== d.received || offset + bytes.length > d.size) {
      peer.penalize(
        'bad-blob',
        `a chunk of blob ${key} at ${offset}+${bytes.length}, expected ${d.received} of ${d.size}`,
      )
      want.failed.add(peer)
      this.#abandon(want, true)
      this.#startQueued()
      return
    }
    d.buf.set(bytes, offset)
    d.received += bytes.length
    this.#armStall(want, d)
    if (d.received === d.size) void this.#complete(want, d)
  }

  /** A blob was stored (from any source): waiters get it, peers that wanted it hear HAVE. */
  async noteStored(cid: CID, bytes: Uint8Array): Promise<void> {
    const key = cid.toString()
    const want = this.#wants.get(key)
    if (want) {
      for (const w of want.waiters) {
        clearTimeout(w.timer)
        w.resolve(bytes)
      }
      want.waiters.clear()
      this.#drop(want)
    }
    for (const [peer, set] of this.#remoteWants) {
      if (set.delete(key)) peer.sendControl(encodeBlobHave(cid, bytes.length))
    }
  }

  /** Stops: pending fetches fail with `NOT_OPEN`. */
  close(): void {
    this.#closed = true
    for (const want of this.#wants.values()) {
      for (const w of want.waiters) {
        clearTimeout(w.timer)
        w.reject(new MurmurError('NOT_OPEN', 'the replicator closed before the blob arrived'))
      }
      want.waiters.clear()
      this.#drop(want)
    }
    this.#peers.clear()
    this.#remoteWants.clear()
  }

  #start(want: Want): void {
    if (want.download || this.#active >= this.#o.limits.maxBlobDownloads || this.#closed) return
    for (const [peer, size] of want.offers) {
      if (want.failed.has(peer)) continue
      const d: Download = { peer, size, buf: new Uint8Array(size), received: 0, timer: undefined }
      if (!peer.sendControl(encodeBlobGet(want.cid, 0, size))) {
        want.offers.delete(peer)
        continue
      }
      want.download = d
      this.#active++
      if (size === 0) void this.#complete(want, d)
      else this.#armStall(want, d)
      return
    }
  }

  #startQueued(): void {
    for (const want of this.#wants.values()) {
      if (this.#active >= this.#o.limits.maxBlobDownloads) return
      if (!want.download && want.offers.size > 0) this.#start(want)
    }
  }

  #armStall(want: Want, d: Download): void {
    clearTimeout(d.timer)
    d.timer = setTimeout(() => {
      if (want.download !== d) return
      want.failed.add(d.peer)
      this.#abandon(want, true)
      this.#startQueued()
    }, this.#o.limits.blobStallMs)
  }

  /** Ends the current download of `want`; `late` remembers it so late chunks are no offence. */
  #abandon(want: Want, late: boolean): void {
    const d = want.download
    if (!d) return
    clearTimeout(d.timer)
    want.download = undefined
    this.#active--
    want.offers.delete(d.peer)
    if (late) {
      let set = this.#abandoned.get(d.peer)
      if (!set) {
        set = new Set()
        this.#abandoned.set(d.peer, set)
      }
      if (set.size > 256) set.clear()
      set.add(want.cid.toString())
    }
  }

  async #complete(want: Want, d: Download): Promise<void> {
    clearTimeout(d.timer)
    // The receiver checks the hash before storing (putVerified checks it again, inside the store).
    const matches = matchesCid(want.cid, d.buf, this.#o.sha256)
    let stored = false
    try {
      stored = matches && (await this.#o.blobs.putVerified(want.cid, d.buf))
    } catch {
      // The store failed (closed under us): not the peer's fault; the want stays for later.
    }
    if (want.download !== d) return
    if (matches && !stored) {
      this.#abandon(want, false)
      return
    }
    if (!matches) {
      d.peer.penalize('bad-blob', `the bytes sent for blob ${want.cid.toString()} do not hash to its id`)
      want.failed.add(d.peer)
      this.#abandon(want, false)
      this.#startQueued()
      return
    }
    want.download = undefined
    this.#active--
    d.peer.blobReceived()
    this.#o.stored(want.cid)
    await this.noteStored(want.cid, d.buf)
    this.#startQueued()
  }

  #drop(want: Want): void {
    if (want.download) this.#abandon(want, true)
    this.#wants.delete(want.cid.toString())
  }
}
