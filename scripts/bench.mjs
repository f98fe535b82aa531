#!/usr/bin/env node
// `npm run bench`: installs and builds what is missing (as `npm test` does), then runs every
// benchmark (bench/src/run.ts) in a network namespace of its own, like the tests: the WebRTC
// benchmark needs an interface other than loopback, and nothing may leave the machine.
// Arguments are passed on (--quick, --only=store|sync|web|webrtc).
import { spawnSync } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build, ensureChromium, ensureModules, isolated } from './ensure.mjs'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
ensureModules()
ensureChromium()
build()
const [cmd, ...args] = [
  ...isolated(),
  process.execPath,
  '--expose-gc',
  // As `npm start` runs a peer (scripts/start.mjs says why); the serve and fresh peer processes
  // of the sync benchmark get it too (bench/src/sync.ts).
  '--max-semi-space-size=32',
  join(root, 'bench', 'dist', 'run.js'),
  ...process.argv.slice(2),
]
const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' })
process.exit(r.status ?? 1)
