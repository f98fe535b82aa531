/**
 * The Node backend on sodium-native (libsodium): the fastest path in Node, with a synchronous
 * verify. Exported from the subpath `@murmur/core/sodium` only, so browser bundles never see it.
 *
 * libsodium's own checks are already strict (S < L, canonical A, small-order A and R rejected,
 * cofactorless), but `crypto_sign_verify_detached` reads only the first 64 bytes of a longer
 * signature, so this file never hands it anything but exactly 64 signature and 32 key bytes.
 *
 * Deriving the secret key from the seed costs as much as the signature itself, so it is cached
 * in a WeakMap keyed by the caller's seed array (as in ./webcrypto.ts): an entry lives no longer
 * than that array, and its seed copy is compared on every hit, so a rewritten seed is noticed.
 */
import { createRequire } from 'node:module'
import { MurmurError } from '../errors.js'
import type { Ed25519, VerifyItem } from './types.js'

/** The part of sodium-native this backend uses (the package ships no type declarations). */
interface SodiumSign {
  crypto_sign_seed_keypair(pk: Uint8Array, sk: Uint8Array, seed: Uint8Array): void
  crypto_sign_detached(sig: Uint8Array, message: Uint8Array, sk: Uint8Array): void
  crypto_sign_verify_detached(sig: Uint8Array, message: Uint8Array, pk: Uint8Array): boolean
  sodium_memzero(buffer: Uint8Array): void
}

/**
 * The sodium-native backend, named `'sodium'`, with a synchronous verify. Loads the native
 * addon on first call (Node only).
 */
export function createSodiumEd25519(): Ed25519 {
  const sodium = createRequire(import.meta.url)('sodium-native') as SodiumSign

  function keypair(seed: Uint8Array): { pk: Uint8Array; sk: Uint8Array } {
    if (seed.length !== 32) throw new MurmurError('INVALID_ARGUMENT', 'an ed25519 secret seed is 32 bytes')
    const pk = new Uint8Array(32)
    const sk = new Uint8Array(64)
    sodium.crypto_sign_seed_keypair(pk, sk, seed)
    return { pk, sk }
  }

  // Seed array -> its bytes when derived, and the 64-byte libsodium secret key (seed ‖ pk).
  const secretKeys = new WeakMap<Uint8Array, { readonly seed: Uint8Array; readonly sk: Uint8Array }>()

  function secretKeyOf(seed: Uint8Array): Uint8Array {
    const hit = secretKeys.get(seed)
    if (hit !== undefined && sameBytes(hit.seed, seed)) return hit.sk
    if (hit !== undefined) sodium.sodium_memzero(hit.sk)
    const { sk } = keypair(seed)
    secretKeys.set(seed, { seed: seed.slice(), sk })
    return sk
  }

  function verifySync({ publicKey, message, signature }: VerifyItem): boolean {
    if (publicKey.length !== 32 || signature.length !== 64) return false
    return sodium.crypto_sign_verify_detached(signature, message, publicKey)
  }

  return {
    name: 'sodium',
    async publicKey(seed) {
      const { pk, sk } = keypair(seed)
      sodium.sodium_memzero(sk)
      return pk
    },
    async sign(seed, message) {
      const sig = new Uint8Array(64)
      sodium.crypto_sign_detached(sig, message, secretKeyOf(seed))
      return sig
    },
    async verifyBatch(items) {
      return items.map(verifySync)
    },
    verifySync,
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  let diff = 0
  for (let i = 0; i < a.length; i++) diff |= (a[i] as number) ^ (b[i] as number)
  return diff === 0
}
