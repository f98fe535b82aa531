/**
 * The hash router: every page of the app is a `#/…` fragment, so the app is one static file set
 * that any peer can serve, and an invite link (`…/#/follow/<feedId>`) never reaches a server.
 */

/** A page of the app, parsed from the location's hash. */
export type Route =
  | { readonly name: 'timeline' }
  | { readonly name: 'thread'; readonly id: string; readonly reply: boolean }
  | { readonly name: 'profile'; readonly id: string }
  | { readonly name: 'follow'; readonly id: string }
  | { readonly name: 'people' }
  | { readonly name: 'network' }
  | { readonly name: 'settings' }
  | { readonly name: 'missing'; readonly path: string }

/** The `href`s of the pages. Ids come from the engine (base64url / base32), so they are URL-safe. */
export const href = {
  timeline: '#/',
  people: '#/people',
  network: '#/network',
  settings: '#/settings',
  thread: (id: string) => `#/thread/${id}`,
  reply: (id: string) => `#/thread/${id}/reply`,
  profile: (id: string) => `#/profile/${id}`,
  follow: (id: string) => `#/follow/${id}`,
} as const

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment)
  } catch {
    return segment
  }
}

/** Parses `location.hash` (with or without the leading `#`). */
export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#/, '').replace(/^\/?/, '/')
  const [, page = '', arg, extra] = path.split('/').map(decode)
  if (page === '' && arg === undefined) return { name: 'timeline' }
  if (arg === undefined || arg === '') {
    if (page === 'people' || page === 'network' || page === 'settings') return { name: page }
    if (page === 'timeline') return { name: 'timeline' }
  } else if (page === 'thread') {
    return { name: 'thread', id: arg, reply: extra === 'reply' }
  } else if (page === 'profile' || page === 'follow') {
    const id = parseFeedRef(arg)
    if (id) return { name: page, id }
  }
  return { name: 'missing', path }
}

/** A key that names one page (for remembering its scroll position). */
export function routeKey(r: Route): string {
  switch (r.name) {
    case 'thread':
    case 'profile':
    case 'follow':
      return `${r.name}/${r.id}`
    case 'missing':
      return 'missing'
    default:
      return r.name
  }
}

// A feed id: 32 bytes of base64 (43 characters, URL-safe or standard alphabet) and the suffix.
const FEED_ID = /@?([A-Za-z0-9_\-+/]{43})=?\.ed25519/

/**
 * The feed id in something a person pasted: a bare id (`@…ed25519`, with or without `@`), an
 * invite link (`https://peer/#/follow/@…ed25519`), or any text holding one. Returns the id in
 * its canonical URL-safe text form, or undefined when there is none. The engine still checks
 * that the key is a valid point.
 */
export function parseFeedRef(text: string): string | undefined {
  const m = FEED_ID.exec(decode(text.trim()))
  if (!m) return undefined
  return `@${m[1]!.replace(/\+/g, '-').replace(/\//g, '_')}.ed25519`
}
