/**
 * The commands that work on a peer's store. Each one is a plain function of the open store and
 * its parsed arguments that returns JSON-safe data, plus a formatter for people; so the same
 * command runs in this process, or inside a running `serve` when it holds the data folder (the
 * CLI forwards it over the control socket, see control.ts).
 */
import { readFile } from 'node:fs/promises'
import {
  type BlobRef,
  type CID,
  contentOf,
  type FeedId,
  fingerprint,
  formatFeedId,
  isMurmurError,
  type Msg,
  type PostContent,
  parseCid,
  parseFeedId,
} from '@murmur/core'
import { release } from './commands/release.js'
import { CliError, EXIT } from './errors.js'
import type { Local } from './local.js'
import { clean, indent, jsonSafe, msgJson, when } from './render.js'

/** Parsed arguments of one command. */
export interface Input {
  readonly positionals: readonly string[]
  readonly values: Readonly<Record<string, string | boolean | string[] | undefined>>
}

/** What a running peer adds to the context (status of its connections). */
export interface Live {
  status(): Record<string, unknown>
}

/** One command of the CLI. */
export interface Command {
  readonly name: string
  readonly usage: string
  readonly summary: string
  readonly options?: Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }>
  readonly positionals: readonly [min: number, max: number]
  run(local: Local, input: Input, live?: Live): Promise<unknown>
  text(result: never): string
  /** The arguments as a running `serve` must get them (e.g. paths made absolute: its working folder differs). */
  forward?(input: Input): Input
}

function feedArg(text: string | undefined, what = 'ID'): FeedId {
  if (!text) throw new CliError(`missing ${what}`, EXIT.usage)
  try {
    return parseFeedId(text)
  } catch (err) {
    throw new CliError(`${(err as Error).message}`, EXIT.usage)
  }
}

function msgArg(text: string | undefined): CID {
  if (!text) throw new CliError('missing a message id', EXIT.usage)
  try {
    return parseCid(text)
  } catch (err) {
    throw new CliError((err as Error).message, EXIT.usage)
  }
}

function intArg(v: unknown, name: string, min: number, max: number, fallback: number): number {
  if (v === undefined) return fallback
  const n = Number(v)
  if (!Number.isInteger(n) || n < min || n > max)
    throw new CliError(`--${name} takes a whole number from ${min} to ${max}`, EXIT.usage)
  return n
}

/** Publishes a draft on the local feed, turning a refused draft into a one-line error. */
async function publish(local: Local, draft: Parameters<Local['store']['publish']>[2]) {
  try {
    return await local.store.publish(local.ed, local.keys, draft)
  } catch (err) {
    if (isMurmurError(err)) throw new CliError(err.message, EXIT.failed, { cause: err })
    throw err
  }
}

/** Names for feeds as the store knows them: petname, else self-chosen (marked), else fingerprint. */
async function nameOf(local: Local, id: FeedId): Promise<string> {
  if (local.keys.publicKey.every((b, i) => b === id[i])) return 'me'
  const p = await local.store.views.profiles.profile(id)
  if (p.petname) return clean(p.petname)
  if (p.name) return `~${clean(p.name)} (${fingerprint(id)})`
  return `@${fingerprint(id)}`
}

