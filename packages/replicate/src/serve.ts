/**
 * The sending half of a connection: everything bulk that goes to one remote — the messages of
 * the feeds it wants (catch-up, then live), answers to its GETs, and blob chunks — under the
 * credit it granted (flow.ts) and the channel's own buffer.
 *
 * One pump runs at a time. Each turn builds one frame no larger than the credit left (and
 * {@link MAX_PLAINTEXT}), sends it, and goes on until there is nothing to send, no credit (a
 * CREDIT frame restarts it) or the channel's buffer is over the high-water mark (its drain
 * restarts it). Messages are read from the store when a frame is built, never queued in memory:
 * "what to send" is only a set of feeds whose head is ahead of what the remote has, so a
 * thousand appends while the remote is slow cost a thousand set inserts, not a thousand copies.
 * Feeds take turns (round robin) and message frames alternate with blob chunks, so one big feed
 * or one big blob never starves the rest.
 */
import type { CID } from '@murmur/core'
import type { Store } from '@murmur/store'
import { type RemoteClock, startOf } from './clock.js'
import { SendCredit } from './flow.js'
import { CHUNK_OVERHEAD, encodeBlobChunk, encodeMsgs, MAX_PLAINTEXT, MSG_OVERHEAD, SEAL_OVERHEAD } from './frames.js'
import type { PeerCounters } from './limits.js'
import type { Session } from './session.js'

/** What the outbox needs from its connection. */
export interface OutboxDeps {
  readonly store: Store
  readonly session: Session
  readonly remote: RemoteClock
  readonly counters: PeerCounters
  readonly highWaterMark: number
  /** A local failure (the store closed under us): the connection ends. */
  fail(err: unknown): void
}

interface BlobJob {
  readonly cid: CID
  offset: number
  readonly end: number
  bytes?: Uint8Array
}

// How many messages one read asks the store for at most (a frame holds fewer unless tiny).
const READ_AHEAD = 1024

/** The sending half of one connection. */
export class Outbox {
  readonly credit = new SendCredit()
  readonly #d: OutboxDeps
  readonly #dirty = new Set<string>()
  readonly #replies: Uint8Array[] = []
  readonly #blobJobs: BlobJob[] = []
  #pumping = false
  #again = false
  #blobTurn = false
  #closed = false
  #wake: (() => void) | undefined

  constructor(deps: OutboxDeps) {
    this.#d = deps
  }

  /** Requests not yet answered (GET replies and blob jobs), for the request limit. */
  get queuedRequests(): number {
    return this.#replies.length + this.#blobJobs.length
  }

