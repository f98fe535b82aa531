/**
 * What the page does with the engine: load the data of the page shown, run a person's actions
 * with their outcome in a live region, and keep both fresh when the engine says something
 * changed. Views get a {@link Ctx} and never call the engine without going through it.
 *
 * Refreshes are coalesced: while one is in flight, more requests make exactly one more run
 * after it, so a burst of engine events costs two fetches, not a hundred.
 */
import type { EngineApi, PostPage, PostView } from '../api.js'
import { BlobImages } from './components/media.js'
import { type Route, routeKey } from './router.js'
import {
  type AppState,
  type Draft,
  emptyDraft,
  errorText,
  type PostList,
  type Status,
  type Store,
  withKey,
} from './state.js'

/** Posts per page. */
export const PAGE = 20

/** Everything a view needs: the state, the engine, and the page's actions. */
export interface Ctx {
  readonly api: EngineApi
  readonly store: Store<AppState>
  readonly blobs: BlobImages
  /**
   * Runs `fn` for one area of the page: marks it busy, then puts `done` (on success) or the
   * error (on failure) in that area's live region. Resolves true on success; never rejects.
   */
  run(area: string, fn: () => Promise<unknown>, done?: string): Promise<boolean>
  /** Like {@link Ctx.run}, then refreshes the page's data (for anything that writes). */
  write(area: string, fn: () => Promise<unknown>, done?: string): Promise<boolean>
  setStatus(area: string, status: Status | undefined): void
  /** Reloads the data of the page shown (keeps what is on screen until the new data is in). */
  refresh(): Promise<void>
  refreshIdentity(): Promise<void>
  refreshNetwork(): Promise<void>
  /** Loads the next page of a post list (`timeline`, `posts:<feedId>`). */
  loadMore(list: string): void
  /** A stable ref callback that loads the next page of `list` when the element scrolls into view. */
  sentinel(list: string): (el?: Element) => void
  draft(key: string): Draft
  setDraft(key: string, patch: Partial<Draft>): void
  like(post: PostView): Promise<void>
  toggleLikers(postId: string): Promise<void>
  /** Asks the browser to keep this origin's data, and records the answer. */
  persist(): Promise<void>
  /** Moves focus to the first element matching `selector` after the next render. */
  focusAfterRender(selector: string): void
  /** Takes the pending focus request (main.ts calls this after each render). */
  takeFocus(): string | undefined
}

function coalesce(fn: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | undefined
  let again = false
  return () => {
    if (running) {
      again = true
      return running
    }
    running = (async () => {
      try {
        do {
          again = false
          await fn()
        } while (again)
      } finally {
        running = undefined
      }
    })()
    return running
  }
}

function dedupe(items: readonly PostView[]): PostView[] {
  const seen = new Set<string>()
  return items.filter((p) => !seen.has(p.id) && seen.add(p.id))
}

