/**
 * App releases from a folder (DESIGN.md "Web app", service worker as package manager).
 *
 * A release is a `release` message on the publisher's feed that lists every file of a built app
 * as a blob (path, CID, size, MIME type), with the entry page and the service worker script, and
 * links the publisher's previous release of the same app (`prev`), so each author's releases of
 * an app form a chain. Peers that replicate the publisher fetch and host the blobs like images.
 *
 * Publishing reads the folder twice: first it hashes and checks everything (sizes against the
 * blob limit, paths, and the whole message against core's rules and its 8 KiB limit, by signing
 * it once with a throwaway key) before anything is stored; then it stores each blob, checking
 * the bytes still hash to what the release lists. So a refused release leaves nothing behind,
 * and a published one never names a blob this peer does not hold. Publishes of one store run
 * one at a time, so two of them cannot link the same `prev`.
 *
 * `serve` publishes the app it serves ({@link publishServedApp}) when the build differs from its
 * latest own release of {@link WEB_APP}: a fresh install has a release to hand out at once.
 */
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { readdir, readFile, stat } from 'node:fs/promises'
import { join, relative, sep } from 'node:path'
import {
  blobId,
  cidOf,
  contentOf,
  createMsg,
  DAG_CBOR,
  type FeedId,
  generateKeypair,
  isMurmurError,
  isReleasePath,
  LIMITS,
  MAX_MSG_BYTES,
  type Msg,
  type ReleaseContent,
  type ReleaseFile,
  utf8,
} from '@murmur/core'
import type { Store } from '@murmur/store'
import { contentTypeOf } from '@murmur/web/headers'
import { CliError, EXIT } from './errors.js'
import { type Local, nodeSha256 } from './local.js'

/** The app name of Murmur's web app, which `serve` publishes. */
export const WEB_APP = 'murmur-web'
/** The entry page a release names unless told otherwise. */
export const DEFAULT_ENTRY = 'index.html'
/** The service worker a release names when the folder has one (unless told otherwise). */
export const DEFAULT_WORKER = 'sw.js'

/** What to publish; only `app` is required. */
export interface ReleaseOptions {
  readonly app: string
  /** Default: the UTC date and a short hash of the file list, e.g. `2026.11.25+3f2a9c1d`. */
  readonly version?: string | undefined
  readonly notes?: string | undefined
  /** Default {@link DEFAULT_ENTRY}. */
  readonly entry?: string | undefined
  /** Default {@link DEFAULT_WORKER} when the folder has it, else none. */
  readonly worker?: string | undefined
  /** Publish only when the files differ from the latest own release of `app` (what `serve` does). */
  readonly ifChanged?: boolean
}

/** A file of the folder as it will be listed, and where it was read from. */
interface FolderFile extends ReleaseFile {
  readonly file: string
}

const order = (a: { path: string }, b: { path: string }) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)

/**
 * Every regular file under `dir` (recursively; dot-files and dot-folders skipped), hashed, with
 * its MIME type, sorted by path.
 * @throws {CliError} when the folder cannot be read, holds no file, or a file is larger than
 * `maxBlobBytes` or has a name a release cannot list.
 */
export async function readAppFolder(dir: string, maxBlobBytes: number): Promise<FolderFile[]> {
  let entries: Awaited<ReturnType<typeof listEntries>>
  try {
    if (!(await stat(dir)).isDirectory()) throw new CliError(`${dir} is not a folder`)
    entries = await listEntries(dir)
  } catch (err) {
    if (err instanceof CliError) throw err
    const code = (err as NodeJS.ErrnoException).code
    throw new CliError(code === 'ENOENT' ? `there is no folder ${dir}` : `cannot read ${dir}: ${code ?? err}`)
  }
  const found: { path: string; file: string; size: number }[] = []
  for (const e of entries) {
    if (!e.isFile()) continue // folders are walked; symlinks, sockets and the like are not app files
    const file = join(e.parentPath, e.name)
    const path = relative(dir, file).split(sep).join('/')
    if (path.split('/').some((s) => s.startsWith('.'))) continue // dot-files are never served
    if (!isReleasePath(path)) {
      throw new CliError(
        `${path}: a release lists only paths of letters, digits and ._~@+,=- (at most ${LIMITS.releasePathLength} characters); rename the file`,
      )
    }
    const { size } = await stat(file)
    if (size > maxBlobBytes) throw tooLarge(path, size, maxBlobBytes)
    found.push({ path, file, size })
  }
  if (found.length === 0) throw new CliError(`${dir} holds no files to publish`)
  if (found.length > LIMITS.filesPerRelease) throw tooMany(found.length)
  const files: FolderFile[] = []
  for (const f of found.sort(order)) {
    const bytes = await readFile(f.file)
    if (bytes.length > maxBlobBytes) throw tooLarge(f.path, bytes.length, maxBlobBytes)
    files.push({ ...f, size: bytes.length, link: blobId(bytes, nodeSha256), type: contentTypeOf(f.path) })
  }
  return files
}

