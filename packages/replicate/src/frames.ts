/**
 * Every byte layout of the wire protocol, in one place, as explicit encode/decode pairs.
 *
 * Two layers:
 * - **Wire frames** (what the channel carries, each at most {@link MAX_FRAME} bytes):
 *   `[kind][body]`, kind 1 = a Noise handshake message, 2 = a handshake abort
 *   (`[code][utf8 reason]`, plaintext: nothing is keyed yet), 3 = a sealed frame (ChaCha20-Poly1305
 *   ciphertext of one protocol frame, counter nonces; see session.ts).
 * - **Protocol frames** (the plaintext inside a sealed frame): `[version << 5 | type][body]`,
 *   version 1. Bodies are binary with fixed-width big-endian integers: a feed id is 32 bytes, a
 *   blob id (CIDv1 raw sha2-256) 36 bytes, a seq 8 bytes.
 *
 * | type | name       | body                                                          |
 * | ---- | ---------- | ------------------------------------------------------------- |
 * | 1    | CLOCK      | entries: feed(32) ‖ seq(8) ‖ id prefix(8); seq 0 = none held  |
 * |      |            | (then the 8 bytes are a tail(8): see below)                   |
 * | 2    | UNWANT     | feeds(32 each): stop sending these                            |
 * | 3    | CREDIT     | bytes(4): more room for MSGS and BLOB_CHUNK frames            |
 * | 4    | MSGS       | messages: length(2) ‖ signed message bytes, in feed order     |
 * | 5    | GET        | feed(32) ‖ seq(8): send me that one message (fork evidence)   |
 * | 6    | NONE       | feed(32) ‖ seq(8): the answer to a GET when it is not held    |
 * | 7    | BLOB_WANT  | blob ids(36 each)                                             |
 * | 8    | BLOB_HAVE  | blob id(36) ‖ size(4)                                         |
 * | 9    | BLOB_GET   | blob id(36) ‖ offset(4) ‖ length(4)                           |
 * | 10   | BLOB_CHUNK | blob id(36) ‖ offset(4) ‖ bytes                               |
 * | 11   | CLOSE      | utf8 reason: the sender is closing, and why                   |
 * | 12   | HAVE       | entries as in CLOCK: what the sender holds of feeds the       |
 * |      |            | receiver wants, without wanting them itself; seq 0 = none;    |
 * |      |            | also the *note* of a feed in notify mode (REQUEST, below)     |
 * | 13   | PEERS      | entries (at most 32): feed(32) ‖ url length(2) ‖ url(utf8,    |
 * |      |            | at most 256 bytes, ws: or wss:); length 0 = no url: a peer    |
 * |      |            | the sender is connected to now, reachable through it by       |
 * |      |            | SIGNAL                                                        |
 * | 14   | SIGNAL     | flags(1) ‖ to(32) ‖ from(32) ‖ payload (1 byte to 16 KiB,     |
 * |      |            | opaque: WebRTC offers, answers, candidates); flags bit 0 =    |
 * |      |            | relayed (other bits reserved: sent 0, ignored)                |
 * | 15   | REQUEST    | entries: feed(32) ‖ mode(1) ‖ seq(8): per feed the receiver   |
 * |      |            | serves the sender, mode 0 = stream it, 1 = notify (HAVE notes |
 * |      |            | only); seq = what the sender holds now                        |
 *
 * **CLOCK: the whole feed or its tail.** A CLOCK entry says "I want this feed and hold it to
 * `seq`". With seq 0 there is no message to name, so the 8 prefix bytes carry a *tail*, a u64:
 * 0 = send the whole feed (what every peer sent before tails existed: all zeros), n > 0 = I hold
 * nothing of it, send only its newest n messages (the sender starts at max(first held,
 * head - n + 1)). A peer that predates tails ignores the prefix at seq 0 and sends the whole
 * feed, which the asker takes as well: the change needs no new version.
 *
 * **HAVE, only to peers that said they read it.** A peer that does not want a feed never puts it
 * in its CLOCK, so from CLOCKs alone "it holds nothing of my feed" cannot be told from "it said
 * nothing". HAVE is that answer (a device restoring an identity must learn its own feed's head
 * before it writes, or it forks its own feed). A peer of before HAVE would count the unknown
 * frame type against the sender, so HAVE goes only to a peer whose hello has {@link FEATURE}
 * `.have` set; the hello's flags byte was reserved for this.
 *
 * **PEERS, SIGNAL and REQUEST, likewise only to peers that read them**: each has its bit in
 * {@link FEATURE}, and a connection uses a feature only when both hellos set it (so a peer that
 * announces fewer features is treated exactly as a peer of before them).
 * - PEERS (peer exchange) tells addresses of always-on peers, and feeds reachable through the
 *   sender for signalling. What to tell is the caller's choice; the receiver drops (and counts)
 *   entries whose url is not a ws:/wss: address (core's `isPeerUrl`: printable ASCII, no
 *   credentials or fragment).
 * - SIGNAL carries WebRTC signalling between two peers that share a neighbour (signal.ts): an
 *   originator sends it unrelayed, with `from` = itself, to the target or to neighbours; a
 *   neighbour forwards it once, flagged relayed, only if `from` is the authenticated remote it
 *   came from. So the receiver of a relayed frame trusts `from` as far as it trusts the relay,
 *   and the WebRTC handshake that follows authenticates the real identity anyway (the DTLS
 *   fingerprints are bound into the Noise prologue).
 * - REQUEST lets a receiver with several neighbours holding a feed have one of them stream it
 *   and the others only say how far they are (gossip.ts): a feed in notify mode is not streamed;
 *   the server sends a HAVE note instead when its head passes what the asker has.
 *
 * Decoders never throw: a body that does not parse is returned as `{ error }`, which the
 * connection counts against the peer that sent it.
 */
