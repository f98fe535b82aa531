/**
 * The part of `sodium-universal` (libsodium) that the web app's bundle reaches, on @noble/ciphers
 * and @noble/hashes. vite.config.ts resolves noise-handshake's `sodium-universal` to this file,
 * so the browser build never bundles sodium-javascript: no WebAssembly (the CSP needs no
 * 'wasm-unsafe-eval') and about 90 KB less in the engine worker (25 KB gzipped).
 *
 * Who reaches it: only noise-handshake (the handshake and the sealed frames of
 * @murmur/replicate). cipher.js seals with ChaCha20-Poly1305 IETF; hmac.js and
 * symmetric-state.js hash with BLAKE2b (crypto_generichash) and wipe with sodium_memzero; dh.js,
 * its default X25519 curve, reads the crypto_kx/crypto_scalarmult names when it loads, but Murmur
 * always passes its own curve (@murmur/replicate's curve.ts), so those functions throw if called.
 *
 * Each function keeps sodium-native's signature, return value and checks (the same messages),
 * so a call that works in Node works here and one that throws in Node throws here;
 * test/sodium-browser.test.ts compares both on random inputs. Bad arguments are a RangeError
 * (sodium-native throws an AssertionError); a sealed box that does not open is an
 * `Error('could not verify data')`, as in sodium-native and sodium-javascript.
 *
 * Named exports only, no default: noise-handshake does `require('sodium-universal')` and reads
 * names off the result, which the bundler gives as this module's namespace.
 */
import { chacha20poly1305 } from '@noble/ciphers/chacha.js'
import { blake2b } from '@noble/hashes/blake2.js'

/** The length of the ChaCha20-Poly1305 authentication tag. */
export const crypto_aead_chacha20poly1305_ietf_ABYTES = 16
/** The length of a ChaCha20-Poly1305 IETF key. */
export const crypto_aead_chacha20poly1305_ietf_KEYBYTES = 32
/** The length of a ChaCha20-Poly1305 IETF nonce. */
export const crypto_aead_chacha20poly1305_ietf_NPUBBYTES = 12
/** The secret nonce length: the IETF construction has none. */
export const crypto_aead_chacha20poly1305_ietf_NSECBYTES = 0

/** The shortest BLAKE2b output sodium-native allows. */
export const crypto_generichash_BYTES_MIN = 16
/** The longest BLAKE2b output. */
export const crypto_generichash_BYTES_MAX = 64
/** The default BLAKE2b output length. */
export const crypto_generichash_BYTES = 32
/** The shortest BLAKE2b key sodium-native allows. */
export const crypto_generichash_KEYBYTES_MIN = 16
/** The longest BLAKE2b key. */
export const crypto_generichash_KEYBYTES_MAX = 64
/** The default BLAKE2b key length. */
export const crypto_generichash_KEYBYTES = 32

/** X25519 sizes, read by noise-handshake's dh.js when it loads. */
export const crypto_scalarmult_BYTES = 32
export const crypto_scalarmult_SCALARBYTES = 32
export const crypto_kx_SEEDBYTES = 32

function check(ok: boolean, message: string): void {
  if (!ok) throw new RangeError(message)
}

function checkAead(nsec: unknown, npub: Uint8Array, k: Uint8Array): void {
  check(nsec === null, 'nsec must always be set to null')
  check(
    npub.byteLength === crypto_aead_chacha20poly1305_ietf_NPUBBYTES,
    "npub must be 'crypto_aead_chacha20poly1305_ietf_NPUBBYTES' bytes",
  )
  check(
    k.byteLength === crypto_aead_chacha20poly1305_ietf_KEYBYTES,
    "k must be 'crypto_aead_chacha20poly1305_ietf_KEYBYTES' bytes",
  )
}

/**
 * Seals `m` into `c` (ciphertext ‖ 16-byte tag) with ChaCha20-Poly1305 IETF (RFC 8439), binding `ad`.
 * `c` may be `m` itself or overlap it. Returns the bytes written: `c.byteLength`.
 * @throws {RangeError} when `c` is not `m.byteLength + 16` bytes, `npub` not 12, `k` not 32, or `nsec` not null.
 */
export function crypto_aead_chacha20poly1305_ietf_encrypt(
  c: Uint8Array,
  m: Uint8Array,
  ad: Uint8Array | null | undefined,
  nsec: null,
  npub: Uint8Array,
  k: Uint8Array,
): number {
  check(
    c.byteLength === m.byteLength + crypto_aead_chacha20poly1305_ietf_ABYTES,
    "c must be 'm.byteLength + crypto_aead_chacha20poly1305_ietf_ABYTES' bytes",
  )
  checkAead(nsec, npub, k)
  // noble copies m into c before it encrypts in place, so overlapping buffers are fine.
  chacha20poly1305(k, npub, ad ?? undefined).encrypt(m, c)
  return c.byteLength
}

