/**
 * The page's state: one plain object, replaced (never mutated) by `set`, and re-rendered as a
 * whole by lit-html, which only touches the DOM that changed. Data from the engine is kept per
 * page, so going back to a page shows it at once while it refreshes.
 */
import type { EngineError, IdentityState, NetworkView, PersonRef, PostView, Profile, ThreadView } from '../api.js'
import type { Route } from './router.js'
import type { UpdatesState } from './views/updates.js'

/** A message in one area's live region. */
export interface Status {
  readonly kind: 'ok' | 'error'
  readonly text: string
}

/** A list of posts loaded page by page (the timeline, a person's posts). */
export interface PostList {
  readonly items: readonly PostView[]
  /** The cursor of the next page; absent at the end. */
  readonly next?: string
  readonly loading: boolean
  /** True once the first page came back. */
  readonly loaded: boolean
}

/** An image picked in a composer, already re-encoded. */
export interface DraftImage {
  readonly bytes: Uint8Array
  readonly type: string
  readonly alt: string
  /** The preview's blob: URL (undefined if the re-encoded bytes did not sniff as raster). */
  readonly preview?: { readonly url: string; revoke(): void }
}

/** What is being written in one composer (kept across re-renders and page changes). */
export interface Draft {
  readonly text: string
  readonly cw: string
  readonly images: readonly DraftImage[]
}

export interface AppState {
  readonly route: Route
  readonly boot: { readonly kind: 'loading' | 'ready' } | { readonly kind: 'failed'; readonly text: string }
  /** Undefined until the engine answered. */
  readonly identity?: IdentityState
  readonly net?: NetworkView
  /** The clock relative times are written against (ticks every 30 s). */
  readonly now: number
  /** Live-region messages by area (e.g. `compose`, `post:<id>`, `profile`). */
  readonly status: Readonly<Record<string, Status>>
  /** Areas with an action in flight. */
  readonly busy: Readonly<Record<string, boolean>>
  /** Post lists by key: `timeline`, `posts:<feedId>`. */
  readonly lists: Readonly<Record<string, PostList>>
  /** Threads by the id in the route. */
  readonly threads: Readonly<Record<string, ThreadView>>
  /** Profiles by feed id. */
  readonly profiles: Readonly<Record<string, Profile>>
  readonly suggestions?: readonly PersonRef[]
  /** Open "liked by" lists, by post id (an empty array while loading). */
  readonly likers: Readonly<Record<string, readonly PersonRef[]>>
  /** Composer drafts by key: `timeline`, `reply:<rootId>`. */
  readonly drafts: Readonly<Record<string, Draft>>
  /** The confirm step that is open, e.g. `override`, `block:<id>`. */
  readonly confirm?: string
  /** The backup text while the person has it shown. */
  readonly backup?: string
  /** Whether the browser keeps this origin's storage (navigator.storage.persisted()). */
  readonly persisted?: boolean
  /** Show the "you're in" card (id, invite, QR, backup prompt) after sign-up. */
  readonly welcome: boolean
  /** The backup reminder was dismissed for this session. */
  readonly reminderHidden: boolean
  /** App releases and the worker check (views/updates.ts). */
  readonly updates?: UpdatesState
}

/** A minimal observable store. */
export interface Store<S> {
  get(): S
  /** Merges `patch` (or what `fn` returns for the current state) and schedules one notification. */
  set(patch: Partial<S> | ((s: S) => Partial<S>)): void
  /** Returns the function that unsubscribes. */
  subscribe(fn: () => void): () => void
}

/** Makes a store whose listeners run once per microtask, however many `set`s came before. */
export function createStore<S extends object>(initial: S): Store<S> {
  let state = initial
  let scheduled = false
  const listeners = new Set<() => void>()
  const notify = () => {
    scheduled = false
    for (const fn of listeners) fn()
  }
  return {
    get: () => state,
    set(patch) {
      state = { ...state, ...(typeof patch === 'function' ? patch(state) : patch) }
      if (!scheduled) {
        scheduled = true
        queueMicrotask(notify)
      }
    },
    subscribe(fn) {
      listeners.add(fn)
      return () => listeners.delete(fn)
    },
  }
}

/** A record with one key set to `value`, or removed when `value` is undefined. */
export function withKey<V>(rec: Readonly<Record<string, V>>, key: string, value: V | undefined): Record<string, V> {
  const out = { ...rec }
  if (value === undefined) delete out[key]
  else out[key] = value
  return out
}

export const emptyDraft: Draft = { text: '', cw: '', images: [] }

function isEngineError(e: unknown): e is EngineError {
  return typeof e === 'object' && e !== null && typeof (e as EngineError).code === 'string'
}

/** What to tell the person about a failed call: the engine's message, with the code explained. */
export function errorText(e: unknown): string {
  const message = e instanceof Error || isEngineError(e) ? e.message : String(e)
  if (!isEngineError(e)) return message || 'Something went wrong.'
  switch (e.code) {
    case 'RESTORE_PENDING':
      return (
        'Not yet: this identity was restored from a backup, and Murmur is still looking for your latest post ' +
        'on the network. Writing before it is found could break your feed for good. Stay connected to a peer ' +
        'that has your posts, or use "Post anyway" in the banner at the top.'
      )
    case 'NO_IDENTITY':
      return 'Create or restore your identity first.'
    case 'BAD_BACKUP':
      return `That backup text was not accepted: ${message}`
    case 'TOO_LARGE':
      return `Too large: ${message}`
    case 'UNAVAILABLE':
      return `Not available right now: ${message}`
    case 'NOT_FOUND':
      return `Not found: ${message}`
    default:
      return message
  }
}