import { type CID, cidFromBytes, type FeedId, isMurmurCid, isPeerUrl, RAW } from '@murmur/core'
import { MAX_FRAME } from './channel.js'

/** Protocol version of the frames (the high 3 bits of their first byte). */
export const PROTOCOL_VERSION = 1

/** Kinds of wire frames (their first byte). */
export const WIRE = { handshake: 1, abort: 2, sealed: 3 } as const

/** Bytes the seal adds to a protocol frame: the wire kind and the 16-byte Poly1305 tag. */
export const SEAL_OVERHEAD = 1 + 16

/** The largest protocol frame (plaintext), so the sealed wire frame fits {@link MAX_FRAME}. */
export const MAX_PLAINTEXT = MAX_FRAME - SEAL_OVERHEAD

/** Frame types of protocol version 1. */
export const TYPE = {
  clock: 1,
  unwant: 2,
  credit: 3,
  msgs: 4,
  get: 5,
  none: 6,
  blobWant: 7,
  blobHave: 8,
  blobGet: 9,
  blobChunk: 10,
  close: 11,
  have: 12,
  peers: 13,
  signal: 14,
  request: 15,
} as const

/** Feature bits of the hello's flags byte: what a peer reads beyond protocol version 1's frames. */
export const FEATURE = {
  /** It reads HAVE frames (and sends them). */
  have: 1,
  /** It reads PEERS frames. */
  peers: 2,
  /** It reads SIGNAL frames (and relays them one hop). */
  signal: 4,
  /** It reads REQUEST frames, serves feeds in notify mode with HAVE notes, and reads notes. */
  gossip: 8,
} as const

/** The features this peer speaks. */
export const FEATURES = FEATURE.have | FEATURE.peers | FEATURE.signal | FEATURE.gossip

