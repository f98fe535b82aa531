/**
 * A minimal STUN server (`@murmur/net/stun`, Node only): answers RFC 5389 Binding Requests over
 * UDP with the address and port the request came from (XOR-MAPPED-ADDRESS), so a browser
 * behind a NAT learns its public address for WebRTC from an always-on peer it already trusts,
 * instead of from a third party's STUN server.
 *
 * What it does and does not do
 * ----------------------------
 * - A datagram is answered only if it is a well-formed STUN message (RFC 5389 §6): the two top
 *   bits zero, the magic cookie, a length that is a multiple of 4 and matches the datagram,
 *   attributes that exactly fill it, and, when there is a FINGERPRINT, a correct CRC-32 as the
 *   last attribute (§15.5); and it is a Binding Request. Everything else (not STUN, responses,
 *   indications, other methods) is dropped and counted, never answered, and nothing a datagram
 *   holds can throw out of here. No authentication (none is needed to learn one's own address),
 *   and attributes are not interpreted, so no 420 for unknown comprehension-required ones: the
 *   behaviour of the public STUN servers browsers use.
 * - Reflection and amplification: the answer (32 bytes for IPv4, 44 for IPv6) is at most 2.2
 *   times the smallest request (20 bytes), and each source IP gets a token bucket
 *   (`ratePerSecond`, `burst`), so a spoofed source cannot make this peer flood a victim. At most
 *   `maxSources` buckets are kept (least recently used go first).
 * - IPv4 clients of a dual-stack socket (`host: '::'`) appear as `::ffff:a.b.c.d`: they are
 *   answered with the IPv4 family and address, which is what they see of themselves.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram'
import { isIPv4, isIPv6 } from 'node:net'

/** The magic cookie of every RFC 5389 message (§6). */
export const STUN_MAGIC_COOKIE = 0x2112a442
const HEADER = 20
const BINDING_REQUEST = 0x0001
const BINDING_SUCCESS = 0x0101
const XOR_MAPPED_ADDRESS = 0x0020
const FINGERPRINT = 0x8028
const FINGERPRINT_XOR = 0x5354554e

/** A STUN message's header, once {@link parseStun} found the message well-formed. */
export interface StunHeader {
  /** The message type: method and class (0x0001 Binding Request, 0x0101 Binding Success...). */
  readonly type: number
  /** The 96-bit transaction id. */
  readonly transactionId: Uint8Array
  /** The attributes, in order (values without padding). */
  readonly attributes: readonly { readonly type: number; readonly value: Uint8Array }[]
}

/** A transport address, as in a (XOR-)MAPPED-ADDRESS. */
export interface StunAddress {
  readonly family: 'IPv4' | 'IPv6'
  readonly address: string
  readonly port: number
}

/**
 * Parses a STUN message (RFC 5389 §6, §15): the header, the attributes, and the FINGERPRINT
 * when there is one. Returns why it is not one (a string) for anything malformed; never throws.
 */
export function parseStun(bytes: Uint8Array): StunHeader | string {
  if (bytes.length < HEADER) return 'shorter than a STUN header'
  // A plain view (a Buffer's own slice() would share, and compare unlike a Uint8Array).
  bytes = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const type = view.getUint16(0)
  const length = view.getUint16(2)
  if (type & 0xc000) return 'the two top bits are not zero'
  if (view.getUint32(4) !== STUN_MAGIC_COOKIE) return 'no magic cookie'
  if (length % 4 !== 0 || length !== bytes.length - HEADER) return 'the length does not match'
  const attributes: { type: number; value: Uint8Array }[] = []
  for (let at = HEADER; at < bytes.length; ) {
    if (at + 4 > bytes.length) return 'a truncated attribute'
    const attrType = view.getUint16(at)
    const attrLength = view.getUint16(at + 2)
    const end = at + 4 + attrLength
    if (end > bytes.length) return 'an attribute longer than the message'
    if (attributes.at(-1)?.type === FINGERPRINT) return 'an attribute after FINGERPRINT'
    if (attrType === FINGERPRINT) {
      // CRC-32 of the message before this attribute; being last, it is already in the header's length (§15.5).
      if (attrLength !== 4) return 'a FINGERPRINT that is not 4 bytes'
      if ((crc32(bytes.subarray(0, at)) ^ FINGERPRINT_XOR) >>> 0 !== view.getUint32(at + 4)) {
        return 'a wrong FINGERPRINT'
      }
    }
    attributes.push({ type: attrType, value: bytes.subarray(at + 4, end) })
    at = end + ((4 - (attrLength % 4)) % 4)
  }
  return { type, transactionId: bytes.slice(8, HEADER), attributes }
}

/**
 * A Binding Request with `transactionId` (12 bytes; random when not given) and no attributes.
 * @throws {RangeError} when the transaction id is not 12 bytes.
 */
