/** Small byte helpers: hex, base64url, Crockford base32, comparison. Pure and allocation-light. */

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))

/** Lowercase hex of `bytes`. */
export function toHex(bytes: Uint8Array): string {
  let out = ''
  for (const b of bytes) out += HEX[b]
  return out
}

/** Bytes of a hex string; `undefined` when it is not even-length hex. */
export function fromHex(hex: string): Uint8Array | undefined {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) return undefined
  const out = new Uint8Array(hex.length / 2)
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16)
  return out
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
const B64_INDEX = new Map([...B64].map((c, i) => [c, i]))

/** Unpadded base64url (RFC 4648 section 5) of `bytes`. */
export function toBase64url(bytes: Uint8Array): string {
  let out = ''
  let i = 0
  for (; i + 2 < bytes.length; i += 3) {
    const n = ((bytes[i] as number) << 16) | ((bytes[i + 1] as number) << 8) | (bytes[i + 2] as number)
    out += B64.charAt(n >> 18) + B64.charAt((n >> 12) & 63) + B64.charAt((n >> 6) & 63) + B64.charAt(n & 63)
  }
  const rest = bytes.length - i
  if (rest === 1) {
    const n = (bytes[i] as number) << 16
    out += B64.charAt(n >> 18) + B64.charAt((n >> 12) & 63)
  } else if (rest === 2) {
    const n = ((bytes[i] as number) << 16) | ((bytes[i + 1] as number) << 8)
    out += B64.charAt(n >> 18) + B64.charAt((n >> 12) & 63) + B64.charAt((n >> 6) & 63)
  }
  return out
}

/**
 * Bytes of unpadded base64url text; `undefined` for anything else, including non-canonical
 * text whose unused trailing bits are not zero (so every byte string has exactly one text form).
 */
export function fromBase64url(text: string): Uint8Array | undefined {
  if (text.length % 4 === 1) return undefined
  const out = new Uint8Array(Math.floor((text.length * 3) / 4))
  let bits = 0
  let acc = 0
  let o = 0
  for (const c of text) {
    const v = B64_INDEX.get(c)
    if (v === undefined) return undefined
    acc = (acc << 6) | v
    bits += 6
    if (bits >= 8) {
      bits -= 8
      out[o++] = (acc >> bits) & 255
    }
  }
  if ((acc & ((1 << bits) - 1)) !== 0) return undefined
  return out
}

// Crockford's base32: no I, L, O, U, so hand-written text is hard to misread.
const B32 = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'

/** Crockford base32 (uppercase, unpadded) of `bytes`. */
export function toBase32(bytes: Uint8Array): string {
  let out = ''
  let acc = 0
  let bits = 0
  for (const b of bytes) {
    acc = ((acc << 8) | b) & 0xffff
    bits += 8
    while (bits >= 5) {
      bits -= 5
      out += B32.charAt((acc >> bits) & 31)
    }
  }
  if (bits > 0) out += B32.charAt((acc << (5 - bits)) & 31)
  return out
}

/**
 * Bytes of Crockford base32 text of a known byte length. Case-insensitive; reads O as 0 and
 * I/L as 1, as Crockford's alphabet asks; `undefined` for anything else.
 */
export function fromBase32(text: string, length: number): Uint8Array | undefined {
  const norm = text.toUpperCase().replace(/O/g, '0').replace(/[IL]/g, '1')
  if (norm.length !== Math.ceil((length * 8) / 5)) return undefined
  const out = new Uint8Array(length)
  let acc = 0
  let bits = 0
  let o = 0
  for (const c of norm) {
    const v = B32.indexOf(c)
    if (v < 0) return undefined
    acc = ((acc << 5) | v) & 0xffff
    bits += 5
    if (bits >= 8) {
      bits -= 8
      if (o < length) out[o++] = (acc >> bits) & 255
    }
  }
  return out
}

/** True when `a` and `b` hold the same bytes. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/** Byte-wise order of `a` and `b`: negative, zero or positive. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const d = (a[i] as number) - (b[i] as number)
    if (d !== 0) return d
  }
  return a.length - b.length
}

/** The concatenation of `parts` in one new array. */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let n = 0
  for (const p of parts) n += p.length
  const out = new Uint8Array(n)
  let o = 0
  for (const p of parts) {
    out.set(p, o)
    o += p.length
  }
  return out
}

/** UTF-8 bytes of `text`. */
export const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text)