/**
 * Opens `c` (ciphertext ‖ tag) into `m`, checking the tag over `ad` and the ciphertext before
 * decrypting anything. Returns the bytes written: `m.byteLength`. On failure `m` is zeroed, as
 * libsodium does.
 * @throws {Error} `could not verify data` when the tag does not match (any changed byte).
 * @throws {RangeError} when `m` is not `c.byteLength - 16` bytes, `npub` not 12, `k` not 32, or `nsec` not null.
 */
export function crypto_aead_chacha20poly1305_ietf_decrypt(
  m: Uint8Array,
  nsec: null,
  c: Uint8Array,
  ad: Uint8Array | null | undefined,
  npub: Uint8Array,
  k: Uint8Array,
): number {
  check(
    m.byteLength === c.byteLength - crypto_aead_chacha20poly1305_ietf_ABYTES,
    "m must be 'c.byteLength - crypto_aead_chacha20poly1305_ietf_ABYTES' bytes",
  )
  checkAead(nsec, npub, k)
  try {
    chacha20poly1305(k, npub, ad ?? undefined).decrypt(c, m)
  } catch (cause) {
    m.fill(0)
    throw new Error('could not verify data', { cause })
  }
  return m.byteLength
}

/**
 * A BLAKE2b state for `out.byteLength` bytes, keyed by `key` (none when null, undefined or empty).
 * @throws {RangeError} past libsodium's limits: 1 to 64 bytes out, at most 64 bytes of key.
 */
function blake2bFor(out: Uint8Array, key: Uint8Array | null | undefined) {
  check(out.byteLength >= 1 && out.byteLength <= crypto_generichash_BYTES_MAX, 'output must be 1 to 64 bytes')
  if (key == null || key.byteLength === 0) return blake2b.create({ dkLen: out.byteLength })
  check(key.byteLength <= crypto_generichash_KEYBYTES_MAX, 'key must be at most 64 bytes')
  return blake2b.create({ dkLen: out.byteLength, key })
}

/**
 * Writes BLAKE2b(`input`) into `out`, `out.byteLength` bytes long, keyed by `key` when given.
 * @throws {RangeError} when `out` is not 16 to 64 bytes, or a `key` is not 16 to 64 bytes (the
 * limits sodium-native checks here; its batch below checks only libsodium's own).
 */
export function crypto_generichash(out: Uint8Array, input: Uint8Array, key?: Uint8Array | null): void {
  check(
    out.byteLength >= crypto_generichash_BYTES_MIN && out.byteLength <= crypto_generichash_BYTES_MAX,
    'output must be between crypto_generichash_BYTES_MIN and crypto_generichash_BYTES_MAX bytes',
  )
  // As sodium-native: no key when null or undefined; any array given is a key, so it must fit.
  if (key != null) {
    check(
      key.byteLength >= crypto_generichash_KEYBYTES_MIN && key.byteLength <= crypto_generichash_KEYBYTES_MAX,
      'key must be between crypto_generichash_KEYBYTES_MIN and crypto_generichash_KEYBYTES_MAX bytes',
    )
  }
  out.set(blake2bFor(out, key).update(input).digest())
}

/**
 * Writes BLAKE2b of the concatenation of `inputs` into `out`, as {@link crypto_generichash}.
 * `out` may be one of the inputs (noise-handshake's HMAC hashes `[pad, out]` into `out`): every
 * input is read before `out` is written.
 * @throws {RangeError} when `out` is not 1 to 64 bytes or `key` is over 64 bytes: sodium-native's
 * batch takes what libsodium takes (an empty key is no key), and so does this one.
 */
export function crypto_generichash_batch(
  out: Uint8Array,
  inputs: readonly Uint8Array[],
  key?: Uint8Array | null,
): void {
  const state = blake2bFor(out, key)
  for (const input of inputs) state.update(input)
  out.set(state.digest())
}

/** Overwrites `buffer` with zeros. */
export function sodium_memzero(buffer: Uint8Array): void {
  buffer.fill(0)
}

function noX25519(name: string): never {
  throw new Error(
    `sodium-browser: ${name} (X25519) is not in the browser build; pass noise-handshake a curve (@murmur/replicate's curve.ts)`,
  )
}

/**
 * Not in the browser build: noise-handshake's default curve (dh.js) names it, Murmur never calls it.
 * @throws {Error} always.
 */
export function crypto_kx_keypair(_pk: Uint8Array, _sk: Uint8Array): never {
  return noX25519('crypto_kx_keypair')
}

/**
 * Not in the browser build, as {@link crypto_kx_keypair}.
 * @throws {Error} always.
 */
export function crypto_kx_seed_keypair(_pk: Uint8Array, _sk: Uint8Array, _seed: Uint8Array): never {
  return noX25519('crypto_kx_seed_keypair')
}

/**
 * Not in the browser build, as {@link crypto_kx_keypair}.
 * @throws {Error} always.
 */
export function crypto_scalarmult(_q: Uint8Array, _n: Uint8Array, _p: Uint8Array): never {
  return noX25519('crypto_scalarmult')
}

/**
 * Not in the browser build, as {@link crypto_kx_keypair}.
 * @throws {Error} always.
 */
export function crypto_scalarmult_base(_q: Uint8Array, _n: Uint8Array): never {
  return noX25519('crypto_scalarmult_base')
}