const FEED = 32
const SEQ = 8
const PREFIX = 8
const BLOB_ID = 36
/** Bytes of one clock entry. */
export const CLOCK_ENTRY_BYTES = FEED + SEQ + PREFIX
/** Bytes a message adds to a MSGS frame besides its own: the length prefix. */
export const MSG_OVERHEAD = 2
/** Bytes of a BLOB_CHUNK frame besides the chunk itself (type, blob id, offset). */
export const CHUNK_OVERHEAD = 1 + BLOB_ID + 4
/** The most clock entries one CLOCK frame holds. */
export const CLOCK_ENTRIES_PER_FRAME = Math.floor((MAX_PLAINTEXT - 1) / CLOCK_ENTRY_BYTES)
/** The most feeds one UNWANT frame holds. */
export const UNWANT_PER_FRAME = Math.floor((MAX_PLAINTEXT - 1) / FEED)
/** The most blob ids one BLOB_WANT frame holds. */
export const BLOB_WANT_PER_FRAME = 256
const MAX_CLOSE_REASON = 512
/** The most entries one PEERS frame holds. */
export const PEERS_PER_FRAME = 32
/** The longest url of a PEERS entry (utf8 bytes). */
export const MAX_PEER_URL = 256
/** The largest SIGNAL payload (bytes). */
export const MAX_SIGNAL_PAYLOAD = 16 * 1024
/** Bytes of a SIGNAL frame besides its payload (type, flags, to, from). */
export const SIGNAL_OVERHEAD = 1 + 1 + FEED + FEED
const REQUEST_ENTRY_BYTES = FEED + 1 + SEQ
/** The most entries one REQUEST frame holds. */
export const REQUEST_ENTRIES_PER_FRAME = Math.floor((MAX_PLAINTEXT - 1) / REQUEST_ENTRY_BYTES)

/** One clock entry: the latest seq held of a feed and the first 8 bytes of that message's id digest. */
export interface ClockEntry {
  readonly feed: FeedId
  /** Latest seq held; 0 when none is held. */
  readonly seq: number
  /** First 8 bytes of the sha2-256 digest of the message at `seq` (zeros when none). */
  readonly prefix: Uint8Array
  /**
   * Only with `seq` 0, only in CLOCK: send only the newest `tail` messages (at least 1) instead
   * of the whole feed. Absent: the whole feed. On the wire it takes the place of the prefix.
   */
  readonly tail?: number
}

/** One PEERS entry: a peer, and where to reach it. */
export interface PeerEntry {
  readonly feed: FeedId
  /**
   * A ws:// or wss:// address of an always-on peer (at most {@link MAX_PEER_URL} bytes utf8).
   * Absent: a peer the sender is connected to now, reachable through it for signalling.
   */
  readonly url?: string
}

/** A SIGNAL frame's fields. */
export interface SignalFrame {
  /** The feed the payload is for. */
  readonly to: FeedId
  /** The feed it is from (the sender itself unless `relayed`). */
  readonly from: FeedId
  /** True when a neighbour forwarded it (it is never forwarded again). */
  readonly relayed: boolean
  /** Opaque bytes, 1 to {@link MAX_SIGNAL_PAYLOAD}. */
  readonly payload: Uint8Array
}

/** How a feed should be served to the asker: streamed, or only noted (see REQUEST). */
export type GossipMode = 'stream' | 'notify'

/** One REQUEST entry. */
export interface RequestEntry {
  readonly feed: FeedId
  readonly mode: GossipMode
  /** The latest seq of the feed the asker holds (0: none). */
  readonly seq: number
}

/** A decoded protocol frame. */
export type Frame =
  | { type: 'clock'; entries: ClockEntry[] }
  | { type: 'unwant'; feeds: FeedId[] }
  | { type: 'credit'; bytes: number }
  | { type: 'msgs'; msgs: Uint8Array[] }
  | { type: 'get'; feed: FeedId; seq: number }
  | { type: 'none'; feed: FeedId; seq: number }
  | { type: 'blob-want'; cids: CID[] }
  | { type: 'blob-have'; cid: CID; size: number }
  | { type: 'blob-get'; cid: CID; offset: number; length: number }
  | { type: 'blob-chunk'; cid: CID; offset: number; bytes: Uint8Array }
  | { type: 'close'; reason: string }
  | { type: 'have'; entries: ClockEntry[] }
  /** `dropped`: entries left out because their url is not a valid ws:/wss: address. */
  | { type: 'peers'; entries: PeerEntry[]; dropped: number }
  | ({ type: 'signal' } & SignalFrame)
  | { type: 'request'; entries: RequestEntry[] }

/** Why a frame did not decode. */
export interface FrameError {
  readonly error: string
}

// ---------------------------------------------------------------------------------------------
// Integers and fixed fields

function writeU32(out: Uint8Array, at: number, n: number): void {
  out[at] = n >>> 24
  out[at + 1] = (n >>> 16) & 255
  out[at + 2] = (n >>> 8) & 255
  out[at + 3] = n & 255
}

