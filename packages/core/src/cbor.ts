/**
 * A strict, single-pass decoder for canonical DAG-CBOR: it returns a value only when the bytes
 * are exactly what the DAG-CBOR encoder writes for it, so "one message, one id" holds without
 * re-encoding (which would cost as much again as decoding).
 *
 * Accepted: unsigned and negative integers within ±(2^53 − 1) in their shortest form; byte and
 * text strings (valid UTF-8) with shortest lengths; definite-length arrays and maps; map keys
 * that are text strings in DAG-CBOR order (shorter first, then bytewise) without duplicates;
 * tag 42 around a 0x00-prefixed binary CID; false, true, null; 64-bit floats that are finite
 * and not integral (the encoder writes integral numbers as integers; integral floats beyond
 * ±2^64, which it writes as floats, are rejected with the integers beyond 2^53). Everything else —
 * indefinite lengths, other tags, undefined, half and single floats, trailing bytes, nesting
 * deeper than 64 — is rejected. The differential tests hold it to @ipld/dag-cbor's encoder.
 */
import type { CID } from 'multiformats/cid'
import { cidFromBytes } from './hash.js'

/** Why bytes are not canonical DAG-CBOR. */
export class CborError extends Error {
  override name = 'CborError'
}

const MAX_DEPTH = 64
const utf8 = new TextDecoder('utf-8', { fatal: true })

/**
 * Decodes canonical DAG-CBOR.
 * @throws {CborError} when `bytes` are not exactly one canonical DAG-CBOR value.
 */
export function decodeCanonical(bytes: Uint8Array): unknown {
  const r = new Reader(bytes)
  const value = r.value(0)
  if (r.at !== bytes.length) throw new CborError(`${bytes.length - r.at} bytes after the value`)
  return value
}

class Reader {
  at = 0
  constructor(readonly b: Uint8Array) {}

  byte(): number {
    if (this.at >= this.b.length) throw new CborError('unexpected end')
    return this.b[this.at++] as number
  }

  /** The argument of a head byte, in shortest form only. */
  arg(info: number): number {
    if (info < 24) return info
    const b = this.b
    const at = this.at
    let n: number
    let min: number
    switch (info) {
      case 24:
        n = this.need(1) && (b[at] as number)
        min = 24
        this.at += 1
        break
      case 25:
        n = this.need(2) && ((b[at] as number) << 8) | (b[at + 1] as number)
        min = 0x100
        this.at += 2
        break
      case 26:
        n =
          this.need(4) &&
          (b[at] as number) * 0x1000000 +
            (((b[at + 1] as number) << 16) | ((b[at + 2] as number) << 8) | (b[at + 3] as number))
        min = 0x10000
        this.at += 4
        break
      case 27: {
        this.need(8)
        const hi =
          (b[at] as number) * 0x1000000 +
          (((b[at + 1] as number) << 16) | ((b[at + 2] as number) << 8) | (b[at + 3] as number))
        const lo =
          (b[at + 4] as number) * 0x1000000 +
          (((b[at + 5] as number) << 16) | ((b[at + 6] as number) << 8) | (b[at + 7] as number))
        if (hi > 0x1fffff) throw new CborError('integer beyond 2^53 - 1')
        n = hi * 0x100000000 + lo
        min = 0x100000000
        this.at += 8
        break
      }
      default:
        throw new CborError(info === 31 ? 'indefinite length' : `reserved additional info ${info}`)
    }
    if (n < min) throw new CborError('integer or length not in its shortest form')
    return n
  }

  need(n: number): true {
    if (this.at + n > this.b.length) throw new CborError('unexpected end')
    return true
  }

  take(n: number): Uint8Array {
    this.need(n)
    // A plain Uint8Array view (not a Buffer subarray when the input is a Buffer), no copy.
    const out = new Uint8Array(this.b.buffer, this.b.byteOffset + this.at, n)
    this.at += n
    return out
  }

