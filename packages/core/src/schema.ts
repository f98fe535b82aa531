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

/**
 * `peer`: an always-on peer announces, on its own feed, where it can be reached. The newest
 * `peer` message of a feed replaces all earlier ones (an empty announcement is not possible:
 * a peer that goes away simply stops answering, and peers back off from it). Addresses are the
 * author's claim: whoever dials one learns who answers from the handshake, and peers dial
 * learned addresses at a bounded rate and never private ones (see `@murmur/net`'s mesh).
 */
export interface PeerContent {
  /**
   * 1 to {@link LIMITS.peerUrls} WebSocket URLs (`ws://` or `wss://`, printable ASCII, at most
   * {@link LIMITS.peerUrlLength} characters, no credentials or fragment), e.g.
   * `wss://murmur.example.org/murmur`; see {@link isPeerUrl}.
   */
  urls: string[]
  /**
   * STUN servers this peer answers (RFC 7064 `stun:host[:port]`, at most
   * {@link LIMITS.stunServersPerPeer}), for browsers to learn their public address; see {@link isStunUri}.
   */
  stun?: string[]
}

/** One file of a release: where the app finds it, the blob that holds its bytes, and how to serve it. */
export interface ReleaseFile {
  /** Relative `/`-separated path, e.g. `assets/index-1a2b.js` (see {@link isReleasePath}). */
  path: string
  /** The file's bytes as a raw blob (so its sha-256 is in the release). */
  link: CID
  size: number
  /** Its MIME type, sent as Content-Type when the app is served, e.g. `text/html; charset=utf-8`. */
  type: string
}

/**
 * `release`: a signed version of an app, its files as blobs. A service worker serves the files
 * it lists after checking each against its link, so the bytes that run are the bytes the author
 * signed; `prev` chains an author's releases of one app, newest first.
 */
export interface ReleaseContent {
  /** A short app name, e.g. `murmur-web`: releases of one app by one author form one chain. */
  app: string
  /** Semver-ish, e.g. `1.2.0` or `2026.11.25+3f2a9c1d`: shown to people, never used for ordering. */
  version: string
  files: ReleaseFile[]
  /** The path of the page that starts the app, e.g. `index.html`; one of `files`. */
  entry: string
  /** The path of the service worker script, e.g. `sw.js`; one of `files`, so its hash is signed too. */
  worker?: string
  notes?: string
  /** The id of this author's previous release of the same app. */
  prev?: CID
}

/** Content of each known type. */
export interface KnownContent {
  post: PostContent
  contact: ContactContent
  about: AboutContent
  vote: VoteContent
  peer: PeerContent
  release: ReleaseContent
}

/** Limits on content fields (the 8 KiB message limit bounds the rest). */
export const LIMITS = {
  nameLength: 100,
  descriptionLength: 2000,
  blobsPerPost: 16,
  mentionsPerPost: 64,
  branchesPerPost: 16,
  altLength: 1500,
  /** URLs in a `peer` message. */
  peerUrls: 8,
  /** Characters in each URL of a `peer` message (and each STUN URI). */
  peerUrlLength: 256,
  /** STUN URIs in a `peer` message. */
  stunServersPerPeer: 8,
  /** Never what binds: 8 KiB holds ~60 files with Vite-like names, 14 with the longest paths, types and notes. */
  filesPerRelease: 128,
  releasePathLength: 200,
  mimeTypeLength: 100,
  versionLength: 64,
  notesLength: 2000,
} as const

type Obj = Record<string, unknown>

const isFeedId = (v: unknown): v is FeedId => v instanceof Uint8Array && v.length === 32
const isMsgLink = (v: unknown): v is CID => isMurmurCid(v, DAG_CBOR)
const isBlobLink = (v: unknown): v is CID => isMurmurCid(v, RAW)
const isStr = (v: unknown, max = Number.POSITIVE_INFINITY): v is string => typeof v === 'string' && v.length <= max
const opt = (o: Obj, key: string, check: (v: unknown) => boolean): boolean => !(key in o) || check(o[key])
const isArrayOf = (v: unknown, max: number, check: (x: unknown) => boolean): boolean =>
  Array.isArray(v) && v.length <= max && v.every(check)

// An app name is an identifier (releases of one app are matched on it exactly): lowercase.
const APP_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/
// Semver's characters (1.2.3-beta.1+build.5), and nothing a terminal or a page could trip on.
const VERSION = /^[0-9A-Za-z][0-9A-Za-z.+-]*$/
// A path segment: characters that mean the same in a file name and a URL path, with no escaping;
// no leading dot, so no `.`, `..` or dot-files (which peers never serve).
const PATH_SEGMENT = /^[A-Za-z0-9_~@+,=-][A-Za-z0-9._~@+,=-]*$/
// type/subtype with optional parameters, e.g. `text/html; charset=utf-8`: safe in a header.
const MIME = /^[\w.+-]+\/[\w.+-]+(; ?[\w.+-]+=[\w.+-]+)*$/