function readU32(b: Uint8Array, at: number): number {
  return (
    (((b[at] as number) << 24) |
      ((b[at + 1] as number) << 16) |
      ((b[at + 2] as number) << 8) |
      (b[at + 3] as number)) >>>
    0
  )
}

function writeU64(out: Uint8Array, at: number, n: number): void {
  writeU32(out, at, Math.floor(n / 0x1_0000_0000))
  writeU32(out, at + 4, n >>> 0)
}

/** A u64 that must be a safe integer; -1 when it is not. */
function readSeq(b: Uint8Array, at: number): number {
  const hi = readU32(b, at)
  if (hi > 0x1f_ffff) return -1
  return hi * 0x1_0000_0000 + readU32(b, at + 4)
}

function header(type: number, bodyBytes: number): Uint8Array {
  const out = new Uint8Array(1 + bodyBytes)
  out[0] = (PROTOCOL_VERSION << 5) | type
  return out
}

function blobCid(b: Uint8Array, at: number): CID | undefined {
  try {
    const cid = cidFromBytes(b.slice(at, at + BLOB_ID))
    return isMurmurCid(cid, RAW) ? cid : undefined
  } catch {
    return undefined
  }
}

function checkBlobCid(cid: CID): Uint8Array {
  if (cid.bytes.length !== BLOB_ID) throw new RangeError('a blob id is a 36-byte CIDv1 (raw, sha2-256)')
  return cid.bytes
}

// ---------------------------------------------------------------------------------------------
// Encoders (for our own, well-formed data: they throw RangeError on programmer mistakes)

function encodeEntries(type: number, entries: readonly ClockEntry[]): Uint8Array {
  if (entries.length > CLOCK_ENTRIES_PER_FRAME) throw new RangeError('too many clock entries for one frame')
  const out = header(type, entries.length * CLOCK_ENTRY_BYTES)
  let at = 1
  for (const e of entries) {
    out.set(e.feed, at)
    writeU64(out, at + FEED, e.seq)
    if (e.tail === undefined) out.set(e.prefix.subarray(0, PREFIX), at + FEED + SEQ)
    else {
      if (type !== TYPE.clock || e.seq !== 0 || !Number.isSafeInteger(e.tail) || e.tail < 1) {
        throw new RangeError('a tail is a whole number ≥ 1, only in a CLOCK entry of seq 0')
      }
      writeU64(out, at + FEED + SEQ, e.tail)
    }
    at += CLOCK_ENTRY_BYTES
  }
  return out
}

/** A CLOCK frame of at most {@link CLOCK_ENTRIES_PER_FRAME} entries. */
export function encodeClock(entries: readonly ClockEntry[]): Uint8Array {
  return encodeEntries(TYPE.clock, entries)
}

/**
 * A HAVE frame of at most {@link CLOCK_ENTRIES_PER_FRAME} entries (no tails). Send it only to a
 * peer whose hello has {@link FEATURE}`.have`.
 */
export function encodeHave(entries: readonly ClockEntry[]): Uint8Array {
  return encodeEntries(TYPE.have, entries)
}

/** An UNWANT frame of at most {@link UNWANT_PER_FRAME} feeds. */
export function encodeUnwant(feeds: readonly FeedId[]): Uint8Array {
  if (feeds.length > UNWANT_PER_FRAME) throw new RangeError('too many feeds for one frame')
  const out = header(TYPE.unwant, feeds.length * FEED)
  feeds.forEach((f, i) => {
    out.set(f, 1 + i * FEED)
  })
  return out
}

/** A CREDIT frame granting `bytes` more (1 to 2^32-1). */
export function encodeCredit(bytes: number): Uint8Array {
  const out = header(TYPE.credit, 4)
  writeU32(out, 1, bytes)
  return out
}

/** The size of a MSGS frame holding messages of these sizes. */
export function msgsFrameBytes(totalMsgBytes: number, count: number): number {
  return 1 + totalMsgBytes + count * MSG_OVERHEAD
}

