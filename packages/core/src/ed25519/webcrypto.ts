/**
 * The WebCrypto backend: `Ed25519` in `SubtleCrypto` (Chromium, Firefox, Safari; Node 20's
 * `globalThis.crypto.subtle`, which is OpenSSL). The `SubtleCrypto` is passed in, so core never
 * reaches for a global. It needs a secure context in browsers (https or localhost).
 *
 * Public keys are imported once and kept in a small bounded map (importing costs about as much
 * as a verify). A key that fails to import is a `false` verdict, never a throw.
 *
 * Importing a PKCS#8 secret costs ten signatures, so signing keys are cached too, in a WeakMap
 * keyed by the caller's seed array: an entry lives no longer than that array, and holds a copy
 * of the seed that is compared on every hit, so a seed array rewritten in place never signs
 * with its old key.
 */
import { fromBase64url } from '../bytes.js'
import { MurmurError } from '../errors.js'
import type { Ed25519, VerifyItem } from './types.js'

/** Options of {@link createWebCryptoEd25519}. */
export interface WebCryptoEd25519Options {
  /** How many imported public keys to keep (least recently used go first); default 256. */
  readonly keyCacheSize?: number
}

const ALG = { name: 'Ed25519' } as const

// PKCS#8 PrivateKeyInfo of an Ed25519 seed (RFC 8410 section 7): this prefix, then the 32 bytes.
const PKCS8_PREFIX = Uint8Array.of(
  0x30,
  0x2e,
  0x02,
  0x01,
  0x00,
  0x30,
  0x05,
  0x06,
  0x03,
  0x2b,
  0x65,
  0x70,
  0x04,
  0x22,
  0x04,
  0x20,
)

/**
 * The WebCrypto backend, named `'webcrypto'`, on the given `SubtleCrypto` (no synchronous verify).
 * @throws {MurmurError} `INVALID_ARGUMENT` when `keyCacheSize` is not a positive integer.
 */
export function createWebCryptoEd25519(subtle: SubtleCrypto, options: WebCryptoEd25519Options = {}): Ed25519 {
  const cacheSize = options.keyCacheSize ?? 256
  if (!Number.isInteger(cacheSize) || cacheSize < 1) {
    throw new MurmurError('INVALID_ARGUMENT', 'keyCacheSize must be a positive integer')
  }
  // Key bytes (as a latin1 string) -> the import in flight or done; null when it failed.
  const keys = new Map<string, Promise<CryptoKey | null>>()

  function publicKeyOf(bytes: Uint8Array): Promise<CryptoKey | null> {
    const id = String.fromCharCode(...bytes)
    const hit = keys.get(id)
    if (hit !== undefined) {
      keys.delete(id) // re-insert: a Map iterates in insertion order, so this keeps LRU order
      keys.set(id, hit)
      return hit
    }
    const imported = subtle.importKey('raw', bufferSource(bytes), ALG, false, ['verify']).catch(() => null)
    keys.set(id, imported)
    if (keys.size > cacheSize) keys.delete(keys.keys().next().value as string)
    return imported
  }

  async function verifyOne({ publicKey, message, signature }: VerifyItem): Promise<boolean> {
    // WebCrypto wants exactly 32 key bytes; anything else is not a key (and not cached).
    if (publicKey.length !== 32) return false
    const key = await publicKeyOf(publicKey)
    if (key === null) return false
    try {
      return await subtle.verify(ALG, key, bufferSource(signature), bufferSource(message))
    } catch {
      return false
    }
  }

  // Seed array -> its bytes when imported, and the non-extractable signing key.
  const signingKeys = new WeakMap<Uint8Array, { readonly seed: Uint8Array; readonly key: Promise<CryptoKey> }>()

  function signingKeyOf(seed: Uint8Array): Promise<CryptoKey> {
    const hit = signingKeys.get(seed)
    if (hit !== undefined && sameBytes(hit.seed, seed)) return hit.key
    const entry = { seed: seed.slice(), key: secretKeyOf(seed, ['sign'], false) }
    signingKeys.set(seed, entry)
    entry.key.catch(() => {
      if (signingKeys.get(seed) === entry) signingKeys.delete(seed)
    })
    return entry.key
  }

  async function secretKeyOf(seed: Uint8Array, usages: KeyUsage[], extractable: boolean): Promise<CryptoKey> {
    if (seed.length !== 32) throw new MurmurError('INVALID_ARGUMENT', 'an ed25519 secret seed is 32 bytes')
    const pkcs8 = new Uint8Array(PKCS8_PREFIX.length + 32)
    pkcs8.set(PKCS8_PREFIX)
    pkcs8.set(seed, PKCS8_PREFIX.length)
    try {
      return await subtle.importKey('pkcs8', pkcs8, ALG, extractable, usages)
    } finally {
      pkcs8.fill(0)
    }
  }

  return {
    name: 'webcrypto',
    async publicKey(seed) {
      // A private JWK carries the public key too (`x`, RFC 8037); 'raw' export is public-only.
      const jwk = await subtle.exportKey('jwk', await secretKeyOf(seed, ['sign'], true))
      const x = jwk.x === undefined ? undefined : fromBase64url(jwk.x)
      if (x?.length !== 32) throw new MurmurError('INVALID_ARGUMENT', 'WebCrypto gave no ed25519 public key')
      return x
    },
    async sign(seed, message) {
      const key = await signingKeyOf(seed)
      return new Uint8Array(await subtle.sign(ALG, key, bufferSource(message)))
    },
    verifyBatch(items) {
      return Promise.all(items.map(verifyOne))
    },
  }
}

// WebCrypto takes ArrayBuffer-backed views only (not SharedArrayBuffer ones): copy the rare other.
function bufferSource(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes.buffer instanceof ArrayBuffer ? (bytes as Uint8Array<ArrayBuffer>) : new Uint8Array(bytes)
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  let diff = 0
  for (let i = 0; i < a.length; i++) diff |= (a[i] as number) ^ (b[i] as number)
  return diff === 0
}