  /** Feed `hex` may have messages the remote lacks: look at it on the next turn. */
  markDirty(hex: string): void {
    if (this.#closed) return
    this.#dirty.add(hex)
    this.kick()
  }

  /** Queues a MSGS frame answering a GET. */
  reply(frame: Uint8Array): void {
    this.#replies.push(frame)
    this.kick()
  }

  /** Queues bytes `[offset, offset + length)` of blob `cid` (already checked to be held). */
  sendBlob(cid: CID, offset: number, end: number): void {
    this.#blobJobs.push({ cid, offset, end })
    this.kick()
  }

  /** Adds credit granted by the remote; false when it passes `max` (ignored then). */
  grant(bytes: number, max: number): boolean {
    const ok = this.credit.add(bytes, max)
    if (ok) this.kick()
    return ok
  }

  /** The channel has room again. */
  drained(): void {
    const wake = this.#wake
    this.#wake = undefined
    wake?.()
  }

  /** Stops for good. */
  close(): void {
    this.#closed = true
    this.#dirty.clear()
    this.#replies.length = 0
    this.#blobJobs.length = 0
    this.drained()
  }

  /** Runs the pump (or asks the running one to go round again). */
  kick(): void {
    if (this.#closed) return
    this.#again = true
    if (this.#pumping) return
    this.#pumping = true
    void this.#pump()
  }

  async #pump(): Promise<void> {
    try {
      // `#again` and `#pumping` are checked and cleared in one synchronous step after the last
      // await, so a kick during a turn is never lost.
      while (this.#again && !this.#closed) {
        this.#again = false
        while (!this.#closed && this.#d.session.isReady) {
          if (this.#d.session.bufferedAmount > this.#d.highWaterMark) {
            await this.#waitForRoom()
            continue
          }
          const room = Math.min(this.credit.available, MAX_PLAINTEXT)
          const frame = await this.#nextFrame(room)
          if (!frame) break
          this.credit.spend(frame.length)
          this.#d.counters.bytesOut += frame.length + SEAL_OVERHEAD
          this.#d.session.send(frame)
        }
      }
    } catch (err) {
      this.#d.fail(err)
    } finally {
      this.#pumping = false
    }
  }

  #waitForRoom(): Promise<void> {
    return new Promise((resolve) => {
      const channel = this.#d.session.channel
      let off: (() => void) | undefined
      let timer: ReturnType<typeof setTimeout> | undefined
      const done = (): void => {
        off?.()
        clearTimeout(timer)
        this.#wake = undefined
        resolve()
      }
      this.#wake = done
      if (channel.onDrain) {
        off = channel.onDrain(() => {
          if (channel.bufferedAmount <= this.#d.highWaterMark) done()
        })
      } else {
        // Without a drain event, look again shortly (bounded: the channel drains or closes).
        timer = setTimeout(done, 10)
      }
    })
  }

  async #nextFrame(room: number): Promise<Uint8Array | undefined> {
    const reply = this.#replies[0]
    if (reply) {
      if (reply.length > room) return undefined
      this.#replies.shift()
      this.#d.counters.sent++
      return reply
    }
    this.#blobTurn = !this.#blobTurn
    if (this.#blobTurn) return (await this.#blobFrame(room)) ?? (await this.#msgsFrame(room))
    return (await this.#msgsFrame(room)) ?? (await this.#blobFrame(room))
  }

  async #msgsFrame(room: number): Promise<Uint8Array | undefined> {
    const parts: Uint8Array[] = []
    let size = 1
    // The set is walked live: a feed that goes to the back of the line did so because the frame
    // is full, so the walk ends before reaching it again.
    for (const hex of this.#dirty) {
      // Unmarked before the reads below: an append while they wait marks it again (not lost).
      this.#dirty.delete(hex)
      const want = this.#d.remote.get(hex)
      const state = want && (await this.#d.store.feedState(want.feed))
      const from = want && state && want.has < state.seq ? startOf(want, state) : undefined
      // Not wanted, not held, nothing new, only a suffix that cannot serve it (clock.ts), or
      // only notes asked for (another neighbour streams it: gossip.ts).
      if (!want || !state || from === undefined || want.notify) continue
      let full = false
      let read = 0
      // Read about what fits (a message is rarely under 150 bytes), in one batch.
      const limit = Math.min(READ_AHEAD, Math.ceil(room / 150) + 1)
      const batch = await this.#d.store.feedBytes(want.feed, {
        from,
        to: Math.min(state.seq, from + READ_AHEAD),
        limit,
      })
      // Switched to notes while the store read.
      if (want.notify) continue
      for (const msg of batch) {
        read++
        if (size + MSG_OVERHEAD + msg.bytes.length > room) {
          full = true
          break
        }
        parts.push(msg.bytes)
        size += MSG_OVERHEAD + msg.bytes.length
        want.has = msg.seq
      }
      // Round robin: a feed with more to send goes to the back of the line (unless the store
      // gave nothing to send: then a later append marks it again).
      if (want.has < state.seq && read > 0) this.#dirty.add(hex)
      if (full) break
    }
    if (parts.length === 0) return undefined
    this.#d.counters.sent += parts.length
    return encodeMsgs(parts)
  }

  async #blobFrame(room: number): Promise<Uint8Array | undefined> {
    const job = this.#blobJobs[0]
    if (!job || room < CHUNK_OVERHEAD + 1) return undefined
    if (!job.bytes) {
      // Loaded only when its turn comes: at most one blob per connection in memory.
      const bytes = await this.#d.store.blobs.get(job.cid)
      if (!bytes || job.end > bytes.length) {
        this.#blobJobs.shift()
        return this.#blobFrame(room)
      }
      job.bytes = bytes
    }
    const length = Math.min(room - CHUNK_OVERHEAD, job.end - job.offset)
    const frame = encodeBlobChunk(job.cid, job.offset, job.bytes.subarray(job.offset, job.offset + length))
    job.offset += length
    if (job.offset >= job.end) {
      this.#blobJobs.shift()
      this.#d.counters.blobsSent++
    }
    return frame
  }
}