/** A MSGS frame of signed messages (each under 64 KiB; the whole at most {@link MAX_PLAINTEXT}). */
export function encodeMsgs(msgs: readonly Uint8Array[]): Uint8Array {
  let total = 0
  for (const m of msgs) total += m.length
  const out = header(TYPE.msgs, total + msgs.length * MSG_OVERHEAD)
  let at = 1
  for (const m of msgs) {
    out[at] = m.length >>> 8
    out[at + 1] = m.length & 255
    out.set(m, at + 2)
    at += 2 + m.length
  }
  return out
}

function encodeFeedSeq(type: number, feed: FeedId, seq: number): Uint8Array {
  const out = header(type, FEED + SEQ)
  out.set(feed, 1)
  writeU64(out, 1 + FEED, seq)
  return out
}

/** A GET frame: send me `feed`'s message at `seq`. */
export function encodeGet(feed: FeedId, seq: number): Uint8Array {
  return encodeFeedSeq(TYPE.get, feed, seq)
}

/** A NONE frame: I do not hold `feed`'s message at `seq`. */
export function encodeNone(feed: FeedId, seq: number): Uint8Array {
  return encodeFeedSeq(TYPE.none, feed, seq)
}

/** A BLOB_WANT frame of at most {@link BLOB_WANT_PER_FRAME} blob ids. */
export function encodeBlobWant(cids: readonly CID[]): Uint8Array {
  if (cids.length > BLOB_WANT_PER_FRAME) throw new RangeError('too many blob ids for one frame')
  const out = header(TYPE.blobWant, cids.length * BLOB_ID)
  cids.forEach((c, i) => {
    out.set(checkBlobCid(c), 1 + i * BLOB_ID)
  })
  return out
}

/** A BLOB_HAVE frame. */
export function encodeBlobHave(cid: CID, size: number): Uint8Array {
  const out = header(TYPE.blobHave, BLOB_ID + 4)
  out.set(checkBlobCid(cid), 1)
  writeU32(out, 1 + BLOB_ID, size)
  return out
}

/** A BLOB_GET frame. */
export function encodeBlobGet(cid: CID, offset: number, length: number): Uint8Array {
  const out = header(TYPE.blobGet, BLOB_ID + 8)
  out.set(checkBlobCid(cid), 1)
  writeU32(out, 1 + BLOB_ID, offset)
  writeU32(out, 1 + BLOB_ID + 4, length)
  return out
}

/** A BLOB_CHUNK frame. */
export function encodeBlobChunk(cid: CID, offset: number, bytes: Uint8Array): Uint8Array {
  const out = header(TYPE.blobChunk, BLOB_ID + 4 + bytes.length)
  out.set(checkBlobCid(cid), 1)
  writeU32(out, 1 + BLOB_ID, offset)
  out.set(bytes, CHUNK_OVERHEAD)
  return out
}

/** A CLOSE frame (the reason is cut to 512 bytes). */
export function encodeClose(reason: string): Uint8Array {
  const text = new TextEncoder().encode(reason).subarray(0, MAX_CLOSE_REASON)
  const out = header(TYPE.close, text.length)
  out.set(text, 1)
  return out
}

/**
 * A PEERS frame (send it only to a peer that reads {@link FEATURE}`.peers`).
 * @throws {RangeError} for more than {@link PEERS_PER_FRAME} entries, a feed id that is not 32
 * bytes, or a url that is not a ws:/wss: address of at most {@link MAX_PEER_URL} bytes.
 */
export function encodePeers(entries: readonly PeerEntry[]): Uint8Array {
  if (entries.length > PEERS_PER_FRAME) throw new RangeError(`at most ${PEERS_PER_FRAME} entries in a PEERS frame`)
  const urls = entries.map((e) => {
    if (!(e.feed instanceof Uint8Array) || e.feed.length !== FEED) throw new RangeError('a feed id is 32 bytes')
    if (e.url === undefined) return new Uint8Array(0)
    if (!isPeerUrl(e.url)) throw new RangeError(`not a ws:/wss: address of at most ${MAX_PEER_URL} bytes: ${e.url}`)
    return new TextEncoder().encode(e.url)
  })
  const out = header(
    TYPE.peers,
    urls.reduce((n, u) => n + FEED + 2 + u.length, 0),
  )
  let at = 1
  entries.forEach((e, i) => {
    const url = urls[i] as Uint8Array
    out.set(e.feed, at)
    out[at + FEED] = url.length >>> 8
    out[at + FEED + 1] = url.length & 255
    out.set(url, at + FEED + 2)
    at += FEED + 2 + url.length
  })
  return out
}

