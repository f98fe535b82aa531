/**
 * The HTTP side of `serve`: until the web app is built (the web package), a small page that
 * says which peer this is and how to connect to it. Every response carries a strict
 * Content-Security-Policy and no-sniff.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { type FeedId, formatFeedId } from '@murmur/core'

/** Headers every response of a Murmur peer sends. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy':
    "default-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
}

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string)

/** The request handler of the peer's HTTP(S) server. */
export function siteHandler(opts: { id: FeedId; tls: boolean }) {
  const id = formatFeedId(opts.id)
  return (req: IncomingMessage, res: ServerResponse): void => {
    if (req.headers.upgrade) return // WebSocket upgrades are handled by the replication listener
    const path = new URL(req.url ?? '/', 'http://peer').pathname
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v)
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD' }).end()
      return
    }
    if (path === '/.well-known/murmur.json') {
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ id, replicate: '/murmur' }))
      return
    }
    if (path !== '/') {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('not found\n')
      return
    }
    const ws = `${opts.tls ? 'wss' : 'ws'}://${req.headers.host ?? 'localhost'}/murmur`
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Murmur peer</title></head>
<body><main>
<h1>Murmur peer</h1>
<p>This is an always-on Murmur peer. Its id is <code>${escapeHtml(id)}</code>.</p>
<p>Other peers replicate with it at <code>${escapeHtml(ws)}</code>, for example with <code>murmur sync ${escapeHtml(ws)}</code>.</p>
</main></body></html>
`)
  }
}
