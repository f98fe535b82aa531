/**
 * The ed25519 checks that run both in Node and, bundled by esbuild, inside Chromium: the crafted
 * cases of core's strict pre-checks and `runChecks`, which signs and verifies a set of vectors on
 * some backends and returns every verdict as plain JSON. The page imports this module and calls
 * {@link runInBrowser}; the Node tests import the same functions, so both sides run one code.
 *
 * The crafted cases are deterministic (scalars and messages come from fixed labels), so the page
 * and Node build byte-identical cases. They are built with @noble/ed25519's point arithmetic.
 */
import { etc, Point } from '@noble/ed25519'
import { sha512 } from '@noble/hashes/sha2.js'
import {
  createNobleEd25519,
  createWebCryptoEd25519,
  type Ed25519,
  SMALL_ORDER_ENCODINGS,
  type VerifyItem,
  verifyStrict,
} from '../../src/ed25519/index.js'

/** A signing vector, hex: `sign(seed, message)` must give `signature`, `publicKey(seed)` the key. */
export interface SignCase {
  readonly seed: string
  readonly publicKey: string
  readonly message: string
  readonly signature: string
}

/** A verification case, hex, with the strict verdict it must get. */
export interface VerifyCase {
  readonly id: string
  readonly publicKey: string
  readonly message: string
  readonly signature: string
  /** The strict RFC 8032 (cofactorless, as libsodium) verdict. */
  readonly valid: boolean
}

/** What {@link runChecks} works on. */
export interface Ed25519Vectors {
  readonly sign: readonly SignCase[]
  readonly verify: readonly VerifyCase[]
}

/** One backend's results, in the order of the vectors. */
export interface BackendVerdicts {
  readonly name: string
  /** `publicKey(seed)` of each sign case, hex. */
  readonly publicKeys: string[]
  /** `sign(seed, message)` of each sign case, hex. */
  readonly signatures: string[]
  /** `verifyStrict` verdicts of the verify cases. */
  readonly strict: boolean[]
  /** The backend's raw `verifyBatch` verdicts of the verify cases (no pre-check). */
  readonly raw: boolean[]
}

/** Signs and verifies `vectors` on each backend; every verdict, none judged here. */
export async function runChecks(backends: readonly Ed25519[], vectors: Ed25519Vectors): Promise<BackendVerdicts[]> {
  const items: VerifyItem[] = vectors.verify.map((c) => ({
    publicKey: hex(c.publicKey),
    message: hex(c.message),
    signature: hex(c.signature),
  }))
  const out: BackendVerdicts[] = []
  for (const backend of backends) {
    const publicKeys: string[] = []
    const signatures: string[] = []
    for (const c of vectors.sign) {
      publicKeys.push(etc.bytesToHex(await backend.publicKey(hex(c.seed))))
      signatures.push(etc.bytesToHex(await backend.sign(hex(c.seed), hex(c.message))))
    }
    const strict = await verifyStrict(backend, items)
    const raw = await backend.verifyBatch(items)
    out.push({ name: backend.name, publicKeys, signatures, strict, raw })
  }
  return out
}

/** {@link runChecks} on the page's WebCrypto and on noble: what the browser test calls. */
export function runInBrowser(vectors: Ed25519Vectors): Promise<BackendVerdicts[]> {
  return runChecks([createWebCryptoEd25519(globalThis.crypto.subtle), createNobleEd25519()], vectors)
}

const L = Point.CURVE().n
const B = Point.BASE
const utf8 = new TextEncoder()

/** The 8 points of small order, [i]T for the order-8 point T, i = 0..7. */
export function torsionPoints(): Point[] {
  const t8 = Point.fromHex(SMALL_ORDER_ENCODINGS[4] as string)
  const out = [Point.ZERO]
  for (let i = 1; i < 8; i++) out.push((out[i - 1] as Point).add(t8))
  return out
}

/**
 * The crafted cases, each aimed at one rule; see the ids. `valid` is the strict verdict. Cases
 * marked "cofactored accepts" are accepted by a cofactored verifier ([8][S]B = [8]R + [8][k]A,
 * e.g. noble's own `verify`) and rejected by the cofactorless ones (libsodium, OpenSSL,
 * BoringSSL, ours).
 */