/**
 * A SIGNAL frame (send it only to a peer that reads {@link FEATURE}`.signal`).
 * @throws {RangeError} for feed ids that are not 32 bytes or a payload of 0 or over
 * {@link MAX_SIGNAL_PAYLOAD} bytes.
 */
export function encodeSignal(s: SignalFrame): Uint8Array {
  if (s.to.length !== FEED || s.from.length !== FEED) throw new RangeError('a feed id is 32 bytes')
  if (s.payload.length === 0 || s.payload.length > MAX_SIGNAL_PAYLOAD) {
    throw new RangeError(`a SIGNAL payload is 1 to ${MAX_SIGNAL_PAYLOAD} bytes`)
  }
  const out = header(TYPE.signal, SIGNAL_OVERHEAD - 1 + s.payload.length)
  out[1] = s.relayed ? 1 : 0
  out.set(s.to, 2)
  out.set(s.from, 2 + FEED)
  out.set(s.payload, SIGNAL_OVERHEAD)
  return out
}

/** A REQUEST frame of at most {@link REQUEST_ENTRIES_PER_FRAME} entries (only to peers that read {@link FEATURE}`.gossip`). */
export function encodeRequest(entries: readonly RequestEntry[]): Uint8Array {
  if (entries.length > REQUEST_ENTRIES_PER_FRAME) throw new RangeError('too many request entries for one frame')
  const out = header(TYPE.request, entries.length * REQUEST_ENTRY_BYTES)
  entries.forEach((e, i) => {
    const at = 1 + i * REQUEST_ENTRY_BYTES
    out.set(e.feed, at)
    out[at + FEED] = e.mode === 'notify' ? 1 : 0
    writeU64(out, at + FEED + 1, e.seq)
  })
  return out
}

// ---------------------------------------------------------------------------------------------
// Decoder (for remote data: never throws)

const fail = (error: string): FrameError => ({ error })