  text(n: number): string {
    const raw = this.take(n)
    let ascii = true
    for (let i = 0; i < raw.length; i++) {
      if ((raw[i] as number) >= 0x80) {
        ascii = false
        break
      }
    }
    if (ascii) return String.fromCharCode.apply(null, raw as unknown as number[])
    try {
      return utf8.decode(raw)
    } catch {
      throw new CborError('text is not valid UTF-8')
    }
  }

  value(depth: number): unknown {
    if (depth > MAX_DEPTH) throw new CborError('nested too deeply')
    const head = this.byte()
    const major = head >> 5
    const info = head & 31
    switch (major) {
      case 0:
        return this.arg(info)
      case 1: {
        const n = this.arg(info)
        if (n === Number.MAX_SAFE_INTEGER) throw new CborError('integer beyond -(2^53 - 1)')
        return -1 - n
      }
      case 2:
        return this.take(this.arg(info))
      case 3:
        return this.text(this.arg(info))
      case 4: {
        const n = this.arg(info)
        if (n > this.b.length - this.at) throw new CborError('array longer than the input')
        const out = new Array(n)
        for (let i = 0; i < n; i++) out[i] = this.value(depth + 1)
        return out
      }
      case 5:
        return this.map(this.arg(info), depth)
      case 6: {
        if (this.arg(info) !== 42) throw new CborError('only tag 42 (CID) is allowed')
        const inner = this.byte()
        if (inner >> 5 !== 2) throw new CborError('tag 42 must wrap bytes')
        const raw = this.take(this.arg(inner & 31))
        if (raw[0] !== 0) throw new CborError('a CID in tag 42 starts with 0x00')
        let cid: CID
        try {
          cid = cidFromBytes(raw.subarray(1))
        } catch {
          throw new CborError('tag 42 holds no valid CID')
        }
        const canon = cid.bytes
        if (canon.length !== raw.length - 1) throw new CborError('a CID is not in its canonical form')
        for (let i = 0; i < canon.length; i++)
          if (canon[i] !== raw[i + 1]) throw new CborError('a CID is not in its canonical form')
        return cid
      }
      default:
        return this.simple(info)
    }
  }

  map(n: number, depth: number): Record<string, unknown> {
    if (n > this.b.length - this.at) throw new CborError('map longer than the input')
    const out: Record<string, unknown> = {}
    let prevStart = -1
    let prevLen = 0
    for (let i = 0; i < n; i++) {
      const head = this.byte()
      if (head >> 5 !== 3) throw new CborError('map keys must be text')
      const len = this.arg(head & 31)
      const start = this.at
      const key = this.text(len)
      if (prevStart >= 0 && compareKeys(this.b, prevStart, prevLen, start, len) >= 0) {
        throw new CborError('map keys out of order or repeated')
      }
      prevStart = start
      prevLen = len
      const value = this.value(depth + 1)
      // Never let a key named __proto__ set the prototype.
      if (key === '__proto__')
        Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true })
      else out[key] = value
    }
    return out
  }

  simple(info: number): unknown {
    switch (info) {
      case 20:
        return false
      case 21:
        return true
      case 22:
        return null
      case 27: {
        const raw = this.take(8)
        const v = new DataView(raw.buffer, raw.byteOffset, 8).getFloat64(0)
        if (!Number.isFinite(v)) throw new CborError('NaN and Infinity are not allowed')
        if (Number.isInteger(v)) throw new CborError('an integral number must be written as an integer')
        return v
      }
      case 23:
        throw new CborError('undefined is not allowed')
      case 25:
      case 26:
        throw new CborError('floats must be 64-bit')
      default:
        throw new CborError(`simple value ${info} is not allowed`)
    }
  }
}

/** DAG-CBOR map key order: shorter first, then bytewise. */
function compareKeys(b: Uint8Array, a0: number, aLen: number, b0: number, bLen: number): number {
  if (aLen !== bLen) return aLen - bLen
  for (let i = 0; i < aLen; i++) {
    const d = (b[a0 + i] as number) - (b[b0 + i] as number)
    if (d !== 0) return d
  }
  return 0
}