// Printable ASCII without spaces: what a URL looks like once its host is in punycode; nothing a
// `URL` parser would silently trim or re-encode into another address.
const PRINTABLE = /^[\x21-\x7e]+$/
// RFC 7064: stun:host[:port], host a name, an IPv4 address or an [IPv6] literal; no query.
const STUN_URI = /^stun:(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?)(:(\d{1,5}))?$/

/**
 * True when `url` may be announced in a `peer` message: a `ws:` or `wss:` URL of at most
 * {@link LIMITS.peerUrlLength} printable ASCII characters, with a host, and with no user name,
 * password or fragment (a WebSocket URL cannot have a fragment; credentials have no place in
 * a public message).
 */
export function isPeerUrl(url: unknown): url is string {
  if (!isStr(url, LIMITS.peerUrlLength) || !PRINTABLE.test(url)) return false
  if (!/^wss?:\/\//i.test(url) || url.includes('#')) return false
  let u: URL
  try {
    u = new URL(url)
  } catch {
    return false
  }
  return (u.protocol === 'ws:' || u.protocol === 'wss:') && u.hostname !== '' && u.username === '' && u.password === ''
}

/**
 * True when `uri` is a STUN server's URI as RFC 7064 writes it, `stun:host[:port]` (port 1 to
 * 65535), at most {@link LIMITS.peerUrlLength} characters: the form browsers take in
 * `RTCPeerConnection`'s `iceServers`.
 */
export function isStunUri(uri: unknown): uri is string {
  if (!isStr(uri, LIMITS.peerUrlLength)) return false
  const m = STUN_URI.exec(uri)
  if (!m) return false
  const port = m[4] === undefined ? 3478 : Number(m[4])
  return port >= 1 && port <= 65535
}

/**
 * True when `path` may name a file of a release: relative, `/`-separated, at most
 * {@link LIMITS.releasePathLength} characters, each segment non-empty, not starting with a dot
 * (so no `..`, and no dot-files) and made of letters, digits and `._~@+,=-` only, so the path is
 * the same in a folder and in a URL.
 */
export function isReleasePath(path: unknown): path is string {
  return isStr(path, LIMITS.releasePathLength) && path.split('/').every((s) => PATH_SEGMENT.test(s))
}

function isReleaseFile(v: unknown): boolean {
  if (!isPlainObject(v)) return false
  return (
    isReleasePath(v.path) &&
    isBlobLink(v.link) &&
    Number.isSafeInteger(v.size) &&
    (v.size as number) >= 0 &&
    isStr(v.type, LIMITS.mimeTypeLength) &&
    MIME.test(v.type)
  )
}

function checkReleaseFiles(files: ReleaseFile[]): string | undefined {
  const paths = new Set<string>()
  for (const f of files) {
    if (paths.has(f.path)) return `release.files lists ${f.path} twice`
    paths.add(f.path)
  }
  // A path cannot be a file and a folder at once (`a` and `a/b`): no folder could hold both.
  for (const p of paths) {
    for (let i = p.indexOf('/'); i > 0; i = p.indexOf('/', i + 1)) {
      if (paths.has(p.slice(0, i))) return `release.files has ${p.slice(0, i)} as a file and as a folder`
    }
  }
  return undefined
}

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
    if (!isArrayOf(c.urls, LIMITS.peerUrls, isPeerUrl) || (c.urls as unknown[]).length === 0) {
      return `peer.urls must be 1 to ${LIMITS.peerUrls} ws:// or wss:// URLs`
    }
    if (!opt(c, 'stun', (v) => isArrayOf(v, LIMITS.stunServersPerPeer, isStunUri))) {
      return `peer.stun must be at most ${LIMITS.stunServersPerPeer} stun:host:port URIs`
    }
    return undefined
  },
  release(c) {
    if (!isStr(c.app) || !APP_NAME.test(c.app)) return 'release.app must be a short lowercase name'
    if (!isStr(c.version, LIMITS.versionLength) || !VERSION.test(c.version))
      return 'release.version must be a short version such as 1.2.0'
    if (!isArrayOf(c.files, LIMITS.filesPerRelease, isReleaseFile) || (c.files as unknown[]).length === 0) {
      return 'release.files must be a non-empty list of files (path, blob link, size, MIME type)'
    }
    const files = checkReleaseFiles(c.files as ReleaseFile[])
    if (files !== undefined) return files
    const listed = (p: unknown) => (c.files as ReleaseFile[]).some((f) => f.path === p)
    if (!listed(c.entry)) return 'release.entry must be the path of one of its files'
    if (!opt(c, 'worker', listed)) return 'release.worker must be the path of one of its files'
    if (!opt(c, 'notes', (v) => isStr(v, LIMITS.notesLength))) return 'release.notes is too long'
    if (!opt(c, 'prev', isMsgLink)) return 'release.prev must be a message link'
    return undefined
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
