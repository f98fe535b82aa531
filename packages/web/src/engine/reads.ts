/**
 * The engine's reads: the store's views turned into what the UI shows (api.ts). Each function
 * takes a {@link ReadContext} made for one call, so profiles are looked up once per call.
 * Nothing here writes.
 */
import { type BlobRef, type CID, equalBytes, type FeedId, type Msg, type PostContent, toHex } from '@murmur/core'
import type { Store } from '@murmur/store'
import type { ImageRef, PersonRef, PostPage, PostView, Profile, ThreadView } from '../api.js'
import { feedArg, invalid, limitArg, msgArg } from './args.js'
import { People } from './people.js'

/** What a read needs: the store, who I am, and the per-call profile cache. */
export interface ReadContext {
  readonly store: Store
  readonly me: FeedId
  readonly people: People
}

/** A context for one call. */
export function readContext(store: Store, me: FeedId): ReadContext {
  return { store, me, people: new People(store, me) }
}

const PAGE = 20
const MAX_PAGE = 100
/** The longest follows/followers list a profile returns (each entry costs a profile lookup). */
export const MAX_LIST = 500

/** The post `msg` as the UI shows it (undefined when it is not a post). */
export async function postView(ctx: ReadContext, msg: Msg): Promise<PostView | undefined> {
  if (msg.value.type !== 'post' || msg.value.content instanceof Uint8Array) return undefined
  const c = msg.value.content as unknown as PostContent
  const [author, votes] = await Promise.all([ctx.people.ref(msg.value.author), ctx.store.views.votes.votes(msg.id)])
  return {
    id: msg.id.toString(),
    author,
    seq: msg.value.seq,
    ts: msg.value.ts,
    text: c.text,
    ...(c.cw === undefined ? {} : { cw: c.cw }),
    ...(c.root === undefined ? {} : { root: c.root.toString() }),
    images: (c.blobs ?? []).map(imageRef),
    likes: votes.count,
    likedByMe: votes.voters.some((v) => equalBytes(v, ctx.me)),
  }
}

function imageRef(b: BlobRef): ImageRef {
  return { blob: b.link.toString(), type: b.type, size: b.size, ...(b.alt === undefined ? {} : { alt: b.alt }) }
}

async function postViews(ctx: ReadContext, msgs: readonly Msg[]): Promise<PostView[]> {
  const views = await Promise.all(msgs.map((m) => postView(ctx, m)))
  return views.filter((v): v is PostView => v !== undefined)
}

/** My timeline: my posts and those of whom I follow, newest first. */
export async function timeline(ctx: ReadContext, opts: { limit?: number; before?: string } = {}): Promise<PostPage> {
  const limit = limitArg(opts?.limit, PAGE, MAX_PAGE)
  if (opts?.before !== undefined && typeof opts.before !== 'string') throw invalid('A page cursor is text.')
  const page = await ctx.store.views.timeline.page({
    limit,
    ...(opts?.before === undefined ? {} : { before: opts.before }),
  })
  const items = await postViews(
    ctx,
    page.items.map((i) => i.msg),
  )
  return page.next === undefined ? { items } : { items, next: page.next }
}

/** One person's posts, newest first; the cursor is a seq as text. */
export async function postsBy(
  ctx: ReadContext,
  id: string,
  opts: { limit?: number; before?: string } = {},
): Promise<PostPage> {
  const author = feedArg(id)
  const limit = limitArg(opts?.limit, PAGE, MAX_PAGE)
  let before: number | undefined
  if (opts?.before !== undefined) {
    before = typeof opts.before === 'string' && /^[1-9]\d{0,15}$/.test(opts.before) ? Number(opts.before) : Number.NaN
    if (!Number.isSafeInteger(before)) throw invalid('Not a page cursor: pass the `next` of a previous page.')
  }
  const page = await ctx.store.views.timeline.byAuthor(author, { limit, ...(before === undefined ? {} : { before }) })
  const items = await postViews(ctx, page.items)
  return page.next === undefined ? { items } : { items, next: String(page.next) }
}

/**
 * The thread `id` belongs to: when `id` is a reply, its root's thread. Replies by people I
 * block are left out.
 */
export async function thread(ctx: ReadContext, id: string): Promise<ThreadView> {
  let rootId = msgArg(id)
  const msg = await ctx.store.get(rootId)
  const root = msg && rootOf(msg)
  if (root) rootId = root
  const [t, blocked] = await Promise.all([ctx.store.views.threads.thread(rootId), blockedSet(ctx)])
  const rootView = t.root && (await postView(ctx, t.root))
  const replies = await postViews(
    ctx,
    t.replies.filter((m) => !blocked.has(toHex(m.value.author))),
  )
  return { rootId: rootId.toString(), ...(rootView ? { root: rootView } : {}), replies }
}

/** The root a post names, if it is a reply. */
export function rootOf(msg: Msg): CID | undefined {
  if (msg.value.type !== 'post' || msg.value.content instanceof Uint8Array) return undefined
  return (msg.value.content as unknown as PostContent).root
}

async function blockedSet(ctx: ReadContext): Promise<Set<string>> {
  return new Set((await ctx.store.views.blocks.blocked(ctx.me)).map(toHex))
}

/** A person's profile page. */
export async function profile(ctx: ReadContext, id: string): Promise<Profile> {
  const target = feedArg(id)
  const { store, me, people } = ctx
  const graph = store.views.graph
  const [p, following, followsMe, blocked, follows, followers, state] = await Promise.all([
    people.profile(target),
    graph.isFollowing(me, target),
    graph.isFollowing(target, me),
    store.views.blocks.isBlocked(target, me),
    graph.follows(target),
    graph.followers(target),
    store.feedState(target),
  ])
  const [ref, friendNames, followRefs, followerRefs] = await Promise.all([
    people.ref(target),
    Promise.all(p.friendNames.map(async (f) => ({ by: await people.ref(f.by), name: f.name }))),
    people.refs(follows.slice(0, MAX_LIST)),
    people.refs(followers.slice(0, MAX_LIST)),
  ])
  const fork = state?.forked ? await store.forkProof(target) : undefined
  return {
    ...ref,
    ...(p.name === undefined ? {} : { selfName: p.name }),
    ...(p.petname === undefined ? {} : { petname: p.petname }),
    ...(p.description === undefined ? {} : { description: p.description }),
    friendNames,
    following,
    followsMe,
    blocked,
    follows: followRefs,
    followers: followerRefs,
    seq: state?.seq ?? 0,
    ...(state?.forked ? { forked: { seq: fork?.seq ?? state.seq } } : {}),
  }
}

/** Who likes the message `id`. */
export async function likers(ctx: ReadContext, id: string): Promise<PersonRef[]> {
  const votes = await ctx.store.views.votes.votes(msgArg(id))
  return ctx.people.refs(votes.voters.slice(0, MAX_LIST))
}

/** People followed by those I follow, most followed first. */
export async function suggestions(ctx: ReadContext): Promise<PersonRef[]> {
  const list = await ctx.store.views.graph.suggestions(20)
  return ctx.people.refs(list.map((s) => s.id))
}