export function craftedCases(): VerifyCase[] {
  const cases: VerifyCase[] = []
  const add = (id: string, publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array, valid: boolean) =>
    cases.push({ id, publicKey: hx(publicKey), message: hx(message), signature: hx(signature), valid })

  const torsion = torsionPoints()
  const t8 = torsion[1] as Point
  const a = scalarOf('key a')
  const pubA = B.multiply(a).toBytes()
  const msg = utf8.encode('murmur ed25519 crafted case')

  // A genuine signature (sign as RFC 8032 does, with a fixed nonce) and its mutations.
  const r = scalarOf('nonce r')
  const rBytes = B.multiply(r).toBytes()
  const s = etc.mod(r + challenge(rBytes, pubA, msg) * a, L)
  const good = sig(rBytes, s)
  add('genuine', pubA, msg, good, true)
  add('signature 65 bytes (0 appended)', pubA, msg, cat(good, Uint8Array.of(0)), false)
  add('signature 65 bytes (1 appended)', pubA, msg, cat(good, Uint8Array.of(1)), false)
  add('signature 63 bytes', pubA, msg, good.subarray(0, 63), false)
  add('signature 128 bytes (doubled)', pubA, msg, cat(good, good), false)
  add('S + L (malleated)', pubA, msg, sig(rBytes, s + L), false)
  add('S = L', pubA, msg, sig(rBytes, L), false)
  add('S = L + 1', pubA, msg, sig(rBytes, L + 1n), false)
  add('S = 2^253', pubA, msg, sig(rBytes, 2n ** 253n), false)
  add('S = 2^256 - 1', pubA, msg, sig(rBytes, 2n ** 256n - 1n), false)
  add('key 31 bytes', pubA.subarray(0, 31), msg, good, false)
  add('key 33 bytes', cat(pubA, Uint8Array.of(0)), msg, good, false)

  // The universal key: A = identity, R = identity, S = 0 satisfies [S]B = R + [k]A for every k,
  // so it "signs" every message. OpenSSL (Node WebCrypto) and BoringSSL (Chromium) accept it.
  const identity = Point.ZERO.toBytes()
  const zeroS = sig(identity, 0n)
  add('universal key (A = R = identity, S = 0)', identity, msg, zeroS, false)
  add('universal key, another message', identity, utf8.encode('anything at all'), zeroS, false)
  add('universal key, empty message', identity, new Uint8Array(0), zeroS, false)

  // A key of small order, or a non-canonical encoding of one, with a prime-order R: find a
  // message with [k]A = identity; then R = [S]B passes [S]B = R + [k]A, which is all that a
  // verifier without the small-order and canonical rules checks.
  const smallKey = (id: string, enc: Uint8Array) => {
    const pt = Point.fromBytes(enc, true)
    const sR = scalarOf(id)
    const rB = B.multiply(sR).toBytes()
    const m = findMessage(id, (m) => pt.multiply(challenge(rB, enc, m), false).is0())
    add(id, enc, m, sig(rB, sR), false)
  }
  SMALL_ORDER_ENCODINGS.forEach((encHex, i) => {
    smallKey(`A small order #${i} (${encHex.slice(0, 8)}…)`, hex(encHex))
  })

  // Non-canonical encodings (y >= p) of the identity (y = p + 1) and of an order-4 point
  // (y = p), each with both sign bits.
  const yIsP1 = le(2n ** 255n - 18n)
  const yIsP = le(2n ** 255n - 19n)
  for (const [name, enc] of [
    ['y = p + 1', yIsP1],
    ['y = p + 1, sign bit', withSign(yIsP1)],
    ['y = p', yIsP],
    ['y = p, sign bit', withSign(yIsP)],
  ] as const) {
    smallKey(`A non-canonical (${name})`, enc)
    // R non-canonical with a genuine key: S = k a makes [S]B - [k]A the identity, equal as a
    // point to R when y = p + 1 (a lenient decoder that compares points accepts); y = p decodes
    // to an order-4 point, which only a cofactored check lets through.
    const k = challenge(enc, pubA, msg)
    add(`R non-canonical (${name})`, pubA, msg, sig(enc, etc.mod(k * a, L)), false)
  }

  // Small-order R with a mixed-order key A' = [a]B + T (which passes the pre-check):
  // with S = k a, [S]B - [k]A' = -[k]T; find a message where that is R.
  const mixedA = B.multiply(a).add(t8).toBytes()
  SMALL_ORDER_ENCODINGS.forEach((encHex, i) => {
    const enc = hex(encHex)
    const pt = Point.fromBytes(enc, true)
    let sv = 0n
    const m = findMessage(`small R ${i}`, (m) => {
      const k = challenge(enc, mixedA, m)
      sv = etc.mod(k * a, L)
      return t8.multiply(k, false).negate().equals(pt)
    })
    add(`R small order #${i} (${encHex.slice(0, 8)}…)`, mixedA, m, sig(enc, sv), false)
  })

  // Mixed-order points pass the pre-check; here cofactored and cofactorless verifiers disagree.
  // A' = [a]B + T, R = [r]B, S = r + k a: [S]B - [k]A' = R - [k]T, so cofactorless accepts iff
  // 8 | k, cofactored always.
  for (const want of [false, true]) {
    let sv = 0n
    const m = findMessage(`mixed A ${want}`, (m) => {
      const k = challenge(rBytes, mixedA, m)
      sv = etc.mod(r + k * a, L)
      return (k % 8n === 0n) === want
    })
    add(`mixed-order A, ${want ? '8 | k: both accept' : '8 ∤ k: cofactored accepts'}`, mixedA, m, sig(rBytes, sv), want)
  }
  // R' = [r]B + T with a prime-order key: [S]B - [k]A = [r]B != R'; cofactored accepts.
  const mixedR = B.multiply(r).add(t8).toBytes()
  add(
    'mixed-order R: cofactored accepts',
    pubA,
    msg,
    sig(mixedR, etc.mod(r + challenge(mixedR, pubA, msg) * a, L)),
    false,
  )
  // Both mixed: R' = [r]B + T', A' = [a]B + T; cofactorless accepts iff T' = -[k]T.
  for (const want of [false, true]) {
    let sv = 0n
    let rb = rBytes
    const m = findMessage(`mixed A and R ${want}`, (m, j) => {
      rb = B.multiply(r)
        .add(torsion[1 + (j % 7)] as Point)
        .toBytes()
      const k = challenge(rb, mixedA, m)
      sv = etc.mod(r + k * a, L)
      return (
        t8
          .multiply(k, false)
          .negate()
          .equals(torsion[1 + (j % 7)] as Point) === want
      )
    })
    add(`mixed-order A and R, ${want ? 'both accept' : 'cofactored accepts'}`, mixedA, m, sig(rb, sv), want)
  }
  return cases
}

