/**
 * `murmur release publish DIR` and `murmur release list [ID]`: app releases on feeds (the work
 * itself is in ../release.ts, which `serve` shares). Like every store command it runs here, or
 * in the running `serve` that holds the data folder, so DIR is made absolute before it travels.
 */
import { resolve } from 'node:path'
import { contentOf, type FeedId, formatFeedId, type Msg, parseFeedId } from '@murmur/core'
import type { Command } from '../commands.js'
import { CliError, EXIT } from '../errors.js'
import type { Local } from '../local.js'
import { publishRelease, releases, WEB_APP } from '../release.js'
import { clean, indent, msgJson, when } from '../render.js'

const USAGE =
  'release publish DIR [--app NAME] [--version V] [--notes TEXT] [--entry FILE] [--worker FILE] | list [ID] [--app NAME]'

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined)

/** One release as `release list` shows it. */
interface ReleaseRow {
  id: string
  seq: number
  ts: number
  app: string
  version: string
  files: number
  bytes: number
  /** How many of its files this peer holds as blobs. */
  held: number
  entry: string
  worker: string | null
  notes: string | null
  prev: string | null
}

async function row(local: Local, m: Msg): Promise<ReleaseRow | undefined> {
  const c = contentOf(m, 'release')
  if (!c) return undefined
  let held = 0
  for (const f of c.files) if (await local.store.blobs.has(f.link)) held++
  return {
    id: m.id.toString(),
    seq: m.value.seq,
    ts: m.value.ts,
    app: c.app,
    version: c.version,
    files: c.files.length,
    bytes: c.files.reduce((n, f) => n + f.size, 0),
    held,
    entry: c.entry,
    worker: c.worker ?? null,
    notes: c.notes ?? null,
    prev: c.prev?.toString() ?? null,
  }
}

function feedArg(text: string | undefined, local: Local): FeedId {
  if (text === undefined) return local.keys.publicKey
  try {
    return parseFeedId(text)
  } catch (err) {
    throw new CliError((err as Error).message, EXIT.usage)
  }
}

const size = (n: number) =>
  n < 1024 ? `${n} B` : n < 1048576 ? `${Math.round(n / 1024)} KiB` : `${(n / 1048576).toFixed(1)} MiB`

type Result =
  | ({ action: 'publish' } & ReturnType<typeof msgJson>)
  | { action: 'list'; feed: string; releases: ReleaseRow[] }

/** `murmur release publish DIR` / `murmur release list [ID]`. */
export const release: Command = {
  name: 'release',
  usage: USAGE,
  summary: "publish a built app folder as a signed release on your feed (public), or list a feed's releases",
  options: {
    app: { type: 'string' },
    version: { type: 'string' },
    notes: { type: 'string' },
    entry: { type: 'string' },
    worker: { type: 'string' },
  },
  positionals: [1, 2],
  forward(input) {
    // The running serve has its own working folder: DIR must name the same folder there.
    const [sub, dir] = input.positionals
    const positionals = sub === 'publish' && dir !== undefined ? [sub, resolve(dir)] : input.positionals
    return { positionals, values: input.values }
  },
  async run(local, { positionals, values }): Promise<Result> {
    const [sub, arg] = positionals
    if (sub === 'publish') {
      if (arg === undefined) throw new CliError(`missing DIR\nusage: murmur ${USAGE}`, EXIT.usage)
      const { msg } = await publishRelease(local, resolve(arg), {
        app: str(values.app) ?? WEB_APP,
        version: str(values.version),
        notes: str(values.notes),
        entry: str(values.entry),
        worker: str(values.worker),
      })
      return { action: 'publish', ...msgJson(msg) }
    }
    if (sub === 'list') {
      const feed = feedArg(arg, local)
      const rows: ReleaseRow[] = []
      for await (const m of releases(local.store, feed, str(values.app))) {
        const r = await row(local, m)
        if (r) rows.push(r)
      }
      return { action: 'list', feed: formatFeedId(feed), releases: rows }
    }
    throw new CliError(`usage: murmur ${USAGE}`, EXIT.usage)
  },
  text(r: Result): string {
    if (r.action === 'publish') {
      const c = r.content as { app: string; version: string; files: { size: number }[]; prev?: string }
      const bytes = c.files.reduce((n, f) => n + f.size, 0)
      return [
        `published ${c.app} ${c.version}: ${c.files.length} files, ${size(bytes)} (public)`,
        `id   ${r.id} (seq ${r.seq})`,
        `prev ${c.prev ?? 'none: the first release of this app'}`,
      ].join('\n')
    }
    if (r.releases.length === 0) return `no releases of ${r.feed} here`
    return r.releases
      .map((x) =>
        [
          `${clean(x.app)} ${clean(x.version)} · ${when(x.ts)} · ${x.files} files, ${size(x.bytes)}${
            x.held === x.files ? '' : ` (${x.held} held here)`
          }`,
          ...(x.notes ? [indent(clean(x.notes))] : []),
          indent(x.id),
        ].join('\n'),
      )
      .join('\n\n')
  },
}
