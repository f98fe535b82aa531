/**
 * How the app's files are served, in one place for both servers of the app: the peer's HTTP
 * handler (@murmur/peer, site.ts) and the service worker (sw.ts), which adds these headers to
 * every response it makes from its cache, whatever the origin sent.
 */

/**
 * The app's Content-Security-Policy. No inline script or style anywhere (the build emits none),
 * user images only as `blob:` (data: for the app's own small images), connections to the origin
 * and to other peers' WebSockets, nothing framed, no plugins, no forms posting anywhere.
 * No `eval` of any kind: JavaScript `eval`, `new Function`, string timers and WebAssembly
 * compilation are all blocked (the handshake's crypto is plain JavaScript, src/sodium-browser.ts).
 */
export const APP_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' blob: data:",
  "connect-src 'self' ws: wss:",
  "worker-src 'self'",
  "manifest-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "form-action 'none'",
].join('; ')

/** Headers every response of the app carries, from the peer or from the service worker. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': APP_CSP,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
}

const TYPES: Readonly<Record<string, string>> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  mjs: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  json: 'application/json',
  webmanifest: 'application/manifest+json',
  txt: 'text/plain; charset=utf-8',
  svg: 'image/svg+xml',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
  avif: 'image/avif',
  ico: 'image/x-icon',
  woff2: 'font/woff2',
  woff: 'font/woff',
  wasm: 'application/wasm',
}

/** The Content-Type of an app file, by its extension (`application/octet-stream` when unknown). */
export function contentTypeOf(path: string): string {
  const name = path.slice(path.lastIndexOf('/') + 1)
  const dot = name.lastIndexOf('.')
  return (dot > 0 && TYPES[name.slice(dot + 1).toLowerCase()]) || 'application/octet-stream'
}
