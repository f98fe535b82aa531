/**
 * src/sodium-browser.ts, which the web app's build puts in place of sodium-universal, against
 * sodium-native (libsodium), which Node and `murmur serve` run:
 * - each function on the same random inputs (fast-check): the same bytes, the same return
 *   values, the same failures (any changed byte of a sealed box fails to open in both), the
 *   same checks on argument lengths;
 * - every libsodium name noise-handshake reads is there;
 * - through noise-handshake: its Cipher on the shim seals exactly as on sodium-native, and
 *   @murmur/replicate's Session, bundled with the shim as the app's build does, completes the
 *   Noise handshake with a Session on sodium-native and exchanges sealed frames with it.
 * The built app against a real `murmur serve` is the e2e tests' part.
 */
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import type * as Replicate from '@murmur/replicate'
import { memoryChannelPair, PUBLIC_NETWORK_KEY } from '@murmur/replicate'
import { bundle } from '@murmur/testkit/browser'
import fc from 'fast-check'
import * as shim from '../src/sodium-browser.js'

const require = createRequire(import.meta.url)

/** The part of sodium-native these tests call (it ships no types). */
interface Sodium {
  crypto_aead_chacha20poly1305_ietf_encrypt(
    c: Uint8Array,
    m: Uint8Array,
    ad: Uint8Array | null,
    nsec: unknown,
    npub: Uint8Array,
    k: Uint8Array,
  ): number
  crypto_aead_chacha20poly1305_ietf_decrypt(
    m: Uint8Array,
    nsec: unknown,
    c: Uint8Array,
    ad: Uint8Array | null,
    npub: Uint8Array,
    k: Uint8Array,
  ): number
  crypto_generichash(out: Uint8Array, input: Uint8Array, key?: Uint8Array | null): void
  crypto_generichash_batch(out: Uint8Array, inputs: Uint8Array[], key?: Uint8Array | null): void
  crypto_sign_seed_keypair(pk: Uint8Array, sk: Uint8Array, seed: Uint8Array): void
}
const native = require('sodium-native') as Sodium & Record<string, unknown>

/** noise-handshake's CipherState. */
interface NoiseCipher {
  nonce: number
  encrypt(plaintext: Uint8Array, ad?: Uint8Array): Uint8Array
  decrypt(ciphertext: Uint8Array, ad?: Uint8Array): Uint8Array
}
type NoiseCipherClass = new (key: Uint8Array) => NoiseCipher

// sodium-native writes into Buffers and Node's Buffer is a Uint8Array: compare bytes, not classes.
const hex = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')
const bytes = (length: number) => fc.uint8Array({ minLength: length, maxLength: length })

/** Runs `f`; returns the error message, or undefined when it did not throw. */
function thrown(f: () => unknown): string | undefined {
  try {
    f()
    return undefined
  } catch (err) {
    return (err as Error).message
  }
}

const ABYTES = 16
const aead = fc.record({
  k: bytes(32),
  npub: bytes(12),
  m: fc.uint8Array({ maxLength: 300 }),
  ad: fc.option(fc.uint8Array({ maxLength: 80 }), { nil: null }),
})

