/**
 * `serve`'s connection manager (@murmur/net's Mesh): the peers it keeps connections to.
 * Configured ones (`--peer`) always; learned ones (peer exchange, `peer` messages of the feeds it
 * replicates) up to `--target-peers` in all, picked at random, dialled at a bounded rate, and
 * never private or loopback addresses unless `--allow-private` (a LAN or a test).
 */
import type { FeedId } from '@murmur/core'
import { formatFeedId, isPeerUrl } from '@murmur/core'
import type { Mesh, MeshOptions } from '@murmur/net'
import { CliError, EXIT } from './errors.js'
import type { Local } from './local.js'

/** The `serve` options of the mesh. */
export const MESH_OPTIONS = {
  'target-peers': { type: 'string' },
  'max-connections': { type: 'string' },
  'allow-private': { type: 'boolean' },
} as const

/** Connections a serve takes in all unless `--max-connections` says otherwise (4 per host). */
export const SERVE_MAX_CONNECTIONS = 1024

/** The usage of {@link MESH_OPTIONS}. */
export const MESH_USAGE = '[--target-peers N] [--max-connections N] [--allow-private]'

function intArg(v: unknown, name: string, min: number, max: number): number | undefined {
  if (v === undefined) return undefined
  const n = Number(v)
  if (!Number.isInteger(n) || n < min || n > max)
    throw new CliError(`--${name} takes a whole number from ${min} to ${max}`, EXIT.usage)
  return n
}

/**
 * The mesh options of `serve`'s options.
 * @throws {CliError} `usage` for a malformed number, or a target above the connection limit.
 */
export function meshConfig(v: Record<string, unknown>): Omit<MeshOptions, 'dial'> {
  const target = intArg(v['target-peers'], 'target-peers', 0, 64)
  const maxConnections = intArg(v['max-connections'], 'max-connections', 1, 10_000)
  if (target !== undefined && maxConnections !== undefined && target > maxConnections)
    throw new CliError('--target-peers cannot be above --max-connections', EXIT.usage)
  return {
    ...(target === undefined ? {} : { target }),
    // A serve is where browsers connect: every tab is one inbound connection.
    maxConnections: maxConnections ?? SERVE_MAX_CONNECTIONS,
    allowPrivate: v['allow-private'] === true,
  }
}

/** How many of the newest messages of each held feed the start-up scan looks at, and how many feeds. */
const SCAN_NEWEST = 10
const SCAN_FEEDS = 5000

/**
 * Learns the addresses always-on peers announce in `peer` messages (core's `peer` type): those
 * among the newest {@link SCAN_NEWEST} messages of each feed held (in the background, once), and
 * every one that arrives from then on. Returns the function that stops it.
 */
export function learnFromPeerMessages(local: Local, mesh: Mesh): () => void {
  let stopped = false
  const learn = (author: FeedId, content: unknown) => {
    const urls = (content as { urls?: unknown } | undefined)?.urls
    if (!Array.isArray(urls) || stopped) return
    mesh.learn(
      urls.filter(isPeerUrl).map((url) => ({ url, feed: formatFeedId(author) })),
      'learned',
    )
  }
  const off = local.store.onAppend((msg) => {
    if (msg.value.type === 'peer') learn(msg.value.author, msg.value.content)
  })
  void (async () => {
    let feeds = 0
    for await (const [author] of local.store.feeds()) {
      if (stopped || ++feeds > SCAN_FEEDS) return
      let looked = 0
      for await (const m of local.store.messages(author, { reverse: true })) {
        if (stopped || ++looked > SCAN_NEWEST) break
        if (m.value.type === 'peer') {
          learn(author, m.value.content)
          break
        }
      }
    }
  })().catch(() => undefined) // the store closed under it (shutting down)
  return () => {
    stopped = true
    off()
  }
}