export function stunBindingRequest(transactionId: Uint8Array = crypto.getRandomValues(new Uint8Array(12))): Uint8Array {
  if (transactionId.length !== 12) throw new RangeError('a STUN transaction id is 12 bytes')
  const out = new Uint8Array(HEADER)
  const view = new DataView(out.buffer)
  view.setUint16(0, BINDING_REQUEST)
  view.setUint32(4, STUN_MAGIC_COOKIE)
  out.set(transactionId, 8)
  return out
}

/**
 * The Binding Success Response to the request `transactionId`, telling the client it was seen
 * at `address` (IPv4, IPv6, or IPv4-mapped IPv6, answered as IPv4) and `port`, in a
 * XOR-MAPPED-ADDRESS attribute (§15.2).
 * @throws {RangeError} for a transaction id that is not 12 bytes, or an address or port that is not one.
 */
export function stunBindingSuccess(transactionId: Uint8Array, address: string, port: number): Uint8Array {
  if (transactionId.length !== 12) throw new RangeError('a STUN transaction id is 12 bytes')
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`not a port: ${port}`)
  const ip = ipBytes(address)
  if (ip === undefined) throw new RangeError(`not an IP address: ${address}`)
  const out = new Uint8Array(HEADER + 4 + 4 + ip.length)
  const view = new DataView(out.buffer)
  view.setUint16(0, BINDING_SUCCESS)
  view.setUint16(2, out.length - HEADER)
  view.setUint32(4, STUN_MAGIC_COOKIE)
  out.set(transactionId, 8)
  view.setUint16(HEADER, XOR_MAPPED_ADDRESS)
  view.setUint16(HEADER + 2, 4 + ip.length)
  view.setUint8(HEADER + 5, ip.length === 4 ? 0x01 : 0x02)
  view.setUint16(HEADER + 6, port ^ (STUN_MAGIC_COOKIE >>> 16))
  // X-Address: the address XOR the magic cookie (IPv4), or XOR cookie ‖ transaction id (IPv6).
  for (let i = 0; i < ip.length; i++) out[HEADER + 8 + i] = (ip[i] as number) ^ (out[4 + i] as number)
  return out
}

/** The XOR-MAPPED-ADDRESS of a STUN message (e.g. a Binding Success Response), if it has a valid one. */
export function readXorMappedAddress(message: StunHeader): StunAddress | undefined {
  const attr = message.attributes.find((a) => a.type === XOR_MAPPED_ADDRESS)?.value
  if (attr === undefined || attr.length < 8) return undefined
  const family = attr[1]
  const size = family === 0x01 ? 4 : family === 0x02 ? 16 : 0
  if (size === 0 || attr.length !== 4 + size) return undefined
  const key = new Uint8Array([0x21, 0x12, 0xa4, 0x42, ...message.transactionId])
  const port = (((attr[2] as number) << 8) | (attr[3] as number)) ^ (STUN_MAGIC_COOKIE >>> 16)
  const ip = attr.subarray(4).map((b, i) => b ^ (key[i] as number))
  if (size === 4) return { family: 'IPv4', address: ip.join('.'), port }
  const groups = Array.from({ length: 8 }, (_, i) =>
    (((ip[2 * i] as number) << 8) | (ip[2 * i + 1] as number)).toString(16),
  )
  return { family: 'IPv6', address: compressIPv6(groups), port }
}

/** Options of {@link startStunServer}. */
export interface StunServerOptions {
  /** UDP port (default 3478, STUN's; 0 for any free one). */
  port?: number
  /** Address to bind (default `127.0.0.1`; `0.0.0.0`, or `::` for IPv6 and IPv4, to serve others). */
  host?: string
  /** Answers per second per source IP, on average (default 5). */
  ratePerSecond?: number
  /** Answers a source IP may get at once after a quiet time (default 20). */
  burst?: number
  /** Source IPs whose rate is tracked (default 10,000; least recently seen forgotten first). */
  maxSources?: number
  /** The clock for the rate limit (ms; default `performance.now`). */
  now?: () => number
}

/** Counters of a {@link StunServer}. */
export interface StunStats {
  /** Datagrams received. */
  readonly received: number
  /** Binding Success Responses handed to the socket. */
  readonly answered: number
  /** Datagrams that were not well-formed STUN (see {@link parseStun}). */
  readonly malformed: number
  /** Well-formed STUN that was not a Binding Request (responses, indications, other methods). */
  readonly ignored: number
  /** Binding Requests over their source's rate. */
  readonly rateLimited: number
  /** Answers the socket failed to send, and socket errors. */
  readonly errors: number
}

/** A running STUN server. */
export interface StunServer {
  /** The UDP port it listens on. */
  readonly port: number
  /** Stops it; resolves once the socket is closed. */
  close(): Promise<void>
  /** Counters so far. */
  stats(): StunStats
}

/**
 * Starts a STUN Binding server on UDP `host`:`port` (see the note at the top of stun.ts).
 * @throws {Error} (as a rejection) when the socket cannot be bound (e.g. `EADDRINUSE`).
 * @throws {RangeError} for a rate, burst or source count that is not positive.
 */
