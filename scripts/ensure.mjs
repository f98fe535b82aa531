#!/usr/bin/env node
// Installs what a fresh clone is missing before `npm test`, `npm start` or `npm run bench`:
// node_modules (npm ci) and, with --browser, Debian's Chromium for the browser tests (never a
// browser download). Plain Node, no dependencies: it runs before anything is installed.
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
export const CHROMIUM = '/usr/bin/chromium'

function run(cmd, args) {
  console.log(`> ${cmd} ${args.join(' ')}`)
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' })
  if (r.status !== 0) {
    console.error(`murmur: \`${cmd} ${args.join(' ')}\` failed (exit ${r.status ?? r.signal})`)
    process.exit(1)
  }
}

/** Runs `npm ci` when node_modules is missing or older than package-lock.json. */
export function ensureModules() {
  const marker = join(root, 'node_modules', '.package-lock.json')
  if (existsSync(marker)) return
  run('npm', ['ci', '--no-audit', '--no-fund'])
}

/** Installs Debian's Chromium when it is missing (as root), else says the one command to run. */
export function ensureChromium() {
  if (existsSync(CHROMIUM)) return
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0
  if (!isRoot) {
    console.error('murmur: the browser tests need Chromium. Run: sudo apt-get install -y chromium')
    process.exit(1)
  }
  run('apt-get', ['update'])
  run('apt-get', ['install', '-y', '--no-install-recommends', 'chromium'])
  if (!existsSync(CHROMIUM)) {
    console.error(`murmur: apt-get installed chromium but ${CHROMIUM} is missing`)
    process.exit(1)
  }
}

/** Type-checks and compiles the whole tree (`tsc -b`). */
export function build() {
  const tsc = join(root, 'node_modules', '.bin', 'tsc')
  try {
    execFileSync(tsc, ['-b'], { cwd: root, stdio: 'inherit' })
  } catch {
    console.error('murmur: the TypeScript build failed (see above)')
    process.exit(1)
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  ensureModules()
  if (process.argv.includes('--browser')) ensureChromium()
  build()
}