const tooLarge = (path: string, size: number, max: number) =>
  new CliError(
    `${path} is ${size} bytes: each file of a release is one blob, and a blob is at most ${max} bytes (${mib(max)}) here; split it (e.g. code-split the bundle)`,
  )

const tooMany = (n: number) =>
  new CliError(
    `${n} files are too many for one release (a release is a message of at most ${MAX_MSG_BYTES / 1024} KiB: about 60 files with short names); bundle the app into fewer files`,
  )

function listEntries(dir: string) {
  return readdir(dir, { recursive: true, withFileTypes: true })
}

const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`

/** True when two file lists name the same paths with the same bytes. */
export function sameFiles(a: readonly ReleaseFile[], b: readonly ReleaseFile[]): boolean {
  const key = (files: readonly ReleaseFile[]) =>
    files
      .map((f) => `${f.path}\0${f.link.toString()}`)
      .sort()
      .join('\n')
  return a.length === b.length && key(a) === key(b)
}

/** The default version: the UTC date and a short hash of the file list, e.g. `2026.11.25+3f2a9c1d`. */
export function defaultVersion(files: readonly ReleaseFile[], now = new Date()): string {
  const list = JSON.stringify(files.map((f) => [f.path, f.link.toString()]).sort())
  const hash = createHash('sha256').update(list).digest('hex').slice(0, 8)
  return `${now.getUTCFullYear()}.${now.getUTCMonth() + 1}.${now.getUTCDate()}+${hash}`
}

/** `author`'s releases held here, newest first (all apps, or only `app`). */
export async function* releases(store: Store, author: FeedId, app?: string): AsyncGenerator<Msg> {
  for await (const m of store.messages(author, { reverse: true })) {
    const c = contentOf(m, 'release')
    if (c && (app === undefined || c.app === app)) yield m
  }
}

/** `author`'s latest release of `app` held here. */
export async function latestRelease(store: Store, author: FeedId, app: string): Promise<Msg | undefined> {
  for await (const m of releases(store, author, app)) return m
  return undefined
}

const queues = new WeakMap<Store, Promise<unknown>>()

/** Runs `fn` after every publish of `store` that started before it. */
function serially<T>(store: Store, fn: () => Promise<T>): Promise<T> {
  const run = (queues.get(store) ?? Promise.resolve()).then(fn, fn)
  queues.set(
    store,
    run.catch(() => undefined),
  )
  return run
}

/** The outcome of {@link publishRelease}. */
export interface Published {
  /** The new release, or with `ifChanged`, the latest one when nothing changed. */
  readonly msg: Msg
  readonly published: boolean
}

/**
 * Publishes the files of `dir` as a release of `opts.app` on the local feed (see the module
 * comment for the order of checks and writes).
 * @throws {CliError} when the folder, an option or the resulting message is refused.
 */
export function publishRelease(local: Local, dir: string, opts: ReleaseOptions): Promise<Published> {
  return serially(local.store, async () => {
    const listed = await readAppFolder(dir, local.store.blobs.maxBlobBytes)
    const files: ReleaseFile[] = listed.map(({ path, link, size, type }) => ({ path, link, size, type }))
    const has = (p: string) => files.some((f) => f.path === p)
    const entry = opts.entry ?? DEFAULT_ENTRY
    if (!has(entry))
      throw new CliError(`${dir} has no ${entry}: name the page that starts the app with --entry FILE`, EXIT.usage)
    if (opts.worker !== undefined && !has(opts.worker)) throw new CliError(`${dir} has no ${opts.worker}`, EXIT.usage)
    const worker = opts.worker ?? (has(DEFAULT_WORKER) ? DEFAULT_WORKER : undefined)
    const latest = await latestRelease(local.store, local.keys.publicKey, opts.app)
    const previous = latest && contentOf(latest, 'release')
    if (opts.ifChanged && latest && previous && sameFiles(previous.files, files)) {
      await storeBlobs(local, listed, true) // the same release: only make sure its blobs are here
      return { msg: latest, published: false }
    }
    const content: ReleaseContent = {
      app: opts.app,
      version: opts.version ?? defaultVersion(files),
      files,
      entry,
      ...(worker === undefined ? {} : { worker }),
      ...(opts.notes === undefined ? {} : { notes: opts.notes }),
      ...(latest ? { prev: latest.id } : {}),
    }
    await checkRelease(local, content)
    await storeBlobs(local, listed, false)
    try {
      return { msg: await local.store.publish(local.ed, local.keys, { type: 'release', content }), published: true }
    } catch (err) {
      if (isMurmurError(err)) throw new CliError(err.message, EXIT.failed, { cause: err })
      throw err
    }
  })
}

/**
 * Signs the release once with a throwaway key, at the largest seq and with a prev link, so it is
 * at least as large as the real one will be: core refuses it exactly as every peer would.
 */
async function checkRelease(local: Local, content: ReleaseContent): Promise<void> {
  const probe = await generateKeypair(local.ed)
  const head = { seq: Number.MAX_SAFE_INTEGER - 1, id: cidOf(DAG_CBOR, utf8('probe'), nodeSha256) }
  try {
    await createMsg(local.ed, probe, head, { type: 'release', content, ts: Number.MAX_SAFE_INTEGER }, nodeSha256)
  } catch (err) {
    if (!isMurmurError(err)) throw err
    if (/the limit is \d+/.test(err.message)) throw tooMany(content.files.length)
    throw new CliError(err.message.replace(/^invalid release message: /, 'cannot publish this release: '), EXIT.usage, {
      cause: err,
    })
  }
}

/** Stores each file as a blob (only the missing ones with `onlyMissing`), checking its bytes did not change. */
async function storeBlobs(local: Local, files: readonly FolderFile[], onlyMissing: boolean): Promise<void> {
  for (const f of files) {
    if (onlyMissing && (await local.store.blobs.has(f.link))) continue
    const bytes = new Uint8Array(await readFile(f.file))
    if (!blobId(bytes, nodeSha256).equals(f.link)) throw new CliError(`${f.path} changed while publishing: try again`)
    await local.store.blobs.put(bytes)
  }
}

/**
 * What `serve` does on start: publish the app folder it serves as a release of {@link WEB_APP}
 * on the peer's own feed, unless the latest such release lists the same files. Never throws:
 * a peer that cannot publish still serves. Says one line (through `say`) when it published,
 * skipped an unbuilt app, or failed.
 */
export async function publishServedApp(
  local: Local,
  appDir: string | undefined,
  say: (line: string) => void,
): Promise<Published | undefined> {
  if (appDir === undefined || !existsSync(join(appDir, DEFAULT_ENTRY))) {
    say(
      `the web app is not built (no ${appDir ? join(appDir, DEFAULT_ENTRY) : 'app folder'}): no app release published`,
    )
    return undefined
  }
  try {
    const r = await publishRelease(local, appDir, { app: WEB_APP, ifChanged: true })
    const c = contentOf(r.msg, 'release')
    if (r.published) say(`published the web app as release ${c?.version} (${r.msg.id.toString()})`)
    return r
  } catch (err) {
    say(`could not publish the web app as a release: ${(err as Error).message}`)
    return undefined
  }
}