export async function startStunServer(opts: StunServerOptions = {}): Promise<StunServer> {
  const host = opts.host ?? '127.0.0.1'
  const ratePerMs = (opts.ratePerSecond ?? 5) / 1000
  const burst = opts.burst ?? 20
  const maxSources = opts.maxSources ?? 10_000
  const now = opts.now ?? (() => performance.now())
  if (!(ratePerMs > 0) || !(burst >= 1) || !(maxSources >= 1)) {
    throw new RangeError('ratePerSecond, burst and maxSources must be positive')
  }
  const stats = { received: 0, answered: 0, malformed: 0, ignored: 0, rateLimited: 0, errors: 0 }
  const buckets = new Map<string, { tokens: number; at: number }>()

  const allow = (source: string): boolean => {
    const t = now()
    const b = buckets.get(source) ?? { tokens: burst, at: t }
    buckets.delete(source) // re-inserted below: the Map's order is least recently seen first
    b.tokens = Math.min(burst, b.tokens + (t - b.at) * ratePerMs)
    b.at = t
    buckets.set(source, b)
    if (buckets.size > maxSources) buckets.delete(buckets.keys().next().value as string)
    if (b.tokens < 1) return false
    b.tokens -= 1
    return true
  }

  const socket: Socket = createSocket({ type: host.includes(':') ? 'udp6' : 'udp4' })
  const onMessage = (msg: Buffer, rinfo: RemoteInfo) => {
    stats.received++
    const parsed = parseStun(msg)
    if (typeof parsed === 'string') {
      stats.malformed++
      return
    }
    if (parsed.type !== BINDING_REQUEST) {
      stats.ignored++
      return
    }
    const source = unmapped(rinfo.address)
    if (!allow(source)) {
      stats.rateLimited++
      return
    }
    let answer: Uint8Array
    try {
      answer = stunBindingSuccess(parsed.transactionId, source, rinfo.port)
    } catch {
      stats.errors++
      return
    }
    stats.answered++
    socket.send(answer, rinfo.port, rinfo.address, (err) => {
      if (err) stats.errors++
    })
  }
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject)
    socket.bind(opts.port ?? 3478, host, () => {
      socket.off('error', reject)
      resolve()
    })
  })
  socket.on('message', onMessage)
  // An ICMP error for an earlier answer can surface here on some systems: count it, keep serving.
  socket.on('error', () => {
    stats.errors++
  })
  let closing: Promise<void> | undefined
  return {
    port: socket.address().port,
    close: () => {
      closing ??= new Promise<void>((resolve) => socket.close(() => resolve()))
      return closing
    },
    stats: () => ({ ...stats }),
  }
}

/** `::ffff:a.b.c.d` as `a.b.c.d` (an IPv4 client of a dual-stack socket). */
function unmapped(address: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)
  return m?.[1] ?? address
}

/** The 4 or 16 bytes of an IP address (IPv4-mapped IPv6 as IPv4), or undefined. */
function ipBytes(address: string): Uint8Array | undefined {
  const a = unmapped(address.replace(/%.*$/, ''))
  if (isIPv4(a)) return new Uint8Array(a.split('.').map(Number))
  if (!isIPv6(a)) return undefined
  let head = a
  let tail: number[] = []
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(a)
  if (dotted?.[1] !== undefined) {
    const v4 = dotted[1].split('.').map(Number)
    tail = [((v4[0] as number) << 8) | (v4[1] as number), ((v4[2] as number) << 8) | (v4[3] as number)]
    head = a.slice(0, -dotted[1].length).replace(/([^:]):$/, '$1')
  }
  const [left = '', right] = head.split('::')
  const l = left === '' ? [] : left.split(':')
  const r = right === undefined || right === '' ? [] : right.split(':')
  const fill = Array<string>(8 - tail.length - l.length - r.length).fill('0')
  const groups = [...l, ...(right === undefined ? [] : fill), ...r].map((g) => Number.parseInt(g, 16))
  const all = [...groups, ...tail]
  if (all.length !== 8) return undefined
  return new Uint8Array(all.flatMap((g) => [g >> 8, g & 0xff]))
}

/** RFC 5952 text of eight hex groups: the longest run (of two or more) of zeros as `::`. */
function compressIPv6(groups: string[]): string {
  let best = -1
  let bestLen = 1
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++
      continue
    }
    let j = i
    while (j < 8 && groups[j] === '0') j++
    if (j - i > bestLen) {
      best = i
      bestLen = j - i
    }
    i = j
  }
  if (best < 0) return groups.join(':')
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`
}

let crcTable: Uint32Array | undefined

/** CRC-32 (ISO 3309, as zlib's), for FINGERPRINT. */
function crc32(bytes: Uint8Array): number {
  if (crcTable === undefined) {
    crcTable = new Uint32Array(256)
    for (let n = 0; n < 256; n++) {
      let c = n
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
      crcTable[n] = c >>> 0
    }
  }
  let crc = 0xffffffff
  for (const b of bytes) crc = (crcTable[(crc ^ b) & 0xff] as number) ^ (crc >>> 8)
  return (crc ^ 0xffffffff) >>> 0
}
