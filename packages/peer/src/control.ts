/**
 * The control socket: while `serve` holds the data folder, the other commands reach it through
 * a Unix socket in the data folder (mode 0600: only this user can connect), one JSON request
 * and one JSON answer per connection. So a person never has to stop their peer to post.
 */
import { chmod, rm } from 'node:fs/promises'
import { createConnection, createServer, type Server } from 'node:net'
import { COMMANDS, type Command, type Input, type Live } from './commands.js'
import { CliError, EXIT } from './errors.js'
import type { Local } from './local.js'

interface Request {
  command: string
  input: Input
}

type Answer = { ok: true; result: unknown } | { ok: false; message: string; exitCode: number }

const MAX_REQUEST = 1 << 20

/** Serves the store commands on `path` for a running peer; returns the function that stops it. */
export async function serveControl(path: string, local: Local, live: Live): Promise<() => Promise<void>> {
  await rm(path, { force: true }) // a socket left by a peer that crashed (we hold the folder's lock)
  const server: Server = createServer((socket) => {
    let buf = ''
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => {
      buf += chunk
      if (buf.length > MAX_REQUEST) socket.destroy()
      const nl = buf.indexOf('\n')
      if (nl < 0) return
      const line = buf.slice(0, nl)
      buf = ''
      void answer(line).then((a) => socket.end(`${JSON.stringify(a)}\n`))
    })
    socket.on('error', () => socket.destroy())
  })
  async function answer(line: string): Promise<Answer> {
    let req: Request
    try {
      req = JSON.parse(line) as Request
    } catch {
      return { ok: false, message: 'bad control request', exitCode: EXIT.usage }
    }
    const cmd: Command | undefined = COMMANDS.get(req.command)
    if (!cmd) return { ok: false, message: `unknown command ${req.command}`, exitCode: EXIT.usage }
    try {
      return { ok: true, result: await cmd.run(local, req.input, live) }
    } catch (err) {
      if (err instanceof CliError) return { ok: false, message: err.message, exitCode: err.exitCode }
      return { ok: false, message: (err as Error).message, exitCode: EXIT.failed }
    }
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    // Create the socket with no permissions for others from the start, then make sure.
    const old = process.umask(0o177)
    server.listen(path, () => {
      process.umask(old)
      resolve()
    })
  })
  await chmod(path, 0o600)
  return async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()))
    await rm(path, { force: true })
  }
}

/**
 * Runs a store command in the peer that holds the data folder.
 * @throws {CliError} with the command's own message and exit code, or `locked` when no peer
 * answers on the socket (the folder is held by something else).
 */
export function callControl(path: string, command: string, input: Input, timeoutMs = 30_000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(path)
    let buf = ''
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new CliError('the running murmur peer did not answer in time', EXIT.failed))
    }, timeoutMs)
    socket.setEncoding('utf8')
    socket.on('connect', () => socket.write(`${JSON.stringify({ command, input })}\n`))
    socket.on('data', (d: string) => {
      buf += d
    })
    socket.on('end', () => {
      clearTimeout(timer)
      try {
        const a = JSON.parse(buf) as Answer
        if (a.ok) resolve(a.result)
        else reject(new CliError(a.message, a.exitCode))
      } catch {
        reject(new CliError('the running murmur peer gave a garbled answer', EXIT.failed))
      }
    })
    socket.on('error', () => {
      clearTimeout(timer)
      reject(new CliError('the data folder is in use by another murmur process that does not answer', EXIT.locked))
    })
  })
}