const IMAGE_TYPES: [number[], string][] = [
  [[0xff, 0xd8, 0xff], 'image/jpeg'],
  [[0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'image/png'],
  [[0x47, 0x49, 0x46, 0x38], 'image/gif'],
  [[0x52, 0x49, 0x46, 0x46], 'image/webp'],
]

/** The raster type of image bytes, sniffed from their magic numbers (never trusted from a name). */
export function sniffImage(bytes: Uint8Array): string | undefined {
  for (const [magic, type] of IMAGE_TYPES) if (magic.every((b, i) => bytes[i] === b)) return type
  return undefined
}

const post: Command = {
  name: 'post',
  usage: 'post TEXT [--reply-to ID] [--image FILE] [--alt TEXT]',
  summary: 'publish a post (public, and it cannot be recalled once replicated)',
  options: { 'reply-to': { type: 'string' }, image: { type: 'string' }, alt: { type: 'string' } },
  positionals: [1, 1],
  async run(local, { positionals, values }) {
    const text = positionals[0] as string
    const content: PostContent = { text }
    if (typeof values['reply-to'] === 'string') {
      const parent = msgArg(values['reply-to'])
      const held = await local.store.get(parent)
      const root = held ? (contentOf(held, 'post')?.root ?? parent) : parent
      content.root = root
      content.branch = [parent]
    }
    if (typeof values.image === 'string') {
      let bytes: Uint8Array
      try {
        bytes = new Uint8Array(await readFile(values.image))
      } catch (err) {
        throw new CliError(
          `cannot read ${values.image}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
        )
      }
      const type = sniffImage(bytes)
      if (!type) throw new CliError(`${values.image} is not a JPEG, PNG, GIF or WebP image`, EXIT.usage)
      let link: CID
      try {
        link = await local.store.blobs.put(bytes)
      } catch (err) {
        throw new CliError(`cannot store ${values.image}: ${(err as Error).message}`)
      }
      const ref: BlobRef = { link, type, size: bytes.length }
      if (typeof values.alt === 'string') ref.alt = values.alt
      content.blobs = [ref]
    }
    return msgJson(await publish(local, { type: 'post', content }))
  },
  text: (m: { id: string; seq: number }) => `posted ${m.id} (seq ${m.seq})`,
}

function contactCommand(
  name: string,
  summary: string,
  content: (target: FeedId) => { following?: boolean; blocking?: boolean },
): Command {
  return {
    name,
    usage: `${name} ID`,
    summary,
    positionals: [1, 1],
    async run(local, { positionals }) {
      const target = feedArg(positionals[0])
      const m = await publish(local, { type: 'contact', content: { target, ...content(target) } })
      return { ...msgJson(m), target: formatFeedId(target) }
    },
    text: (r: { target: string }) => `${name}ed ${r.target} (this is public)`,
  }
}

const follow: Command = {
  name: 'follow',
  usage: 'follow ID [--name PETNAME]',
  summary: 'follow a feed (public), optionally naming it',
  options: { name: { type: 'string' } },
  positionals: [1, 1],
  async run(local, { positionals, values }) {
    const target = feedArg(positionals[0])
    const m = await publish(local, { type: 'contact', content: { target, following: true } })
    if (typeof values.name === 'string') await publish(local, { type: 'about', content: { target, name: values.name } })
    return { ...msgJson(m), target: formatFeedId(target), name: values.name ?? null }
  },
  text: (r: { target: string; name: string | null }) =>
    `following ${r.target}${r.name ? ` as "${clean(r.name)}"` : ''} (follows and names are public)`,
}

const name: Command = {
  name: 'name',
  usage: 'name ID PETNAME',
  summary: 'give a feed your own name for it (public; shown instead of their chosen name)',
  positionals: [2, 2],
  async run(local, { positionals }) {
    const target = feedArg(positionals[0])
    const petname = positionals[1] as string
    const m = await publish(local, { type: 'about', content: { target, name: petname } })
    return { ...msgJson(m), target: formatFeedId(target), name: petname }
  },
  text: (r: { target: string; name: string }) => `${r.target} is now "${clean(r.name)}" to you (public)`,
}

async function postLines(local: Local, m: Msg, prefix = ''): Promise<string> {
  const c = contentOf(m, 'post')
  const votes = await local.store.views.votes.votes(m.id)
  const head = `${prefix}${await nameOf(local, m.value.author)} · ${when(m.value.ts)}${votes.count ? ` · ♥ ${votes.count}` : ''}`
  const body = c?.cw ? `[content warning: ${clean(c.cw)}]` : clean(c?.text ?? '')
  const images = (c?.blobs ?? []).map((b) => `[image ${b.link.toString()}${b.alt ? `: ${clean(b.alt)}` : ''}]`)
  return [head, indent([body, ...images].join('\n')), indent(m.id.toString())].join('\n')
}

const feed: Command = {
  name: 'feed',
  usage: 'feed [--limit N] [--before CURSOR]',
  summary: 'your timeline: posts of the feeds you follow and your own, newest first',
  options: { limit: { type: 'string' }, before: { type: 'string' } },
  positionals: [0, 0],
  async run(local, { values }) {
    const limit = intArg(values.limit, 'limit', 1, 1000, 20)
    let page: Awaited<ReturnType<Local['store']['views']['timeline']['page']>>
    try {
      page = await local.store.views.timeline.page({
        limit,
        ...(typeof values.before === 'string' ? { before: values.before } : {}),
      })
    } catch (err) {
      if (isMurmurError(err, 'INVALID_ARGUMENT')) throw new CliError(err.message, EXIT.usage)
      throw err
    }
    const items = []
    for (const i of page.items) items.push({ ...msgJson(i.msg), text: await postLines(local, i.msg) })
    return { items, next: page.next ?? null }
  },
  text: (r: { items: { text: string }[]; next: string | null }) =>
    r.items.length === 0
      ? 'nothing yet: follow someone (murmur follow ID) or post (murmur post TEXT)'
      : `${r.items.map((i) => i.text).join('\n\n')}${r.next ? `\n\nmore: murmur feed --before ${r.next}` : ''}`,
}

const thread: Command = {
  name: 'thread',
  usage: 'thread ID',
  summary: 'a post and all its replies',
  positionals: [1, 1],
  async run(local, { positionals }) {
    const id = msgArg(positionals[0])
    const held = await local.store.get(id)
    const root = held ? (contentOf(held, 'post')?.root ?? id) : id
    const t = await local.store.views.threads.thread(root)
    if (!t.root && t.replies.length === 0) throw new CliError(`no post ${id.toString()} here (not replicated yet?)`)
    const lines = []
    if (t.root) lines.push(await postLines(local, t.root))
    for (const r of t.replies) lines.push(indent(await postLines(local, r, '↳ ')))
    return { root: t.root ? msgJson(t.root) : null, replies: t.replies.map(msgJson), text: lines.join('\n\n') }
  },
  text: (r: { text: string }) => r.text,
}

const log: Command = {
  name: 'log',
  usage: 'log ID [--from SEQ] [--limit N]',
  summary: "a feed's raw messages, oldest first",
  options: { from: { type: 'string' }, limit: { type: 'string' } },
  positionals: [1, 1],
  async run(local, { positionals, values }) {
    const author = feedArg(positionals[0])
    const from = intArg(values.from, 'from', 1, Number.MAX_SAFE_INTEGER, 1)
    const limit = intArg(values.limit, 'limit', 1, 100_000, 100)
    const out = []
    for await (const m of local.store.messages(author, { from })) {
      out.push(msgJson(m))
      if (out.length >= limit) break
    }
    const state = await local.store.feedState(author)
    return { feed: formatFeedId(author), seq: state?.seq ?? 0, forked: state?.forked ?? false, messages: out }
  },
  text: (r: { feed: string; seq: number; messages: unknown[] }) =>
    r.messages.length === 0 ? `no messages of ${r.feed} here` : r.messages.map((m) => JSON.stringify(m)).join('\n'),
}

const status: Command = {
  name: 'status',
  usage: 'status',
  summary: 'peers, feeds, sync state, forks and rejected data',
  positionals: [0, 0],
  async run(local, _input, live) {
    let feeds = 0
    const forks: string[] = []
    for await (const [id, s] of local.store.feeds()) {
      feeds++
      if (s.forked) forks.push(formatFeedId(id))
    }
    const me = await local.store.feedState(local.keys.publicKey)
    return {
      id: formatFeedId(local.keys.publicKey),
      dataDir: local.dataDir,
      seq: me?.seq ?? 0,
      feeds,
      messages: local.store.size,
      indexed: local.store.indexedTo,
      forks,
      serving: live !== undefined,
      ...(live ? (jsonSafe(live.status()) as Record<string, unknown>) : {}),
    }
  },
  text: (r: {
    id: string
    seq: number
    feeds: number
    messages: number
    forks: string[]
    serving: boolean
    peers?: {
      remote?: string
      state?: string
      initiator?: boolean
      counters?: { received?: number; invalid?: number }
      progress?: { received: number; expected: number; held: number }
    }[]
    rejected?: Record<string, number>
    dialing?: { url: string; state: string; lastError?: string }[]
    dht?: {
      port: number
      nodes: number
      bootstrap: number
      announced: number
      lookups: number
      found: number
      connections: string[]
      lastError?: string
    }
  }) => {
    const rejected = Object.entries(r.rejected ?? {}).filter(([, n]) => n > 0)
    return [
      `id        ${r.id} (seq ${r.seq})`,
      `store     ${plural(r.messages, 'message')} in ${plural(r.feeds, 'feed')}`,
      `forks     ${r.forks.length === 0 ? 'none' : r.forks.join(', ')}`,
      `peer      ${r.serving ? 'serving' : 'not running (start it with murmur serve)'}`,
      ...(r.peers ?? []).map(
        (p) =>
          `  ${p.remote ?? '(handshake)'} ${p.state ?? ''} ${p.initiator ? 'outgoing' : 'incoming'}, received ${p.counters?.received ?? 0}, invalid ${p.counters?.invalid ?? 0}${
            p.progress && p.progress.expected > p.progress.held
              ? `, syncing ${p.progress.held}/${p.progress.expected}`
              : ''
          }`,
      ),
      ...(r.dialing ?? []).map((d) => `  dialing ${d.url}: ${d.state}${d.lastError ? ` (${d.lastError})` : ''}`),
      ...(r.dht
        ? [
            `dht       udp port ${r.dht.port}, ${plural(r.dht.nodes, 'node')}, ${plural(r.dht.announced, 'feed')} announced, ${plural(r.dht.lookups, 'lookup')}, ${plural(r.dht.found, 'address', 'addresses')} found`,
            ...r.dht.connections.map((url) => `  dht peer ${url}`),
            ...(r.dht.lastError ? [`  last error: ${r.dht.lastError}`] : []),
          ]
        : []),
      ...(r.serving
        ? [`rejected  ${rejected.length === 0 ? 'nothing' : rejected.map(([k, n]) => `${k} ${n}`).join(', ')}`]
        : []),
    ].join('\n')
  },
}

/** "1 message", "2 messages". */
function plural(n: number, word: string, words = `${word}s`): string {
  return `${n} ${n === 1 ? word : words}`
}

/** The store commands, by name. */
export const COMMANDS: ReadonlyMap<string, Command> = new Map(
  [
    post,
    follow,
    contactCommand('unfollow', 'stop following a feed (public)', () => ({ following: false })),
    contactCommand('block', 'block a feed: hidden everywhere and not replicated (public)', () => ({
      blocking: true,
      following: false,
    })),
    contactCommand('unblock', 'unblock a feed (public)', () => ({ blocking: false })),
    name,
    feed,
    thread,
    log,
    release,
    status,
  ].map((c) => [c.name, c]),
)
