/**
 * The Noise handshake's curve: ed25519 keys for Diffie-Hellman (the `noise-curve-ed` interface),
 * on @noble/ed25519's point arithmetic, so the same code runs in browsers and in Node.
 *
 * Why not `noise-curve-ed`: it needs `crypto_scalarmult_ed25519_noclamp` from sodium, which
 * sodium-javascript (what sodium-universal maps to in browsers) does not have, so a page could
 * not complete a handshake. A handshake does a few scalar multiplications, once per connection:
 * the pure version costs milliseconds, and one code path everywhere beats a faster one in Node.
 *
 * It gives the bytes of noise-curve-ed on libsodium (a test compares them): keys are ed25519
 * keypairs (secret key = seed ‖ public key); `dh` multiplies the remote's point by the clamped
 * scalar of the local seed, with libsodium's `crypto_scalarmult_ed25519_noclamp` checks (a
 * canonical encoding of a point of prime order; never the identity). On the prime-order
 * subgroup a scalar acts mod L, so reducing it first gives libsodium's result exactly.
 */
import { etc, Point } from '@noble/ed25519'
import { sha512 } from '@noble/hashes/sha2.js'

const L = Point.CURVE().n

export const DHLEN = 32
export const PKLEN = 32
export const SCALARLEN = 32
export const SKLEN = 64
export const ALG = 'Ed25519'
export const name = ALG

/** An ed25519 keypair, as noise-handshake keeps it. */
export interface CurveKeyPair {
  publicKey: Uint8Array
  secretKey: Uint8Array
}

/** A keypair from the first 32 bytes of `privKey` (a seed or a secret key), or a random one. */
export function generateKeyPair(privKey?: Uint8Array): CurveKeyPair {
  const seed = privKey ? privKey.slice(0, 32) : globalThis.crypto.getRandomValues(new Uint8Array(32))
  const publicKey = Point.BASE.multiply(scalarOf(seed)).toBytes()
  return { publicKey, secretKey: etc.concatBytes(seed, publicKey) }
}

/**
 * [a]P for the remote point `publicKey` and the local secret scalar a.
 * @throws {Error} when `publicKey` is not a canonical point of prime order (as libsodium fails).
 */
export function dh(publicKey: Uint8Array, local: { scalar?: Uint8Array; secretKey?: Uint8Array }): Uint8Array {
  if (publicKey.length !== PKLEN) throw new Error('dh: the public key is 32 bytes')
  let n: bigint
  if (local.scalar) {
    const t = local.scalar.slice(0, 32)
    t[31] = (t[31] as number) & 127 // as libsodium's noclamp does
    n = etc.mod(leToBigint(t), L)
  } else if (local.secretKey?.length === SKLEN) {
    n = scalarOf(local.secretKey.subarray(0, 32))
  } else {
    throw new Error('dh: no scalar and no 64-byte secret key')
  }
  let p: Point
  try {
    p = Point.fromBytes(publicKey, false) // strict: y < p, on the curve
  } catch (cause) {
    throw new Error('dh: the public key is not a canonical point', { cause })
  }
  if (p.isSmallOrder() || !p.isTorsionFree() || n === 0n) throw new Error('dh: a weak point or scalar')
  return p.multiply(n).toBytes()
}

/** The secret scalar of an ed25519 seed (RFC 8032 5.1.5: clamp SHA-512(seed)[0..32]), mod L. */
function scalarOf(seed: Uint8Array): bigint {
  const h = sha512(seed).subarray(0, 32)
  h[0] = (h[0] as number) & 248
  h[31] = ((h[31] as number) & 127) | 64
  return etc.mod(leToBigint(h), L)
}

function leToBigint(bytes: Uint8Array): bigint {
  let n = 0n
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i] as number)
  return n
}

export default { DHLEN, PKLEN, SCALARLEN, SKLEN, ALG, name, generateKeyPair, dh }