/** Wires the page's actions to `api` and `store`. */
export function createCtx(api: EngineApi, store: Store<AppState>): Ctx {
  const get = store.get
  const blobs = new BlobImages(api, () => store.set({}))
  const visibleSentinels = new Set<string>()
  const sentinelRefs = new Map<string, (el?: Element) => void>()
  const refreshAfterLoad = new Set<string>()
  let pendingFocus: string | undefined

  const setStatus = (area: string, status: Status | undefined) =>
    store.set((s) => ({ status: withKey(s.status, area, status) }))
  const setBusy = (area: string, busy: boolean) =>
    store.set((s) => ({ busy: withKey(s.busy, area, busy ? true : undefined) }))
  const setList = (key: string, list: PostList) => store.set((s) => ({ lists: withKey(s.lists, key, list) }))

  const run: Ctx['run'] = async (area, fn, done) => {
    setBusy(area, true)
    setStatus(area, undefined)
    try {
      await fn()
      if (done) setStatus(area, { kind: 'ok', text: done })
      return true
    } catch (e) {
      setStatus(area, { kind: 'error', text: errorText(e) })
      return false
    } finally {
      setBusy(area, false)
    }
  }

  const fetchList = (key: string, opts: { limit: number; before?: string }): Promise<PostPage> =>
    key === 'timeline' ? api.timeline(opts) : api.postsBy(key.slice('posts:'.length), opts)

  async function loadList(key: string, mode: 'refresh' | 'more'): Promise<void> {
    const cur = get().lists[key]
    if (cur?.loading) {
      if (mode === 'refresh') refreshAfterLoad.add(key)
      return
    }
    if (mode === 'more' && !cur?.next) return
    const had = cur ?? { items: [], loaded: false, loading: false }
    setList(key, { ...had, loading: true })
    try {
      if (mode === 'more') {
        const page = await fetchList(key, { limit: PAGE, before: had.next! })
        setList(key, { items: dedupe([...had.items, ...page.items]), next: page.next, loading: false, loaded: true })
      } else {
        // Refetch as many as are shown, so a refresh neither drops pages nor moves the scroll.
        const page = await fetchList(key, { limit: Math.max(PAGE, had.items.length) })
        const fresh = new Set(page.items.map((p) => p.id))
        // If the engine gave fewer than asked but has more, keep the older pages already shown.
        const keepOld = page.next !== undefined && page.items.length < had.items.length
        const items = keepOld ? [...page.items, ...had.items.filter((p) => !fresh.has(p.id))] : page.items
        setList(key, { items, next: keepOld ? had.next : page.next, loading: false, loaded: true })
      }
    } catch (e) {
      setList(key, { ...had, loading: false, loaded: true })
      setStatus(`list:${key}`, { kind: 'error', text: errorText(e) })
      return
    }
    if (refreshAfterLoad.delete(key)) await loadList(key, 'refresh')
    else if (visibleSentinels.has(key)) void loadList(key, 'more')
  }

  const isCurrent = (route: Route) => routeKey(get().route) === routeKey(route)

  /** Fetches one piece of a page's data; errors go to the page's `view` live region. */
  async function load<T>(route: Route, fetch: () => Promise<T>, keep: (v: T) => void): Promise<void> {
    try {
      const v = await fetch()
      if (isCurrent(route)) keep(v)
    } catch (e) {
      if (isCurrent(route)) setStatus('view', { kind: 'error', text: errorText(e) })
    }
  }

  const refresh = coalesce(async () => {
    const { route, identity } = get()
    if (identity?.kind !== 'ready') {
      // An invite opened before sign-up: show who it is for, if the engine knows them.
      if (route.name === 'follow') {
        await api.profile(route.id).then(
          (p) => store.set((s) => ({ profiles: withKey(s.profiles, p.id, p) })),
          () => {}, // without an identity there may be no profile yet; the id alone is shown
        )
      }
      return
    }
    const keepProfile = (p: AppState['profiles'][string]) =>
      store.set((s) => ({ profiles: withKey(s.profiles, p.id, p) }))
    const me = identity.me.id
    switch (route.name) {
      case 'timeline':
        await loadList('timeline', 'refresh')
        break
      case 'thread':
        await load(
          route,
          () => api.thread(route.id),
          (t) => store.set((s) => ({ threads: withKey(s.threads, route.id, t) })),
        )
        break
      case 'profile':
        await Promise.all([
          load(route, () => api.profile(route.id), keepProfile),
          loadList(`posts:${route.id}`, 'refresh'),
        ])
        break
      case 'follow':
        await load(route, () => api.profile(route.id), keepProfile)
        break
      case 'people':
        await Promise.all([
          load(
            route,
            () => api.suggestions(),
            (suggestions) => store.set({ suggestions }),
          ),
          load(route, () => api.profile(me), keepProfile),
        ])
        break
      case 'settings':
        await Promise.all([load(route, () => api.profile(me), keepProfile), checkPersisted()])
        break
      case 'network':
        await refreshNetwork()
        break
    }
  })

  const refreshIdentity = coalesce(async () => {
    const before = get().identity?.kind
    try {
      const identity = await api.identity()
      store.set({ identity })
      if (before !== identity.kind) await refresh()
    } catch (e) {
      setStatus('global', { kind: 'error', text: errorText(e) })
    }
  })

  const refreshNetwork = coalesce(async () => {
    try {
      store.set({ net: await api.network() })
    } catch (e) {
      setStatus('net', { kind: 'error', text: errorText(e) })
    }
  })

  async function checkPersisted(): Promise<void> {
    const persisted = await navigator.storage?.persisted?.().catch(() => undefined)
    if (persisted !== undefined) store.set({ persisted })
  }

  /** Applies `fn` to the post `id` wherever it is shown. */
  function patchPost(id: string, fn: (p: PostView) => PostView) {
    const map = (items: readonly PostView[]) => items.map((p) => (p.id === id ? fn(p) : p))
    store.set((s) => ({
      lists: Object.fromEntries(Object.entries(s.lists).map(([k, l]) => [k, { ...l, items: map(l.items) }])),
      threads: Object.fromEntries(
        Object.entries(s.threads).map(([k, t]) => [
          k,
          { ...t, root: t.root && (t.root.id === id ? fn(t.root) : t.root), replies: map(t.replies) },
        ]),
      ),
    }))
  }

  async function loadLikers(postId: string) {
    await run(`post:${postId}`, async () => {
      const people = await api.likers(postId)
      if (get().likers[postId]) store.set((s) => ({ likers: withKey(s.likers, postId, people) }))
    })
  }

  const ctx: Ctx = {
    api,
    store,
    blobs,
    run,
    async write(area, fn, done) {
      const ok = await run(area, fn, done)
      if (ok) void refresh()
      return ok
    },
    setStatus,
    refresh,
    refreshIdentity,
    refreshNetwork,
    loadMore: (list) => void loadList(list, 'more'),
    sentinel(list) {
      let fn = sentinelRefs.get(list)
      if (!fn) {
        const io =
          typeof IntersectionObserver === 'function'
            ? new IntersectionObserver(
                (entries) => {
                  const visible = entries.some((e) => e.isIntersecting && e.target.isConnected)
                  if (visible) visibleSentinels.add(list)
                  else visibleSentinels.delete(list)
                  if (visible) void loadList(list, 'more')
                },
                { rootMargin: '400px 0px' },
              )
            : undefined
        fn = (el?: Element) => {
          io?.disconnect()
          visibleSentinels.delete(list)
          if (el) io?.observe(el)
        }
        sentinelRefs.set(list, fn)
      }
      return fn
    },
    draft: (key) => get().drafts[key] ?? emptyDraft,
    setDraft: (key, patch) =>
      store.set((s) => ({ drafts: withKey(s.drafts, key, { ...(s.drafts[key] ?? emptyDraft), ...patch }) })),
    async like(post) {
      const liked = !post.likedByMe
      const flip = (on: boolean) => (p: PostView) => ({
        ...p,
        likedByMe: on,
        likes: Math.max(0, p.likes + (on ? 1 : -1)),
      })
      patchPost(post.id, flip(liked)) // shown at once; undone if the engine refuses
      const ok = await run(`post:${post.id}`, () => api.like(post.id, liked))
      if (!ok) patchPost(post.id, flip(!liked))
      else if (get().likers[post.id]) await loadLikers(post.id)
    },
    async toggleLikers(postId) {
      if (get().likers[postId]) {
        store.set((s) => ({ likers: withKey(s.likers, postId, undefined) }))
        return
      }
      store.set((s) => ({ likers: withKey(s.likers, postId, []) }))
      await loadLikers(postId)
    },
    async persist() {
      const granted = await navigator.storage?.persist?.().catch(() => false)
      store.set({ persisted: granted === true })
    },
    focusAfterRender(selector) {
      pendingFocus = selector
      store.set({})
    },
    takeFocus() {
      const s = pendingFocus
      pendingFocus = undefined
      return s
    },
  }
  return ctx
}
