#!/usr/bin/env node
// `npm test`: installs what is missing, builds, lints, then runs every test (Node and Chromium)
// with Node's test runner. Extra arguments are passed to `node --test` (e.g. a file filter).
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build, ensureChromium, ensureModules, isolated } from './ensure.mjs'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
ensureModules()
ensureChromium()
build()

const lint = spawnSync(join(root, 'node_modules', '.bin', 'biome'), ['check', '.'], { cwd: root, stdio: 'inherit' })
if (lint.status !== 0) {
  console.error('murmur: lint failed; `npm run format` fixes formatting')
  process.exit(1)
}

// Compiled tests: packages/*/dist/test/**/*.test.js and e2e/dist/**/*.test.js (Node 20 has no glob).
function testsUnder(dir) {
  if (!existsSync(dir)) return []
  return readdirSync(dir, { recursive: true })
    .filter((f) => f.endsWith('.test.js'))
    .map((f) => join(dir, f))
}
const packages = readdirSync(join(root, 'packages'))
const files = process.argv.slice(2).length
  ? process.argv.slice(2)
  : [
      ...packages.flatMap((p) => testsUnder(join(root, 'packages', p, 'dist', 'test'))),
      ...testsUnder(join(root, 'e2e', 'dist')),
    ].sort()
const node = [process.execPath, '--test', '--test-concurrency=2', '--test-timeout=300000', ...files]
const [cmd, ...args] = [...isolated(), ...node]
const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' })
process.exit(r.status ?? 1)
