/**
 * The `murmur serve` process of the replication benchmark, seen from outside: its data folder
 * built the way `murmur init` and a long-lived peer would leave it, the real CLI spawned on it,
 * and its control socket spoken to directly (spawning `murmur post` per post would time Node's
 * start-up, not replication).
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdir, open } from 'node:fs/promises'
import { createConnection } from 'node:net'
import { join } from 'node:path'
import { type Ed25519, type FeedId, formatBackup, keypairFromSeed, toHex } from '@murmur/core'
import { Store } from '@murmur/store'
import { ClassicLevel } from 'classic-level'
import { nodeSha256 } from './store.js'
import { readWorkload, validateChunk } from './workload.js'

/** What {@link prepareServe} leaves: the serving peer's id and every author of the workload. */
export interface PreparedServe {
  readonly id: FeedId
  readonly authors: FeedId[]
  readonly messages: number
}

/**
 * Makes a data folder at `dir` (the layout of packages/peer: `secret` holds the backup text of
 * a new seed, mode 0600; `db` the classic-level store) holding the workload at `file`, appended
 * with full validation and indexed, as a peer that has been online for a while would have it.
 */
export async function prepareServe(ed: Ed25519, dir: string, file: string): Promise<PreparedServe> {
  await mkdir(dir, { recursive: true, mode: 0o700 })
  const seed = globalThis.crypto.getRandomValues(new Uint8Array(32))
  const keys = await keypairFromSeed(ed, seed)
  const secret = await open(join(dir, 'secret'), 'wx', 0o600)
  try {
    await secret.writeFile(`${formatBackup(seed)}\n`)
  } finally {
    await secret.close()
  }
  const db = new ClassicLevel<Uint8Array, Uint8Array>(join(dir, 'db'), { keyEncoding: 'view', valueEncoding: 'view' })
  const store = await Store.open(db, { me: keys.publicKey, autoIndex: false })
  const authors = new Map<string, FeedId>()
  let messages = 0
  try {
    for await (const chunk of readWorkload(file, 1000)) {
      const verified = await validateChunk(ed, chunk, nodeSha256)
      for (const m of verified) authors.set(toHex(m.value.author), m.value.author)
      const results = await store.appendMany(verified)
      if (results.some((r) => r.kind !== 'appended')) throw new Error('the workload did not append cleanly')
      messages += verified.length
    }
    await store.index()
  } finally {
    await store.close()
  }
  return { id: keys.publicKey, authors: [...authors.values()], messages }
}

/** A running `murmur serve`. */
export interface ServeProcess {
  readonly pid: number
  /** The WebSocket URL from its `--json` ready output. */
  readonly ws: string
  /** Its control socket (packages/peer paths.ts: `DATA/murmur.sock` when the path is short). */
  readonly socket: string
  /** SIGTERM, then waits for it to exit. @throws when it exits with an error. */
  stop(): Promise<void>
}

const READY_TIMEOUT_MS = 30_000

/**
 * Spawns `node [nodeArgs] <bin> serve --port 0 --json --data DIR` and resolves once its ready output (one
 * JSON object, possibly over several lines) has given the WebSocket URL.
 * @throws when it exits or stays silent for {@link READY_TIMEOUT_MS} before that.
 */
export async function spawnServe(bin: string, dir: string, nodeArgs: string[] = []): Promise<ServeProcess> {
  const socket = join(dir, 'murmur.sock')
  // Longer paths make the CLI put its socket in the temp folder under a hash; a bench temp
  // folder is always short, so that rule is not copied here.
  if (Buffer.byteLength(socket) > 100) throw new Error(`the data folder path is too long for a socket: ${dir}`)
  const child = spawn(
    process.execPath,
    [...nodeArgs, bin, 'serve', '--port', '0', '--json', '--data', dir, '--app', join(dir, 'no-app')],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d
  })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  const ws = await new Promise<string>((resolve, reject) => {
    let out = ''
    let settled = false
    const settle = (err: Error | undefined, url = ''): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      if (err) {
        child.kill('SIGKILL')
        reject(err)
      } else resolve(url)
    }
    const timer = setTimeout(() => settle(new Error('murmur serve did not say it was ready in time')), READY_TIMEOUT_MS)
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      if (settled) return
      out += d
      let ready: { ws?: unknown }
      try {
        ready = JSON.parse(out) as { ws?: unknown }
      } catch {
        return // not a whole object yet
      }
      if (typeof ready.ws === 'string') settle(undefined, ready.ws)
      else settle(new Error(`murmur serve's ready output has no ws URL: ${out}`))
    })
    void exited.then((code) => settle(new Error(`murmur serve exited (${code}) before it was ready: ${stderr.trim()}`)))
  })
  return {
    pid: child.pid as number,
    ws,
    socket,
    async stop() {
      child.kill('SIGTERM')
      const code = await exited
      if (code !== 0) throw new Error(`murmur serve exited with ${code}: ${stderr.trim()}`)
    },
  }
}

/**
 * Runs a store command in the serving peer over its control socket (packages/peer control.ts:
 * one JSON request line, one JSON answer, then the socket ends).
 * @throws when the peer answers with an error, garbles the answer, or does not answer in time.
 */
export function callServe(
  socket: string,
  command: string,
  input: { positionals: string[]; values: Record<string, string | boolean> },
  timeoutMs = 10_000,
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const conn = createConnection(socket)
    let buf = ''
    const timer = setTimeout(() => {
      conn.destroy()
      reject(new Error(`murmur serve did not answer ${command} within ${timeoutMs} ms`))
    }, timeoutMs)
    conn.setEncoding('utf8')
    conn.on('connect', () => conn.write(`${JSON.stringify({ command, input })}\n`))
    conn.on('data', (d: string) => {
      buf += d
    })
    conn.on('end', () => {
      clearTimeout(timer)
      try {
        const a = JSON.parse(buf) as { ok: boolean; result?: unknown; message?: string }
        if (a.ok) resolve(a.result)
        else reject(new Error(`murmur serve refused ${command}: ${a.message}`))
      } catch (cause) {
        reject(new Error(`murmur serve garbled its answer to ${command}`, { cause }))
      }
    })
    conn.on('error', (cause) => {
      clearTimeout(timer)
      reject(new Error(`cannot reach murmur serve's control socket: ${cause.message}`, { cause }))
    })
  })
}

/** Resolves with `child`'s exit code once it exits, or undefined if it has not within `timeoutMs`. */
export function exitOf(child: ChildProcess, timeoutMs: number): Promise<number | null | undefined> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode)
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(undefined), timeoutMs)
    child.once('exit', (code) => {
      clearTimeout(timer)
      resolve(code)
    })
  })
}