test('ChaCha20-Poly1305 IETF seals and opens as sodium-native: the same bytes and return values', () => {
  fc.assert(
    fc.property(aead, ({ k, npub, m, ad }) => {
      const c1 = new Uint8Array(m.length + ABYTES)
      const c2 = new Uint8Array(m.length + ABYTES)
      assert.equal(shim.crypto_aead_chacha20poly1305_ietf_encrypt(c1, m, ad, null, npub, k), c1.length)
      assert.equal(native.crypto_aead_chacha20poly1305_ietf_encrypt(c2, m, ad, null, npub, k), c2.length)
      assert.equal(hex(c1), hex(c2))
      // An empty ad binds the same as none.
      if (ad === null) {
        const c3 = new Uint8Array(c1.length)
        shim.crypto_aead_chacha20poly1305_ietf_encrypt(c3, m, new Uint8Array(0), null, npub, k)
        assert.equal(hex(c3), hex(c1))
      }
      // Sealing in place (c over m) gives the same bytes.
      const inPlace = new Uint8Array(m.length + ABYTES)
      inPlace.set(m)
      shim.crypto_aead_chacha20poly1305_ietf_encrypt(inPlace, inPlace.subarray(0, m.length), ad, null, npub, k)
      assert.equal(hex(inPlace), hex(c1))
      // Each opens the other's box.
      const m1 = new Uint8Array(m.length)
      const m2 = new Uint8Array(m.length)
      assert.equal(shim.crypto_aead_chacha20poly1305_ietf_decrypt(m1, null, c2, ad, npub, k), m.length)
      assert.equal(native.crypto_aead_chacha20poly1305_ietf_decrypt(m2, null, c1, ad, npub, k), m.length)
      assert.equal(hex(m1), hex(m))
      assert.equal(hex(m2), hex(m))
    }),
  )
})

test('any changed byte of the box, ad, nonce or key fails to open in both, and the output is zeroed', () => {
  const which = fc.constantFrom('c', 'ad', 'npub', 'k')
  fc.assert(
    fc.property(aead, which, fc.nat(), fc.integer({ min: 1, max: 255 }), (box, part, at, flip) => {
      const { k, npub, m, ad } = box
      const c = new Uint8Array(m.length + ABYTES)
      native.crypto_aead_chacha20poly1305_ietf_encrypt(c, m, ad, null, npub, k)
      const changed = { c, ad, npub, k }
      const target = changed[part as keyof typeof changed]
      fc.pre(target !== null && target.length > 0)
      const copy = Uint8Array.from(target as Uint8Array)
      const i = at % copy.length
      copy[i] = (copy[i] as number) ^ flip
      Object.assign(changed, { [part]: copy })
      const m1 = new Uint8Array(m.length).fill(0xaa)
      const m2 = new Uint8Array(m.length).fill(0xaa)
      const open = (s: Sodium, out: Uint8Array) => () =>
        s.crypto_aead_chacha20poly1305_ietf_decrypt(out, null, changed.c, changed.ad, changed.npub, changed.k)
      assert.equal(thrown(open(shim as unknown as Sodium, m1)), 'could not verify data')
      assert.equal(thrown(open(native, m2)), 'could not verify data')
      assert.equal(hex(m1), hex(m2))
      assert.ok(
        m1.every((b) => b === 0),
        'libsodium zeroes the output of a failed open',
      )
    }),
  )
})

test('the AEAD checks its arguments as sodium-native does, with the same messages', () => {
  const k = new Uint8Array(32)
  const npub = new Uint8Array(12)
  const m = new Uint8Array(5)
  const c = new Uint8Array(5 + ABYTES)
  const calls: Array<[string, (s: Sodium) => unknown]> = [
    ['short c', (s) => s.crypto_aead_chacha20poly1305_ietf_encrypt(c.subarray(1), m, null, null, npub, k)],
    ['long m', (s) => s.crypto_aead_chacha20poly1305_ietf_decrypt(new Uint8Array(6), null, c, null, npub, k)],
    [
      'c shorter than a tag',
      (s) => s.crypto_aead_chacha20poly1305_ietf_decrypt(m, null, c.subarray(0, 3), null, npub, k),
    ],
    ['11-byte nonce', (s) => s.crypto_aead_chacha20poly1305_ietf_encrypt(c, m, null, null, npub.subarray(1), k)],
    ['31-byte key', (s) => s.crypto_aead_chacha20poly1305_ietf_decrypt(m, null, c, null, npub, k.subarray(1))],
    ['nsec not null', (s) => s.crypto_aead_chacha20poly1305_ietf_encrypt(c, m, null, undefined, npub, k)],
  ]
  for (const [what, call] of calls) {
    const expected = thrown(() => call(native))
    assert.ok(expected, `sodium-native refuses: ${what}`)
    assert.equal(
      thrown(() => call(shim as unknown as Sodium)),
      expected,
      what,
    )
    assert.throws(() => call(shim as unknown as Sodium), RangeError, what)
  }
})

