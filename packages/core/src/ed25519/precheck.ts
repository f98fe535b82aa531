/**
 * Strict pre-checks, run before any ed25519 backend sees a signature.
 *
 * Backends disagree exactly on these inputs, so core decides them itself:
 * - length: sodium-native reads only the first 64 bytes of a longer signature;
 * - S >= L (RFC 8032 section 5.1.7 step 1; malleability, section 8.4);
 * - a non-canonical encoding of A or R (y >= p, RFC 8032 section 5.1.3 step 1): the same point
 *   under a second encoding would give a second id for one signed message;
 * - A or R of small order: OpenSSL (Node) and BoringSSL (Chromium) accept the "universal" key
 *   A = identity, which with R = identity and S = 0 verifies every message; libsodium rejects it.
 *
 * Everything here is a byte comparison against constants: no field or point arithmetic, so it is
 * cheap enough to run on every message. The test suite derives each constant from point math.
 */

/** The group order L = 2^252 + 27742317777372353535851937790883648493, 32 bytes little-endian. */
const L_LE = hexBytes('edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010')

/**
 * The encodings of the points of small order (those with [8]P = identity), in hex: the canonical
 * encodings of all 8 of them, then the two encodings "x = 0 with the sign bit set" of (0, 1) and
 * (0, -1), which RFC 8032 decoding rejects but lenient (ZIP215) decoders accept. The other
 * non-canonical encodings of small-order points have y >= p and fail the canonical check.
 */
export const SMALL_ORDER_ENCODINGS: readonly string[] = Object.freeze([
  // (0, 1): the identity, order 1
  '0100000000000000000000000000000000000000000000000000000000000000',
  // (0, -1): order 2
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  // (±sqrt(-1), 0): order 4
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0000000000000000000000000000000000000000000000000000000000000080',
  // order 8
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85',
  // non-canonical: (0, 1) and (0, -1) with the sign bit of x set although x = 0
  '0100000000000000000000000000000000000000000000000000000000000080',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff',
])

const SMALL_ORDER = SMALL_ORDER_ENCODINGS.map(hexBytes)

/**
 * True when the 64-byte signature and 32-byte key may be handed to a backend: exact lengths,
 * S < L, A and R canonical (y < p) and neither of small order. Pure and cheap; a `false` here is
 * final (the signature is invalid), a `true` still needs the backend's verdict.
 */
export function strictPrecheck(publicKey: Uint8Array, signature: Uint8Array): boolean {
  return (
    publicKey.length === 32 &&
    signature.length === 64 &&
    scalarBelowL(signature, 32) &&
    canonicalY(publicKey, 0) &&
    canonicalY(signature, 0) &&
    !smallOrder(publicKey, 0) &&
    !smallOrder(signature, 0)
  )
}

/** True when `s` is 32 bytes and, read little-endian, less than the group order L. */
export function isCanonicalScalar(s: Uint8Array): boolean {
  return s.length === 32 && scalarBelowL(s, 0)
}

/**
 * True when `point` is 32 bytes whose y (the low 255 bits, little-endian) is below
 * p = 2^255 - 19. This is the only canonical-encoding rule decidable without decompressing;
 * "x = 0 with the sign bit set" is caught by {@link isSmallOrderEncoding}, as both such points
 * have small order.
 */
export function isCanonicalEncoding(point: Uint8Array): boolean {
  return point.length === 32 && canonicalY(point, 0)
}

/** True when `point` is one of the {@link SMALL_ORDER_ENCODINGS}. */
export function isSmallOrderEncoding(point: Uint8Array): boolean {
  return point.length === 32 && smallOrder(point, 0)
}

// b[off..off+32] < L, little-endian: compare from the most significant byte down.
function scalarBelowL(b: Uint8Array, off: number): boolean {
  for (let i = 31; i >= 0; i--) {
    const x = b[off + i] as number
    const l = L_LE[i] as number
    if (x !== l) return x < l
  }
  return false // equal to L
}

// y < p for y = b[off..off+32] without its top bit. y >= p = 2^255 - 19 only when every bit of
// y is set except possibly in the lowest byte, which is then >= 0xed: 19 values of y, each with
// either sign bit.
function canonicalY(b: Uint8Array, off: number): boolean {
  if (((b[off + 31] as number) & 0x7f) !== 0x7f) return true
  for (let i = 30; i >= 1; i--) if (b[off + i] !== 0xff) return true
  return (b[off] as number) < 0xed
}

function smallOrder(b: Uint8Array, off: number): boolean {
  for (const e of SMALL_ORDER) {
    let i = 0
    while (i < 32 && b[off + i] === e[i]) i++
    if (i === 32) return true
  }
  return false
}

function hexBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2)
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16)
  return out
}
