/**
 * The want set: which feeds this peer replicates.
 *
 * - itself and the follow graph from itself, to `hops` (store `views.graph.hops`: it never
 *   walks into or through a feed this peer blocks);
 * - in host mode `'peers'`, the people it serves: each connected remote's own feed and that
 *   remote's follow graph to `hops` (learned once its feed has replicated here), nearest first,
 *   at most `maxHostedFeeds` beyond its own graph, and none once `hostingOpen` is false (the
 *   byte limit is reached);
 * - feeds pinned by the application ({@link WantInputs.pinned}, e.g. the publishers of the app
 *   it runs), whole and at distance 1, without a public follow;
 * - never a feed it blocks, and never a forked feed (the feed stops at the fork).
 * Recomputed from the views whenever contacts change, so it is always the current graph's.
 */
import { type FeedId, fromHex, toHex } from '@murmur/core'
import type { Store } from '@murmur/store'

/**
 * Whom a peer hosts: `'peers'` also replicates every connecting peer's own feed and follows
 * (an always-on peer keeps browser-only people reachable); `'follows'` only its own follow
 * graph; `'none'` is the same as `'follows'` (it hosts no one else).
 */
export type HostMode = 'peers' | 'follows' | 'none'

/** One wanted feed. */
export interface WantedFeed {
  readonly feed: FeedId
  /** Hops from this peer in its own follow graph; `Infinity` for a feed hosted for others. */
  readonly dist: number
  /** True when wanted only because it is hosted for a connected peer. */
  readonly hosted: boolean
}

/** Inputs of {@link computeWants}. */
export interface WantInputs {
  readonly store: Store
  readonly me: FeedId
  readonly hops: number
  readonly host: HostMode
  /** Remotes whose feeds are hosted (mode `'peers'`), in the order they connected. */
  readonly roots: Iterable<FeedId>
  readonly maxHostedFeeds: number
  /** False once hosted feeds have taken their byte limit: no hosted feed is wanted then. */
  readonly hostingOpen: boolean
  /** Feeds wanted as if followed (distance 1), without a follow: see {@link Replicator.pin}. */
  readonly pinned?: Iterable<FeedId>
}

/** The want set, keyed by hex feed id. */
export async function computeWants(i: WantInputs): Promise<Map<string, WantedFeed>> {
  const { store, me } = i
  const out = new Map<string, WantedFeed>()
  const blocked = new Set((await store.views.blocks.blocked(me)).map(toHex))
  const take = async (hex: string, dist: number, hosted: boolean): Promise<boolean> => {
    if (out.has(hex) || blocked.has(hex)) return false
    const feed = fromHex(hex)
    if (feed?.length !== 32 || (await store.feedState(feed))?.forked) return false
    out.set(hex, { feed, dist, hosted })
    return true
  }
  await take(toHex(me), 0, false)
  for (const [hex, dist] of await store.views.graph.hops({ from: me, max: i.hops })) await take(hex, dist, false)
  for (const feed of i.pinned ?? []) await take(toHex(feed), Math.min(1, i.hops), false)
  if (i.host !== 'peers' || !i.hostingOpen) return out
  let hosted = 0
  for (const root of i.roots) {
    if (hosted >= i.maxHostedFeeds) break
    // Insertion order of hops() is breadth-first: the root, then its follows, then theirs.
    for (const hex of (await store.views.graph.hops({ from: root, max: i.hops })).keys()) {
      if (hosted >= i.maxHostedFeeds) break
      if (await take(hex, Number.POSITIVE_INFINITY, true)) hosted++
    }
  }
  return out
}