const hashArgs = fc.record({
  outLength: fc.integer({ min: 16, max: 64 }),
  inputs: fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 5 }),
  key: fc.option(fc.integer({ min: 16, max: 64 }).chain(bytes), { nil: null }),
})

// sodium-native's batch takes libsodium's own limits: any output of 1 to 64 bytes, any key up to 64 (empty: none).
const batchArgs = fc.record({
  outLength: fc.integer({ min: 1, max: 64 }),
  inputs: fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 5 }),
  key: fc.option(fc.integer({ min: 0, max: 64 }).chain(bytes), { nil: null }),
})

test('crypto_generichash and _batch are BLAKE2b as sodium-native: output length and key included', () => {
  fc.assert(
    fc.property(hashArgs, ({ outLength, inputs, key }) => {
      const input = Buffer.concat(inputs)
      const out = () => new Uint8Array(outLength)
      const [a, b, c, d] = [out(), out(), out(), out()]
      shim.crypto_generichash(a, input, key)
      native.crypto_generichash(b, input, key)
      shim.crypto_generichash_batch(c, inputs, key)
      native.crypto_generichash_batch(d, inputs, key)
      assert.equal(hex(a), hex(b))
      assert.equal(hex(c), hex(d))
      assert.equal(hex(c), hex(a), 'a batch hashes the concatenation')
    }),
  )
  fc.assert(
    fc.property(batchArgs, ({ outLength, inputs, key }) => {
      const [a, b] = [new Uint8Array(outLength), new Uint8Array(outLength)]
      shim.crypto_generichash_batch(a, inputs, key)
      native.crypto_generichash_batch(b, inputs, key)
      assert.equal(hex(a), hex(b))
    }),
  )
})

test('crypto_generichash_batch may write into one of its inputs, as noise-handshake HMAC does', () => {
  fc.assert(
    fc.property(bytes(128), bytes(64), (pad, start) => {
      const a = Uint8Array.from(start)
      const b = Uint8Array.from(start)
      shim.crypto_generichash_batch(a, [pad, a])
      native.crypto_generichash_batch(b, [pad, b])
      assert.equal(hex(a), hex(b))
    }),
  )
})

test('BLAKE2b takes and refuses the output and key lengths sodium-native does', () => {
  const input = Uint8Array.of(1, 2, 3)
  const lengths = [0, 1, 8, 15, 16, 32, 64, 65]
  for (const outLength of lengths) {
    for (const keyLength of [null, ...lengths]) {
      const key = keyLength === null ? null : new Uint8Array(keyLength).fill(9)
      for (const name of ['crypto_generichash', 'crypto_generichash_batch'] as const) {
        const what = `${name}: output ${outLength}, key ${keyLength}`
        const arg = name === 'crypto_generichash' ? input : [input]
        const run = (s: Sodium, out: Uint8Array) => () =>
          (s[name] as (o: Uint8Array, i: unknown, k: unknown) => void)(out, arg, key)
        const [a, b] = [new Uint8Array(outLength), new Uint8Array(outLength)]
        const expected = thrown(run(native, b))
        const got = thrown(run(shim as unknown as Sodium, a))
        assert.equal(got === undefined, expected === undefined, what)
        assert.equal(hex(a), hex(b), what)
        // sodium-native's batch reports a bad length only as "status: -1".
        if (name === 'crypto_generichash') assert.equal(got, expected, what)
      }
    }
  }
})