/** Decodes a protocol frame (the plaintext of a sealed frame), or says why it does not decode. */
export function decodeFrame(p: Uint8Array): Frame | FrameError {
  if (p.length === 0) return fail('an empty frame')
  if (p.length > MAX_PLAINTEXT) return fail(`a frame of ${p.length} bytes (the limit is ${MAX_PLAINTEXT})`)
  const first = p[0] as number
  const version = first >>> 5
  if (version !== PROTOCOL_VERSION) return fail(`frame version ${version} (this peer speaks ${PROTOCOL_VERSION})`)
  const type = first & 31
  const body = p.length - 1
  switch (type) {
    case TYPE.clock:
    case TYPE.have: {
      const name = type === TYPE.clock ? 'CLOCK' : 'HAVE'
      if (body % CLOCK_ENTRY_BYTES !== 0) return fail(`a ${name} body is a whole number of 48-byte entries`)
      const entries: ClockEntry[] = []
      for (let at = 1; at < p.length; at += CLOCK_ENTRY_BYTES) {
        const feed = p.slice(at, at + FEED)
        const seq = readSeq(p, at + FEED)
        if (seq < 0) return fail('a clock seq beyond 2^53')
        if (seq > 0) {
          entries.push({ feed, seq, prefix: p.slice(at + FEED + SEQ, at + CLOCK_ENTRY_BYTES) })
          continue
        }
        // Nothing held: in CLOCK the prefix bytes are a tail (0 = the whole feed); in HAVE, unused.
        const tail = type === TYPE.clock ? readSeq(p, at + FEED + SEQ) : 0
        if (tail < 0) return fail('a clock tail beyond 2^53')
        const prefix = new Uint8Array(PREFIX)
        entries.push(tail > 0 ? { feed, seq, prefix, tail } : { feed, seq, prefix })
      }
      return type === TYPE.clock ? { type: 'clock', entries } : { type: 'have', entries }
    }
    case TYPE.unwant: {
      if (body % FEED !== 0) return fail('an UNWANT body is a whole number of 32-byte feed ids')
      const feeds: FeedId[] = []
      for (let at = 1; at < p.length; at += FEED) feeds.push(p.slice(at, at + FEED))
      return { type: 'unwant', feeds }
    }
    case TYPE.credit: {
      if (body !== 4) return fail('a CREDIT body is 4 bytes')
      const bytes = readU32(p, 1)
      if (bytes === 0) return fail('a CREDIT of 0 bytes')
      return { type: 'credit', bytes }
    }
    case TYPE.msgs: {
      const msgs: Uint8Array[] = []
      let at = 1
      while (at < p.length) {
        if (at + 2 > p.length) return fail('a MSGS body ends inside a length')
        const len = ((p[at] as number) << 8) | (p[at + 1] as number)
        if (len === 0) return fail('an empty message in MSGS')
        if (at + 2 + len > p.length) return fail('a message in MSGS runs past the frame')
        msgs.push(p.slice(at + 2, at + 2 + len))
        at += 2 + len
      }
      if (msgs.length === 0) return fail('a MSGS frame without messages')
      return { type: 'msgs', msgs }
    }
    case TYPE.get:
    case TYPE.none: {
      if (body !== FEED + SEQ) return fail('a GET or NONE body is feed(32) and seq(8)')
      const seq = readSeq(p, 1 + FEED)
      if (seq < 1) return fail('a GET or NONE seq must be 1 to 2^53')
      return { type: type === TYPE.get ? 'get' : 'none', feed: p.slice(1, 1 + FEED), seq }
    }
    case TYPE.blobWant: {
      if (body % BLOB_ID !== 0 || body === 0) return fail('a BLOB_WANT body is one or more 36-byte blob ids')
      if (body / BLOB_ID > BLOB_WANT_PER_FRAME) return fail(`more than ${BLOB_WANT_PER_FRAME} blob ids in BLOB_WANT`)
      const cids: CID[] = []
      for (let at = 1; at < p.length; at += BLOB_ID) {
        const cid = blobCid(p, at)
        if (!cid) return fail('a BLOB_WANT id is not a raw sha2-256 CIDv1')
        cids.push(cid)
      }
      return { type: 'blob-want', cids }
    }
    case TYPE.blobHave: {
      if (body !== BLOB_ID + 4) return fail('a BLOB_HAVE body is id(36) and size(4)')
      const cid = blobCid(p, 1)
      if (!cid) return fail('a BLOB_HAVE id is not a raw sha2-256 CIDv1')
      return { type: 'blob-have', cid, size: readU32(p, 1 + BLOB_ID) }
    }
    case TYPE.blobGet: {
      if (body !== BLOB_ID + 8) return fail('a BLOB_GET body is id(36), offset(4) and length(4)')
      const cid = blobCid(p, 1)
      if (!cid) return fail('a BLOB_GET id is not a raw sha2-256 CIDv1')
      return { type: 'blob-get', cid, offset: readU32(p, 1 + BLOB_ID), length: readU32(p, 1 + BLOB_ID + 4) }
    }
    case TYPE.blobChunk: {
      if (body < BLOB_ID + 4 + 1) return fail('a BLOB_CHUNK body is id(36), offset(4) and at least one byte')
      const cid = blobCid(p, 1)
      if (!cid) return fail('a BLOB_CHUNK id is not a raw sha2-256 CIDv1')
      return { type: 'blob-chunk', cid, offset: readU32(p, 1 + BLOB_ID), bytes: p.subarray(CHUNK_OVERHEAD) }
    }
    case TYPE.peers:
      return decodePeers(p)
    case TYPE.signal: {
      if (body < SIGNAL_OVERHEAD) return fail('a SIGNAL body is flags(1), to(32), from(32) and a payload')
      if (p.length - SIGNAL_OVERHEAD > MAX_SIGNAL_PAYLOAD)
        return fail(`a SIGNAL payload over ${MAX_SIGNAL_PAYLOAD} bytes`)
      return {
        type: 'signal',
        relayed: ((p[1] as number) & 1) === 1,
        to: p.slice(2, 2 + FEED),
        from: p.slice(2 + FEED, SIGNAL_OVERHEAD),
        // A plain copy (the plaintext may be a Node Buffer): it goes to applications as is.
        payload: new Uint8Array(p.subarray(SIGNAL_OVERHEAD)),
      }
    }
    case TYPE.request: {
      if (body % REQUEST_ENTRY_BYTES !== 0) return fail('a REQUEST body is a whole number of 41-byte entries')
      const entries: RequestEntry[] = []
      for (let at = 1; at < p.length; at += REQUEST_ENTRY_BYTES) {
        const mode = p[at + FEED] as number
        if (mode > 1) return fail(`a REQUEST mode of ${mode}`)
        const seq = readSeq(p, at + FEED + 1)
        if (seq < 0) return fail('a REQUEST seq beyond 2^53')
        entries.push({ feed: p.slice(at, at + FEED), mode: mode === 1 ? 'notify' : 'stream', seq })
      }
      return { type: 'request', entries }
    }
    case TYPE.close: {
      if (body > MAX_CLOSE_REASON) return fail('a CLOSE reason over 512 bytes')
      return { type: 'close', reason: new TextDecoder('utf-8', { fatal: false }).decode(p.subarray(1)) }
    }
    default:
      return fail(`unknown frame type ${type}`)
  }
}

