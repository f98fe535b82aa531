/**
 * Identities: an ed25519 keypair made on the device. The feed id is the public key; its text
 * form `@<base64url>.ed25519` is URL-safe and is the same in the CLI, the UI and invite links.
 * The secret is the 32-byte RFC 8032 seed; its backup text is Crockford base32 with a checksum,
 * short enough to write down and robust to misread letters.
 */
import { fromBase32, fromBase64url, toBase32, toBase64url, utf8 } from './bytes.js'
import type { Ed25519 } from './ed25519/types.js'
import { MurmurError } from './errors.js'
import { defaultSha256, type Sha256 } from './hash.js'

/** A feed id: the 32 raw bytes of an ed25519 public key. */
export type FeedId = Uint8Array

/** A device identity: the secret seed and the public key (the feed id) derived from it. */
export interface Keypair {
  readonly publicKey: FeedId
  readonly seed: Uint8Array
}

/** Makes a new identity from 32 random bytes of the platform's CSPRNG. */
export async function generateKeypair(ed: Ed25519): Promise<Keypair> {
  const seed = globalThis.crypto.getRandomValues(new Uint8Array(32))
  return { seed, publicKey: await ed.publicKey(seed) }
}

/**
 * The identity of a 32-byte seed.
 * @throws {MurmurError} `INVALID_ARGUMENT` when the seed is not 32 bytes.
 */
export async function keypairFromSeed(ed: Ed25519, seed: Uint8Array): Promise<Keypair> {
  if (seed.length !== 32) throw new MurmurError('INVALID_ARGUMENT', 'a secret key seed is 32 bytes')
  return { seed: seed.slice(), publicKey: await ed.publicKey(seed) }
}

const FEED_SUFFIX = '.ed25519'

/** The text form of a feed id: `@<base64url>.ed25519`. */
export function formatFeedId(id: FeedId): string {
  return `@${toBase64url(id)}${FEED_SUFFIX}`
}

/**
 * Parses a feed id from its text form; also accepts it without the `@` (as pasted from a URL)
 * and the standard base64 alphabet (as Scuttlebutt writes keys).
 * @throws {MurmurError} `INVALID_ARGUMENT` when the text is not a feed id.
 */
export function parseFeedId(text: string): FeedId {
  let t = text.trim()
  if (t.startsWith('@')) t = t.slice(1)
  if (t.endsWith(FEED_SUFFIX)) t = t.slice(0, -FEED_SUFFIX.length)
  t = t.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
  const bytes = fromBase64url(t)
  if (bytes === undefined || bytes.length !== 32) {
    throw new MurmurError(
      'INVALID_ARGUMENT',
      `not a feed id: ${JSON.stringify(text.slice(0, 80))} (expected @<key>.ed25519)`,
    )
  }
  return bytes
}

/** A short fingerprint of a feed id for people to compare: the first 8 base64url characters. */
export function fingerprint(id: FeedId): string {
  return toBase64url(id).slice(0, 8)
}

const BACKUP_PREFIX = 'murmur-secret-v1'
const backupDomain = utf8('murmur/backup/v1\0')

function backupChecksum(seed: Uint8Array, sha256: Sha256): Uint8Array {
  const input = new Uint8Array(backupDomain.length + seed.length)
  input.set(backupDomain)
  input.set(seed, backupDomain.length)
  return sha256(input).subarray(0, 3)
}

/**
 * The backup text of a secret seed: `murmur-secret-v1` and 56 Crockford base32 characters in
 * groups of four (the seed and a 3-byte checksum). Whoever has it *is* this identity.
 */
export function formatBackup(seed: Uint8Array, sha256: Sha256 = defaultSha256): string {
  if (seed.length !== 32) throw new MurmurError('INVALID_ARGUMENT', 'a secret key seed is 32 bytes')
  const body = toBase32(new Uint8Array([...seed, ...backupChecksum(seed, sha256)]))
  return `${BACKUP_PREFIX} ${body.match(/.{1,4}/g)?.join('-')}`
}

/**
 * The seed in a backup text. Spaces, dashes, line breaks and letter case do not matter, and the
 * letters O, I and L are read as 0, 1 and 1.
 * @throws {MurmurError} `INVALID_ARGUMENT` when the text is not a backup or its checksum fails
 * (a typo).
 */
export function parseBackup(text: string, sha256: Sha256 = defaultSha256): Uint8Array {
  let t = text.trim()
  if (!t.toLowerCase().startsWith(BACKUP_PREFIX)) {
    throw new MurmurError('INVALID_ARGUMENT', `not a Murmur secret key backup: it starts with "${BACKUP_PREFIX}"`)
  }
  t = t.slice(BACKUP_PREFIX.length).replace(/[\s-]/g, '')
  const bytes = fromBase32(t, 35)
  if (bytes === undefined) {
    throw new MurmurError(
      'INVALID_ARGUMENT',
      'the backup has the wrong length or letters: check it against the original',
    )
  }
  const seed = bytes.slice(0, 32)
  const sum = backupChecksum(seed, sha256)
  if (sum[0] !== bytes[32] || sum[1] !== bytes[33] || sum[2] !== bytes[34]) {
    throw new MurmurError('INVALID_ARGUMENT', 'the backup has a typo: its checksum does not match')
  }
  return seed
}