test('sodium_memzero zeroes; every constant matches; the X25519 names throw a clear error', () => {
  const buf = Uint8Array.of(1, 2, 3)
  shim.sodium_memzero(buf.subarray(1))
  assert.deepEqual([...buf], [1, 0, 0])
  for (const [name, value] of Object.entries(shim)) {
    if (typeof value === 'number') assert.equal(value, native[name], name)
  }
  const z = new Uint8Array(32)
  for (const call of [
    () => shim.crypto_kx_keypair(z, z),
    () => shim.crypto_kx_seed_keypair(z, z, z),
    () => shim.crypto_scalarmult(z, z, z),
    () => shim.crypto_scalarmult_base(z, z),
  ]) {
    assert.throws(call, /is not in the browser build; pass noise-handshake a curve/)
  }
})

test('the shim has every libsodium name noise-handshake reads', () => {
  const dir = dirname(require.resolve('noise-handshake'))
  const used = new Set<string>()
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.js'))) {
    const source = readFileSync(join(dir, file), 'utf8')
    if (!source.includes("require('sodium-universal')")) continue
    for (const [name] of source.matchAll(/\b(?:crypto|sodium|randombytes)_\w+/g)) used.add(name)
  }
  assert.ok(used.has('crypto_aead_chacha20poly1305_ietf_encrypt') && used.has('crypto_generichash_batch'), 'found them')
  const missing = [...used].filter((name) => !(name in shim))
  assert.deepEqual(missing, [])
})

/** noise-handshake (and @murmur/replicate) bundled for the browser as vite.config.ts does: sodium-universal is the shim. */
async function importWithShim<T>(entry: string): Promise<T> {
  const code = await bundle(entry, {
    alias: { 'sodium-universal': fileURLToPath(new URL('../src/sodium-browser.js', import.meta.url)) },
  })
  assert.doesNotMatch(code, /sodium-javascript|sodium-native/, 'no libsodium in the bundle')
  return (await import(`data:text/javascript;base64,${Buffer.from(code).toString('base64')}`)) as T
}

test("noise-handshake's Cipher on the shim seals and opens exactly as on sodium-native", async () => {
  const { default: ShimCipher } = await importWithShim<{ default: NoiseCipherClass }>(
    require.resolve('noise-handshake/cipher.js'),
  )
  const NativeCipher = require('noise-handshake/cipher.js') as NoiseCipherClass
  fc.assert(
    fc.property(
      bytes(32),
      fc.array(fc.tuple(fc.uint8Array({ maxLength: 2000 }), bytes(64)), { maxLength: 8 }),
      (key, frames) => {
        const [sealS, sealN, openS, openN] = [
          new ShimCipher(key),
          new NativeCipher(key),
          new ShimCipher(key),
          new NativeCipher(key),
        ]
        for (const [plain, ad] of frames) {
          const fromShim = sealS.encrypt(plain, ad)
          const fromNative = sealN.encrypt(plain, ad)
          assert.equal(hex(fromShim), hex(fromNative))
          assert.equal(hex(openS.decrypt(fromNative, ad)), hex(plain))
          assert.equal(hex(openN.decrypt(fromShim, ad)), hex(plain))
        }
        const tampered = sealS.encrypt(Uint8Array.of(1, 2, 3))
        tampered[0] = (tampered[0] as number) ^ 1
        assert.throws(() => openS.decrypt(tampered), /could not verify data/)
      },
    ),
    { numRuns: 50 },
  )
})