function decodePeers(p: Uint8Array): Frame | FrameError {
  const entries: PeerEntry[] = []
  let dropped = 0
  let at = 1
  while (at < p.length) {
    if (entries.length + dropped >= PEERS_PER_FRAME) return fail(`more than ${PEERS_PER_FRAME} entries in PEERS`)
    if (at + FEED + 2 > p.length) return fail('a PEERS entry ends inside its feed id or url length')
    const feed = p.slice(at, at + FEED)
    const len = ((p[at + FEED] as number) << 8) | (p[at + FEED + 1] as number)
    at += FEED + 2
    if (at + len > p.length) return fail('a PEERS url runs past the frame')
    if (len === 0) entries.push({ feed })
    else {
      let url: string | undefined
      try {
        url = new TextDecoder('utf-8', { fatal: true }).decode(p.subarray(at, at + len))
      } catch {
        url = undefined
      }
      if (url !== undefined && isPeerUrl(url)) entries.push({ feed, url })
      else dropped++
    }
    at += len
  }
  return { type: 'peers', entries, dropped }
}

/** True when `x` is a {@link FrameError}. */
export function isFrameError(x: Frame | FrameError): x is FrameError {
  return 'error' in x
}

// ---------------------------------------------------------------------------------------------
// Handshake: the hello carried in the Noise payloads, and abort frames

/**
 * Hello bytes: `[protocol version][feature flags]` ({@link FEATURE}; peers of before any
 * feature send 0 and ignore it); longer hellos are from newer peers.
 */
export function encodeHello(features: number = FEATURES): Uint8Array {
  return new Uint8Array([PROTOCOL_VERSION, features & 255])
}

/** The protocol version in a hello, or -1 when it is not a hello. */
export function decodeHello(b: Uint8Array): number {
  return b.length >= 2 ? (b[0] as number) : -1
}

/** The feature flags of a hello ({@link FEATURE} bits; 0 when it is not a hello). */
export function helloFeatures(b: Uint8Array): number {
  return b.length >= 2 ? (b[1] as number) : 0
}

/** Why a handshake was aborted (the code byte of an abort frame). */
export const ABORT = {
  /** The first handshake message did not authenticate: another network key or channel binding. */
  networkKey: 1,
  /** A handshake message was malformed or did not authenticate. */
  handshake: 2,
  /** The remote is not the peer the caller expected. */
  unexpectedRemote: 3,
  /** The remote speaks a protocol version this peer does not. */
  version: 4,
  /** The handshake took longer than allowed. */
  timeout: 5,
} as const

/** A wire frame carrying a Noise handshake message. */
export function wireHandshake(msg: Uint8Array): Uint8Array {
  const out = new Uint8Array(1 + msg.length)
  out[0] = WIRE.handshake
  out.set(msg, 1)
  return out
}

/** A wire frame aborting the handshake with `code`. */
export function wireAbort(code: number): Uint8Array {
  return new Uint8Array([WIRE.abort, code])
}

/** A wire frame carrying sealed bytes. */
export function wireSealed(ciphertext: Uint8Array): Uint8Array {
  const out = new Uint8Array(1 + ciphertext.length)
  out[0] = WIRE.sealed
  out.set(ciphertext, 1)
  return out
}
