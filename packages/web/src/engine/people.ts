/**
 * How people are named (DESIGN.md: petnames and keys, no registry of names). A person is
 * called, in order: the petname I gave them; else a name someone I follow gave them (the most
 * common one); else the name they chose themselves, which the UI marks and shows with their
 * key's fingerprint, so nobody can pose as someone else by name. My own name is the one I chose,
 * which I trust like a petname.
 *
 * A {@link People} lives for one engine call: each feed's profile is read once per call, however
 * often it appears (a timeline page names the same few authors many times).
 */
import { equalBytes, type FeedId, fingerprint, formatFeedId, toHex } from '@murmur/core'
import type { Store, Profile as StoreProfile } from '@murmur/store'
import type { PersonRef } from '../api.js'

/** Per-call cache of profiles and the {@link PersonRef}s made from them. */
export class People {
  readonly #store: Store
  readonly #me: FeedId
  readonly #profiles = new Map<string, Promise<StoreProfile>>()

  constructor(store: Store, me: FeedId) {
    this.#store = store
    this.#me = me
  }

  /** The store's profile of `id` as I see it (read once per call). */
  profile(id: FeedId): Promise<StoreProfile> {
    const k = toHex(id)
    let p = this.#profiles.get(k)
    if (!p) {
      p = this.#store.views.profiles.profile(id)
      this.#profiles.set(k, p)
    }
    return p
  }

  /** How to show `id`. */
  async ref(id: FeedId): Promise<PersonRef> {
    return personRef(await this.profile(id), equalBytes(id, this.#me))
  }

  /** How to show each of `ids`, in order. */
  refs(ids: readonly FeedId[]): Promise<PersonRef[]> {
    return Promise.all(ids.map((id) => this.ref(id)))
  }
}

/** The {@link PersonRef} of a store profile. */
export function personRef(p: StoreProfile, isMe: boolean): PersonRef {
  const base = {
    id: formatFeedId(p.id),
    fingerprint: fingerprint(p.id),
    isMe,
    ...(p.image ? { avatar: p.image.toString() } : {}),
  }
  if (isMe) {
    return p.name === undefined ? { ...base, nameSource: 'none' } : { ...base, name: p.name, nameSource: 'petname' }
  }
  if (p.petname !== undefined) return { ...base, name: p.petname, nameSource: 'petname' }
  const friend = mostCommon(p.friendNames.map((f) => f.name))
  if (friend !== undefined) return { ...base, name: friend, nameSource: 'friend' }
  if (p.name !== undefined) return { ...base, name: p.name, nameSource: 'self' }
  return { ...base, nameSource: 'none' }
}

/** The most frequent of `names` (of equals, the first to get there); undefined when there are none. */
function mostCommon(names: readonly string[]): string | undefined {
  const counts = new Map<string, number>()
  let best: string | undefined
  let bestCount = 0
  for (const n of names) {
    const c = (counts.get(n) ?? 0) + 1
    counts.set(n, c)
    if (c > bestCount) {
      best = n
      bestCount = c
    }
  }
  return best
}