/** Resolves with `promise`, or rejects after `ms` saying what did not happen. */
function within<T>(promise: Promise<T>, what: string, ms = 10_000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

/** One side of a session: what it saw, as promises and a list. */
function sessionOn(
  lib: typeof Replicate,
  channel: Replicate.Channel,
  opts: { initiator: boolean; seed: Uint8Array; networkKey?: Uint8Array },
  expectFrames: number,
) {
  const frames: Uint8Array[] = []
  let ready!: (remote: Uint8Array) => void
  let closed!: (info: Replicate.CloseInfo) => void
  let gotAll!: () => void
  const result = {
    frames,
    ready: new Promise<Uint8Array>((r) => {
      ready = r
    }),
    closed: new Promise<Replicate.CloseInfo>((r) => {
      closed = r
    }),
    all: new Promise<void>((r) => {
      gotAll = r
    }),
    session: undefined as unknown as Replicate.Session,
  }
  result.session = new lib.Session(
    channel,
    { networkKey: PUBLIC_NETWORK_KEY, ...opts, handshakeTimeoutMs: 10_000 },
    {
      ready,
      frame: (plain) => {
        frames.push(Uint8Array.from(plain))
        if (frames.length === expectFrames) gotAll()
      },
      dropped: (reason, detail) => assert.fail(`dropped a frame: ${reason} ${detail}`),
      closed,
    },
  )
  return result
}

const publicKeyOf = (seed: Uint8Array) => {
  const pk = new Uint8Array(32)
  native.crypto_sign_seed_keypair(pk, new Uint8Array(64), seed)
  return pk
}

test("@murmur/replicate's Session on the shim handshakes and trades sealed frames with one on sodium-native", async () => {
  const withShim = await importWithShim<typeof Replicate>(require.resolve('@murmur/replicate'))
  const real = await import('@murmur/replicate')
  const frameSizes = [1, 63, 64, 65, 1000, 60_000]
  const frames = frameSizes.map((n, i) =>
    Uint8Array.from({ length: n }, (_, j) => (i * 131 + j * 7) & 0xff).fill(0, 0, 1),
  )
  for (const shimStarts of [true, false]) {
    const seeds = [crypto.getRandomValues(new Uint8Array(32)), crypto.getRandomValues(new Uint8Array(32))] as const
    const [ca, cb] = memoryChannelPair()
    const a = sessionOn(withShim, ca, { initiator: shimStarts, seed: seeds[0] }, frames.length)
    const b = sessionOn(real, cb, { initiator: !shimStarts, seed: seeds[1] }, frames.length)
    const [remoteOfA, remoteOfB] = await within(Promise.all([a.ready, b.ready]), 'both sessions to be ready')
    // Each side authenticated the other's ed25519 key, as libsodium derives it from the seed.
    assert.equal(hex(remoteOfA), hex(publicKeyOf(seeds[1])))
    assert.equal(hex(remoteOfB), hex(publicKeyOf(seeds[0])))
    for (const f of frames) {
      assert.ok(a.session.send(f))
      assert.ok(b.session.send(f))
    }
    await within(Promise.all([a.all, b.all]), 'every sealed frame on both sides')
    assert.deepEqual(a.frames.map(hex), frames.map(hex))
    assert.deepEqual(b.frames.map(hex), frames.map(hex))
    a.session.close('local', 'done')
    const [infoA, infoB] = await within(Promise.all([a.closed, b.closed]), 'both to close')
    assert.equal(infoA.code, 'local')
    assert.equal(infoB.code, 'remote', 'the sealed close frame opened on the native side')
  }
})

test('a Session on the shim and one on sodium-native with different network keys fail as they should', async () => {
  const withShim = await importWithShim<typeof Replicate>(require.resolve('@murmur/replicate'))
  const real = await import('@murmur/replicate')
  const [ca, cb] = memoryChannelPair()
  const seed = () => crypto.getRandomValues(new Uint8Array(32))
  const a = sessionOn(withShim, ca, { initiator: true, seed: seed(), networkKey: new Uint8Array(32).fill(7) }, 0)
  const b = sessionOn(real, cb, { initiator: false, seed: seed() }, 0)
  const [infoA, infoB] = await within(Promise.all([a.closed, b.closed]), 'both to close')
  assert.equal(infoA.code, 'network-key')
  assert.equal(infoB.code, 'network-key')
})
