/**
 * The HTTP side of `serve`: the built web app (@murmur/web's dist/app) as static files, the
 * peer's /.well-known/murmur.json, and, until the app is built, a small page that says which
 * peer this is and how to build the app. Every response carries the app's security headers
 * (strict Content-Security-Policy, no-sniff).
 *
 * Paths are checked on the raw request target, segment by segment, before anything is joined
 * to the folder: `..` and `.` segments (also as `%2e%2e`), encoded slashes and backslashes
 * (`%2f`, `%5c`, which would let one decoded segment hold a path), NUL and malformed escapes
 * are refused with 400, so no request can name a file outside the app folder (path traversal,
 * CWE-22); dot-files are not served. A path with a file extension that names no file is a 404;
 * any other path is a route of the app and gets index.html (the app routes itself).
 *
 * Caching: files under assets/ have a content hash in their names (the Vite build), so they
 * are immutable for a year; everything else (index.html, sw.js, app-files.json) is revalidated
 * on every use (`no-cache` with a content-hash ETag), so a new build shows on the next load.
 */
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { join, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { type FeedId, formatFeedId } from '@murmur/core'
import { contentTypeOf, SECURITY_HEADERS } from '@murmur/web/headers'

export { SECURITY_HEADERS }

const IMMUTABLE = 'public, max-age=31536000, immutable'
const REVALIDATE = 'no-cache'
const TEXT = { 'Content-Type': 'text/plain; charset=utf-8' }

/** Where @murmur/web's build puts the app, or undefined when that package is not installed. */
export function defaultAppDir(): string | undefined {
  try {
    return fileURLToPath(new URL('dist/app/', import.meta.resolve('@murmur/web/package.json')))
  } catch {
    return undefined
  }
}

/**
 * The decoded segments of a request target's path, or undefined when the target is refused
 * (see the module comment). `/` gives `['']`.
 */
export function pathSegments(target: string): string[] | undefined {
  const end = target.search(/[?#]/)
  const raw = end === -1 ? target : target.slice(0, end)
  if (!raw.startsWith('/') || /%2f|%5c|%00|\\|\0/i.test(raw)) return undefined
  let segments: string[]
  try {
    segments = raw.slice(1).split('/').map(decodeURIComponent)
  } catch {
    return undefined // a malformed escape such as %zz or a lone surrogate
  }
  return segments.some((s) => s === '.' || s === '..' || s.includes('\0')) ? undefined : segments
}

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string)

/** The page `serve` shows while the web app is not built. */
function placeholder(id: string, ws: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Murmur peer</title></head>
<body><main>
<h1>Murmur peer</h1>
<p>This is an always-on Murmur peer. Its id is <code>${escapeHtml(id)}</code>.</p>
<p>Other peers replicate with it at <code>${escapeHtml(ws)}</code>, for example with <code>murmur sync ${escapeHtml(ws)}</code>.</p>
<p>The web app is not built yet: run <code>npm run build</code> in the Murmur source folder, then reload this page.</p>
</main></body></html>
`
}

/** True when an If-None-Match header names `etag` (weak comparison, RFC 9110 §13.1.2). */
function matches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (ifNoneMatch === undefined) return false
  if (ifNoneMatch.trim() === '*') return true
  return ifNoneMatch.split(',').some((t) => t.trim().replace(/^W\//, '') === etag)
}

/** Sends one file of the app folder, or answers 404. */
async function sendFile(req: IncomingMessage, res: ServerResponse, dir: string, path: string): Promise<void> {
  const file = join(dir, ...path.split('/'))
  // Defence in depth: pathSegments already refused every way out of the folder.
  if (!file.startsWith(dir.endsWith(sep) ? dir : dir + sep)) {
    res.writeHead(404, TEXT).end('not found\n')
    return
  }
  let body: Buffer
  try {
    body = await readFile(file)
  } catch {
    res.writeHead(404, TEXT).end('not found\n')
    return
  }
  const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`
  const headers = {
    ETag: etag,
    'Cache-Control': path.startsWith('assets/') ? IMMUTABLE : REVALIDATE,
  }
  if (matches(req.headers['if-none-match'], etag)) {
    res.writeHead(304, headers).end()
    return
  }
  res.writeHead(200, { ...headers, 'Content-Type': contentTypeOf(path), 'Content-Length': body.length })
  res.end(req.method === 'HEAD' ? undefined : body)
}

/** Options of {@link siteHandler}. */
export interface SiteOptions {
  /** The peer's own feed id, shown on the placeholder page and in /.well-known/murmur.json. */
  readonly id: FeedId
  /** Whether the server speaks HTTPS (then the WebSocket address is wss://). */
  readonly tls: boolean
  /** The built app's folder (default: {@link defaultAppDir}); the placeholder page shows while it has no index.html. */
  readonly appDir?: string | undefined
  /**
   * Where `serve --tracker` runs its WebTorrent tracker (tracker.ts, e.g. `/announce`):
   * /.well-known/murmur.json then names it as `tracker`, a ws(s) URL on the host of the request.
   */
  readonly trackerPath?: string | undefined
  /**
   * The UDP port of `serve --stun` (the STUN server it runs): /.well-known/murmur.json then names
   * it as `stun`, `stun:<host of the request>:<port>`, for the app's WebRTC connections.
   */
  readonly stunPort?: number | undefined
}

/** A Host header that is a host name, IPv4 or [IPv6] address, with an optional port. */
const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[[0-9A-Fa-f:.]{2,45}\])(?::\d{1,5})?$/

/** The host of a Host header without its port (an IPv6 address keeps its brackets). */
function hostName(host: string): string {
  return host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.replace(/:\d+$/, '')
}

/** The request handler of the peer's HTTP(S) server. */
export function siteHandler(opts: SiteOptions) {
  const id = formatFeedId(opts.id)
  const dir = 'appDir' in opts ? opts.appDir : defaultAppDir()
  return (req: IncomingMessage, res: ServerResponse): void => {
    if (req.headers.upgrade) return // WebSocket upgrades are handled by the replication listener
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v)
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD' }).end()
      return
    }
    const segments = pathSegments(req.url ?? '/')
    if (segments === undefined) {
      res.writeHead(400, TEXT).end('bad request path\n')
      return
    }
    const path = segments.join('/')
    if (path === '.well-known/murmur.json') {
      const host = req.headers.host
      const known = host !== undefined && HOST.test(host)
      const tracker =
        opts.trackerPath !== undefined && known
          ? { tracker: `${opts.tls ? 'wss' : 'ws'}://${host}${opts.trackerPath}` }
          : {}
      const stun = opts.stunPort !== undefined && known ? { stun: `stun:${hostName(host)}:${opts.stunPort}` } : {}
      res
        .writeHead(200, { 'Content-Type': 'application/json' })
        .end(JSON.stringify({ id, replicate: '/murmur', ...tracker, ...stun }))
      return
    }
    if (dir === undefined || !existsSync(join(dir, 'index.html'))) {
      if (path !== '') {
        res.writeHead(404, TEXT).end('not found\n')
        return
      }
      const ws = `${opts.tls ? 'wss' : 'ws'}://${req.headers.host ?? 'localhost'}/murmur`
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(placeholder(id, ws))
      return
    }
    const name = segments.at(-1) ?? ''
    let file = path
    if (segments.some((s) => s.startsWith('.')))
      file = '' // dot-files are never served
    else if (path === '' || !name.includes('.')) file = 'index.html' // a route of the app
    if (file === '') {
      res.writeHead(404, TEXT).end('not found\n')
      return
    }
    sendFile(req, res, dir, file).catch(() => {
      if (!res.headersSent) res.writeHead(500, TEXT).end('cannot read the file\n')
      else res.destroy()
    })
  }
}
