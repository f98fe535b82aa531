/**
 * Schemas of the known content types. A message of an unknown type only has its envelope
 * checked (forward compatibility: it is stored and replicated, views ignore it); a known type
 * with bad content is rejected, so every view can trust the shapes below. Extra keys inside
 * content are allowed (a newer app may add fields); the envelope allows none (see message.ts).
 */
import { CID } from 'multiformats/cid'
import { DAG_CBOR, isMurmurCid, RAW } from './hash.js'
import type { FeedId } from './keys.js'

/** A reference to a blob in a post. */
export interface BlobRef {
  link: CID
  /** MIME type the author claims; receivers sniff the bytes before showing them. */
  type: string
  size: number
  alt?: string
}

/** `post`: text, optionally a reply in a thread (`root` and the `branch` heads it answers). */
export interface PostContent {
  text: string
  root?: CID
  branch?: CID[]
  mentions?: FeedId[]
  blobs?: BlobRef[]
  /** A content warning: the text is shown only after the reader asks. */
  cw?: string
}

/** `contact`: follow, unfollow, block or unblock `target`. */
export interface ContactContent {
  target: FeedId
  following?: boolean
  blocking?: boolean
}

/** `about`: a name, description or image for `target` (oneself, or a petname for someone else). */
export interface AboutContent {
  target: FeedId
  name?: string
  description?: string
  image?: CID
}

/** `vote`: `value` 1 likes `link`, 0 takes the like back. */
export interface VoteContent {
  link: CID
  value: number
}

/** `peer`: an always-on peer announces the addresses it listens on. */
export interface PeerContent {
  addresses: string[]
}

/** Content of each known type. */
export interface KnownContent {
  post: PostContent
  contact: ContactContent
  about: AboutContent
  vote: VoteContent
  peer: PeerContent
}

/** Limits on content fields (the 8 KiB message limit bounds the rest). */
export const LIMITS = {
  nameLength: 100,
  descriptionLength: 2000,
  blobsPerPost: 16,
  mentionsPerPost: 64,
  branchesPerPost: 16,
  altLength: 1500,
  addressesPerPeer: 16,
  addressLength: 256,
} as const

type Obj = Record<string, unknown>

const isFeedId = (v: unknown): v is FeedId => v instanceof Uint8Array && v.length === 32
const isMsgLink = (v: unknown): v is CID => isMurmurCid(v, DAG_CBOR)
const isBlobLink = (v: unknown): v is CID => isMurmurCid(v, RAW)
const isStr = (v: unknown, max = Number.POSITIVE_INFINITY): v is string => typeof v === 'string' && v.length <= max
const opt = (o: Obj, key: string, check: (v: unknown) => boolean): boolean => !(key in o) || check(o[key])
const isArrayOf = (v: unknown, max: number, check: (x: unknown) => boolean): boolean =>
  Array.isArray(v) && v.length <= max && v.every(check)

function isBlobRef(v: unknown): boolean {
  if (!isPlainObject(v)) return false
  return (
    isBlobLink(v.link) &&
    isStr(v.type, 100) &&
    Number.isSafeInteger(v.size) &&
    (v.size as number) >= 0 &&
    opt(v, 'alt', (a) => isStr(a, LIMITS.altLength))
  )
}

const checks: { [T in keyof KnownContent]: (c: Obj) => string | undefined } = {
  post(c) {
    if (!isStr(c.text)) return 'post.text must be a string'
    if (!opt(c, 'root', isMsgLink)) return 'post.root must be a message link'
    if (!opt(c, 'branch', (b) => isArrayOf(b, LIMITS.branchesPerPost, isMsgLink) && (b as unknown[]).length > 0)) {
      return 'post.branch must be a non-empty list of message links'
    }
    if ('branch' in c && !('root' in c)) return 'post.branch needs post.root'
    if (!opt(c, 'mentions', (m) => isArrayOf(m, LIMITS.mentionsPerPost, isFeedId)))
      return 'post.mentions must be feed ids'
    if (!opt(c, 'blobs', (b) => isArrayOf(b, LIMITS.blobsPerPost, isBlobRef)))
      return 'post.blobs must be blob references'
    if (!opt(c, 'cw', (w) => isStr(w, LIMITS.nameLength))) return 'post.cw must be a short string'
    return undefined
  },
  contact(c) {
    if (!isFeedId(c.target)) return 'contact.target must be a feed id'
    if (!opt(c, 'following', (v) => typeof v === 'boolean')) return 'contact.following must be a boolean'
    if (!opt(c, 'blocking', (v) => typeof v === 'boolean')) return 'contact.blocking must be a boolean'
    return undefined
  },
  about(c) {
    if (!isFeedId(c.target)) return 'about.target must be a feed id'
    if (!opt(c, 'name', (v) => isStr(v, LIMITS.nameLength))) return 'about.name must be a short string'
    if (!opt(c, 'description', (v) => isStr(v, LIMITS.descriptionLength))) return 'about.description is too long'
    if (!opt(c, 'image', isBlobLink)) return 'about.image must be a blob link'
    return undefined
  },
  vote(c) {
    if (!isMsgLink(c.link)) return 'vote.link must be a message link'
    if (c.value !== 0 && c.value !== 1) return 'vote.value must be 1 (like) or 0 (unlike)'
    return undefined
  },
  peer(c) {
    const ok = isArrayOf(c.addresses, LIMITS.addressesPerPeer, (a) => isStr(a, LIMITS.addressLength))
    return ok ? undefined : 'peer.addresses must be a short list of addresses'
  },
}

/** True for a plain object (not an array, bytes, CID or other class instance). */
export function isPlainObject(v: unknown): v is Obj {
  if (typeof v !== 'object' || v === null) return false
  const proto = Object.getPrototypeOf(v)
  return proto === Object.prototype || proto === null
}

/** True when `type` is one whose content schema core checks. */
export function isKnownType(type: string): type is keyof KnownContent {
  return Object.hasOwn(checks, type)
}

/**
 * Checks the content of a known type; `undefined` when it is valid (or the type is unknown),
 * else the reason it is not.
 */
export function checkContent(type: string, content: Obj): string | undefined {
  return isKnownType(type) ? checks[type](content) : undefined
}

export { CID }