function scalarOf(label: string): bigint {
  return etc.mod(leToBigint(sha512(utf8.encode(label))), L - 1n) + 1n
}

function challenge(r: Uint8Array, publicKey: Uint8Array, message: Uint8Array): bigint {
  return etc.mod(leToBigint(sha512(cat(r, publicKey, message))), L)
}

// The first message `label/j` for which `ok` holds; a bound, as each try succeeds with p >= 1/8.
function findMessage(label: string, ok: (m: Uint8Array, j: number) => boolean): Uint8Array {
  for (let j = 0; j < 1000; j++) {
    const m = utf8.encode(`${label}/${j}`)
    if (ok(m, j)) return m
  }
  throw new Error(`no message found for ${label}`)
}

function sig(r: Uint8Array, s: bigint): Uint8Array {
  return cat(r, le(s))
}

function le(n: bigint): Uint8Array {
  const out = new Uint8Array(32)
  for (let i = 0; i < 32; i++) out[i] = Number((n >> BigInt(8 * i)) & 0xffn)
  return out
}

function leToBigint(bytes: Uint8Array): bigint {
  let n = 0n
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i] as number)
  return n
}

function withSign(enc: Uint8Array): Uint8Array {
  const out = enc.slice()
  out[31] = (out[31] as number) | 0x80
  return out
}

function cat(...parts: Uint8Array[]): Uint8Array {
  return etc.concatBytes(...parts)
}

function hex(s: string): Uint8Array {
  return etc.hexToBytes(s)
}

function hx(b: Uint8Array): string {
  return etc.bytesToHex(b)
}
