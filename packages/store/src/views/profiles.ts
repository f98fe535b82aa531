/**
 * The profiles view: names, descriptions and images, and the petnames people give each other.
 *
 * Rows: `target (32) ‖ author (32) ‖ field (1 byte: 'n' name, 'd' description, 'i' image)` ->
 * the value (UTF-8 text, or the image's CID bytes), one row per field an `about` message sets.
 * An `about` is a partial update: fields it leaves out keep their earlier value, and an empty
 * name or description clears that field. A feed's messages reach the log in seq order, so an
 * author's latest value per field is the last write, and indexing never reads.
 *
 * There is no global registry of names (DESIGN.md): what a feed calls itself is only a claim.
 * The query puts the name *I* gave a feed (a petname) above its self-chosen one, and lists the
 * names the feeds I follow gave it, so anyone posing as someone else by name stands out.
 */
import { type AboutContent, CID, equalBytes, type FeedId, toHex } from '@murmur/core'
import { key } from '../codec.js'
import type { IndexedMsg, RowWriter } from '../view.js'
import { StoreView } from './base.js'

const NAME = 0x6e // 'n'
const DESCRIPTION = 0x64 // 'd'
const IMAGE = 0x69 // 'i'
const FEED_BYTES = 32

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/** What is known of a feed, as seen by `store.me`. */
export interface Profile {
  readonly id: FeedId
  /** The name the feed chose for itself (an `about` by the feed about itself). */
  name?: string
  /** The feed's own description. */
  description?: string
  /** The feed's own image (a blob). */
  image?: CID
  /** The name `store.me` gave this feed (an `about` by me about someone else). */
  petname?: string
  /** Names given by the feeds `store.me` follows (neither me nor the feed itself). */
  friendNames: { by: FeedId; name: string }[]
  /** What to call the feed: the petname, else its self-chosen name. */
  displayName?: string
  /** Where {@link displayName} comes from. */
  nameSource: 'petname' | 'self' | 'none'
}

/** Names, descriptions and images of feeds, with petnames. */
export class ProfilesView extends StoreView {
  readonly name = 'profiles'
  readonly version = 1

  /** One row write per field an `about` sets; no reads. */
  apply(entries: readonly IndexedMsg[], out: RowWriter): void {
    for (const e of entries) {
      if (e.msg.value.type !== 'about') continue
      const c = e.msg.value.content as unknown as AboutContent
      const at = key(c.target, e.msg.value.author, new Uint8Array(1))
      const field = (f: number, value: Uint8Array | undefined): void => {
        if (value === undefined) return
        const k = at.slice()
        k[2 * FEED_BYTES] = f
        if (value.length > 0) out.put(k, value)
        else out.del(k)
      }
      field(NAME, c.name === undefined ? undefined : encoder.encode(c.name))
      field(DESCRIPTION, c.description === undefined ? undefined : encoder.encode(c.description))
      field(IMAGE, c.image?.bytes.slice())
    }
  }

  /**
   * The profile of `target` as `store.me` sees it: its self-chosen name, description and
   * image, my petname for it, and the names my follows gave it (blocked feeds' names are
   * left out). Waits until the views have indexed the log as it is now.
   * @throws {MurmurError} `TIMEOUT` when indexing does not catch up in time.
   */
  async profile(target: FeedId): Promise<Profile> {
    await this.store.indexed()
    const me = this.store.me
    const friends = new Set<string>()
    if (me) {
      const blocked = new Set((await this.store.views.blocks.blocked(me)).map(toHex))
      for (const f of await this.store.views.graph.follows(me)) {
        const hex = toHex(f)
        if (!blocked.has(hex)) friends.add(hex)
      }
      friends.delete(toHex(me))
    }
    friends.delete(toHex(target))

    const p: Profile = { id: target, friendNames: [], nameSource: 'none' }
    const end = key(target, new Uint8Array(FEED_BYTES + 1).fill(0xff))
    for await (const [k, v] of this.rows.iterator({ gt: target, lt: end })) {
      const author = k.subarray(FEED_BYTES, 2 * FEED_BYTES)
      const field = k[2 * FEED_BYTES]
      if (equalBytes(author, target)) {
        if (field === NAME) p.name = decoder.decode(v)
        else if (field === DESCRIPTION) p.description = decoder.decode(v)
        else if (field === IMAGE) p.image = CID.decode(v.slice())
      } else if (field === NAME) {
        if (me && equalBytes(author, me)) p.petname = decoder.decode(v)
        else if (friends.has(toHex(author))) p.friendNames.push({ by: author.slice(), name: decoder.decode(v) })
      }
    }
    if (p.petname !== undefined) {
      p.displayName = p.petname
      p.nameSource = 'petname'
    } else if (p.name !== undefined) {
      p.displayName = p.name
      p.nameSource = 'self'
    }
    return p
  }
}
