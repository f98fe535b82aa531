#!/usr/bin/env node
// `npm start`: the always-on peer on ./data. Installs and builds what is missing, makes an
// identity on first start, then runs `murmur serve` on a fixed port (so the web app's origin,
// and with it the browser's storage, stays the same between starts). Extra arguments go to serve.
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build, ensureModules } from './ensure.mjs'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const bin = join(root, 'packages', 'peer', 'bin', 'murmur.js')
const data = join(root, 'data')

ensureModules()
build()

// A young generation of 32 MB instead of V8's default: a peer decodes and indexes many small,
// short-lived objects, and with the larger nursery far fewer of them are copied (indexing runs
// about a fifth faster in `npm run bench`). Set the same in NODE_OPTIONS when running `murmur serve`
// from a service manager.
const NODE_FLAGS = ['--max-semi-space-size=32']

function murmur(args, stdio = 'inherit') {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...NODE_FLAGS, bin, ...args], { cwd: root, stdio })
    for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig))
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 0 : 1)))
  })
}

if (!existsSync(join(data, 'secret'))) {
  const code = await murmur(['init', '--data', data])
  if (code !== 0) process.exit(code)
}
const extra = process.argv.slice(2)
const port = extra.includes('--port') ? [] : ['--port', process.env.PORT ?? '8420']
process.exit(await murmur(['serve', '--data', data, ...port, ...extra]))
