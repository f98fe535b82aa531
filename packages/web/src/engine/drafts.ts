/**
 * The engine's writes as drafts: what the UI asked for, checked, turned into the content of a
 * `post`, `vote`, `contact` or `about` message (core's schema). Images become blobs first, so a
 * message never names a blob this device does not hold. Signing and appending is the store's
 * `publish` (engine.ts), which reads the head and appends as one step.
 */
import {
  type AboutContent,
  type BlobRef,
  type CID,
  type ContactContent,
  type Draft,
  equalBytes,
  type FeedId,
  LIMITS,
  MAX_MSG_BYTES,
  type PostContent,
  type VoteContent,
} from '@murmur/core'
import type { Store } from '@murmur/store'
import type { NewImage } from '../api.js'
import { boolArg, feedArg, invalid, msgArg, textArg } from './args.js'
import { EngineFailure } from './errors.js'
import { rootOf } from './reads.js'

const encoder = new TextEncoder()
const bytesOf = (s: string | undefined): number => (s === undefined ? 0 : encoder.encode(s).length)

// Encoded size, over-estimated: the envelope and signature, the reply links, and per image its
// link, size and keys. A post over the 8 KiB limit is refused before anything is stored.
const ENVELOPE_BYTES = 260
const REPLY_BYTES = 100
const IMAGE_BYTES = 80

/** What `post()` takes (api.ts). */
export interface PostInput {
  readonly text: string
  readonly images?: readonly NewImage[]
  readonly replyTo?: string
  readonly cw?: string
}

/**
 * The draft of a post; its images are stored as blobs on the way.
 * @throws {EngineFailure} `INVALID_ARGUMENT` for a bad argument; `TOO_LARGE` for an image over
 * the blob limit or a post over the message limit.
 */
export async function postDraft(store: Store, p: PostInput): Promise<Draft> {
  if (typeof p !== 'object' || p === null) throw invalid('A post needs text or images.')
  const text = textArg(p.text, 'text')
  const cw = p.cw === undefined || p.cw === '' ? undefined : textArg(p.cw, 'content warning', LIMITS.nameLength)
  const images = p.images ?? []
  if (!Array.isArray(images)) throw invalid('Images come as a list.')
  if (images.length > LIMITS.blobsPerPost) {
    throw new EngineFailure('TOO_LARGE', `A post carries at most ${LIMITS.blobsPerPost} images.`)
  }
  if (text.trim() === '' && images.length === 0) throw invalid('A post needs text or images.')
  for (const image of images) checkImage(image, store.blobs.maxBlobBytes)
  const size =
    ENVELOPE_BYTES +
    bytesOf(text) +
    bytesOf(cw) +
    (p.replyTo === undefined ? 0 : REPLY_BYTES) +
    images.reduce((n, i) => n + IMAGE_BYTES + bytesOf(i.type) + bytesOf(i.alt), 0)
  if (size > MAX_MSG_BYTES) {
    throw new EngineFailure('TOO_LARGE', `This post is too long: a post is at most about ${MAX_MSG_BYTES} bytes.`)
  }

  const content: PostContent = { text }
  if (cw !== undefined) content.cw = cw
  if (p.replyTo !== undefined) {
    const parent = msgArg(p.replyTo)
    const held = await store.get(parent)
    // Replying to a reply joins its thread; the parent is the branch the reply answers.
    content.root = (held && rootOf(held)) ?? parent
    content.branch = [parent]
  }
  if (images.length > 0) {
    const blobs: BlobRef[] = []
    for (const image of images) {
      const link = await store.blobs.put(image.bytes)
      blobs.push({ link, type: image.type, size: image.bytes.length, ...(image.alt ? { alt: image.alt } : {}) })
    }
    content.blobs = blobs
  }
  return { type: 'post', content }
}

/**
 * Checks an image the UI re-encoded.
 * @throws {EngineFailure} `INVALID_ARGUMENT`; `TOO_LARGE` over the blob limit.
 */
export function checkImage(image: NewImage, maxBytes: number): void {
  if (typeof image !== 'object' || image === null || !(image.bytes instanceof Uint8Array)) {
    throw invalid('An image comes as bytes.')
  }
  textArg(image.type, 'image type', 100)
  if (image.alt !== undefined) textArg(image.alt, 'image description', LIMITS.altLength)
  if (image.bytes.length > maxBytes) {
    throw new EngineFailure(
      'TOO_LARGE',
      `This image is ${mib(image.bytes.length)}; an image may be at most ${mib(maxBytes)}. Try a smaller one.`,
    )
  }
}

function mib(n: number): string {
  return `${(n / 1048576).toFixed(1)} MB`
}

/** A like (or taking it back). */
export function voteDraft(id: string, liked: boolean): { type: 'vote'; content: VoteContent } {
  return { type: 'vote', content: { link: msgArg(id), value: boolArg(liked, 'liked') ? 1 : 0 } }
}

/** A follow or unfollow. */
export function followDraft(me: FeedId, id: string, following: boolean): { type: 'contact'; content: ContactContent } {
  const target = notMe(me, feedArg(id), 'follow')
  return { type: 'contact', content: { target, following: boolArg(following, 'following') } }
}

/** A block or unblock; blocking someone I follow also unfollows them. */
export function blockDraft(
  me: FeedId,
  id: string,
  blocking: boolean,
  following: boolean,
): { type: 'contact'; content: ContactContent } {
  const target = notMe(me, feedArg(id), 'block')
  const block = boolArg(blocking, 'blocking')
  return { type: 'contact', content: { target, blocking: block, ...(block && following ? { following: false } : {}) } }
}

/** A petname for someone else; the empty string removes it. */
export function petnameDraft(me: FeedId, id: string, petname: string): { type: 'about'; content: AboutContent } {
  const target = notMe(me, feedArg(id), 'give a petname to')
  return { type: 'about', content: { target, name: textArg(petname, 'petname', LIMITS.nameLength).trim() } }
}

/** My own name, description and avatar (`image` already stored as a blob). */
export function aboutDraft(
  me: FeedId,
  p: { name?: string; description?: string },
  image: CID | undefined,
): Draft | undefined {
  const content: AboutContent = { target: me }
  if (p.name !== undefined) content.name = textArg(p.name, 'name', LIMITS.nameLength).trim()
  if (p.description !== undefined) {
    content.description = textArg(p.description, 'description', LIMITS.descriptionLength)
  }
  if (image !== undefined) content.image = image
  return Object.keys(content).length > 1 ? { type: 'about', content } : undefined
}

function notMe(me: FeedId, target: FeedId, what: string): FeedId {
  if (equalBytes(me, target)) throw invalid(`You cannot ${what} yourself.`)
  return target
}
