/**
 * The pure TypeScript backend on @noble/ed25519: runs everywhere, about 20x slower than the
 * native ones, so it is the fallback only.
 *
 * Verification is written here rather than taken from noble's `verify`, because that one is
 * cofactored ([8][S]B = [8]R + [8][k]A; ZIP215 by default) while libsodium, OpenSSL and BoringSSL
 * are cofactorless: they accept iff encode([S]B - [k]A) equals the bytes of R. The two rules
 * disagree on crafted signatures with a torsion component in R or A, which the strict pre-check
 * cannot spot without point arithmetic; so every backend must use the same (cofactorless) rule.
 */
import { etc, hashes, getPublicKey as nobleGetPublicKey, sign as nobleSign, Point } from '@noble/ed25519'
import { sha512 } from '@noble/hashes/sha2.js'
import { MurmurError } from '../errors.js'
import type { Ed25519, VerifyItem } from './types.js'

const L = Point.CURVE().n

/**
 * The @noble/ed25519 backend, named `'noble'`, with a synchronous verify. It wires @noble/hashes'
 * sha512 into noble's `hashes.sha512` slot (needed by noble's synchronous API) if nothing is there.
 */
export function createNobleEd25519(): Ed25519 {
  hashes.sha512 ??= sha512
  return {
    name: 'noble',
    async publicKey(seed) {
      return nobleGetPublicKey(checkSeed(seed))
    },
    async sign(seed, message) {
      return nobleSign(message, checkSeed(seed))
    },
    async verifyBatch(items) {
      return items.map(verifyCofactorless)
    },
    verifySync: verifyCofactorless,
  }
}

/**
 * RFC 8032 section 5.1.7 with the cofactorless check and strict decoding of A, as in libsodium:
 * S < L, A decodes (y < p, on the curve, not x = 0 with the sign bit set), and
 * encode([S]B - [k]A) == R with k = SHA-512(R ‖ A ‖ M) mod L. R is never decoded: comparing
 * bytes against a canonical encoding also rejects a non-canonical R.
 */
function verifyCofactorless({ publicKey, message, signature }: VerifyItem): boolean {
  if (publicKey.length !== 32 || signature.length !== 64) return false
  const r = signature.subarray(0, 32)
  const s = leToBigint(signature.subarray(32, 64))
  if (s >= L) return false
  let a: Point
  try {
    a = Point.fromBytes(publicKey, false)
  } catch {
    return false // not a point, or not canonically encoded
  }
  const k = etc.mod(leToBigint(sha512(etc.concatBytes(r, publicKey, message))), L)
  // Public data only, so the faster variable-time multiplications are fine.
  const check = Point.BASE.multiply(s, false).subtract(a.multiply(k, false)).toBytes()
  for (let i = 0; i < 32; i++) if (check[i] !== r[i]) return false
  return true
}

function leToBigint(bytes: Uint8Array): bigint {
  let n = 0n
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i] as number)
  return n
}

function checkSeed(seed: Uint8Array): Uint8Array {
  if (seed.length !== 32) throw new MurmurError('INVALID_ARGUMENT', 'an ed25519 secret seed is 32 bytes')
  return seed
}
