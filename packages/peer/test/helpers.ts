/** Runs the real `murmur` binary in temporary data folders. */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const BIN = fileURLToPath(new URL('../../bin/murmur.js', import.meta.url))

export interface Run {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs `murmur ...args` to completion (bounded). */
export function murmur(args: string[], opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...opts.env },
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => {
      stdout += d
    })
    child.stderr.on('data', (d) => {
      stderr += d
    })
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`murmur ${args.join(' ')} timed out; stderr: ${stderr}`))
    }, opts.timeoutMs ?? 30_000)
    child.on('exit', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

/** Runs a command that must succeed with --json and returns its parsed output. */
export async function murmurJson<T = Record<string, unknown>>(args: string[]): Promise<T> {
  const r = await murmur([...args, '--json'])
  if (r.code !== 0) throw new Error(`murmur ${args.join(' ')} exited ${r.code}: ${r.stderr}`)
  return JSON.parse(r.stdout) as T
}

/** A temporary data folder, removed by `remove`. */
export async function tempData(): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'murmur-cli-'))
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) }
}

/** Starts a long-running `murmur` (serve), resolving once stdout matches `ready`. */
export function start(
  args: string[],
  ready: RegExp,
  timeoutMs = 30_000,
  env: NodeJS.ProcessEnv = {},
): Promise<{ child: ChildProcess; output: () => string; match: RegExpMatchArray }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    })
    let out = ''
    let err = ''
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`murmur ${args.join(' ')} not ready in ${timeoutMs} ms: ${out} ${err}`))
    }, timeoutMs)
    const check = () => {
      const m = out.match(ready)
      if (m) {
        clearTimeout(timer)
        resolve({ child, output: () => out + err, match: m })
      }
    }
    child.stdout.on('data', (d) => {
      out += d
      check()
    })
    child.stderr.on('data', (d) => {
      err += d
    })
    child.on('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`murmur ${args.join(' ')} exited ${code} before it was ready: ${out} ${err}`))
    })
  })
}

/** Stops a child with SIGINT and waits for it to exit (bounded), returning its exit code. */
export function stop(child: ChildProcess, timeoutMs = 15_000): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve(child.exitCode)
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.once('exit', (code) => {
      clearTimeout(timer)
      resolve(code)
    })
    child.kill('SIGINT')
  })
}
