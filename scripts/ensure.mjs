#!/usr/bin/env node
// Installs what a fresh clone is missing before `npm test`, `npm start` or `npm run bench`:
// node_modules (npm ci) and, with --browser, Debian's Chromium for the browser tests (never a
// browser download), then builds: `tsc -b`, and the web app (Vite) when it is out of date.
// `npm run build` is this script. Plain Node, no dependencies: it runs before anything is installed.
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
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

/** Type-checks and compiles the whole tree (`tsc -b`), then builds the web app if it is out of date. */
export function build() {
  const tsc = join(root, 'node_modules', '.bin', 'tsc')
  try {
    execFileSync(tsc, ['-b'], { cwd: root, stdio: 'inherit' })
  } catch {
    console.error('murmur: the TypeScript build failed (see above)')
    process.exit(1)
  }
  buildApp()
}

const web = join(root, 'packages', 'web')

/** The newest modification time (ms) of `path` and everything under it; 0 when it is missing. */
function newest(path) {
  if (!existsSync(path)) return 0
  const stat = statSync(path)
  if (!stat.isDirectory()) return stat.mtimeMs
  // Folders count too: deleting a file changes its folder's time.
  let t = stat.mtimeMs
  for (const name of readdirSync(path, { recursive: true })) t = Math.max(t, statSync(join(path, name)).mtimeMs)
  return t
}

/** What the app is made from: its sources and config, the compiled @murmur packages it imports, node_modules. */
function appInputs() {
  const deps = Object.keys(JSON.parse(readFileSync(join(web, 'package.json'), 'utf8')).dependencies ?? {})
  return [
    ...['src', 'public', 'index.html', 'vite.config.ts', 'package.json', 'tsconfig.json'].map((p) => join(web, p)),
    ...deps.filter((d) => d.startsWith('@murmur/')).map((d) => join(root, 'packages', d.slice(8), 'dist', 'src')),
    join(root, 'node_modules', '.package-lock.json'),
  ]
}

/**
 * Builds the web app into packages/web/dist/app (Vite; after `tsc -b`, since the app imports the
 * compiled @murmur packages) when that is missing or older than anything it is made from.
 * app-files.json is the build's last file, so its time is the build's.
 */
export function buildApp() {
  const done = join(web, 'dist', 'app', 'app-files.json')
  if (existsSync(done) && Math.max(...appInputs().map(newest)) <= statSync(done).mtimeMs) return
  console.log('> vite build (packages/web → packages/web/dist/app)')
  try {
    execFileSync(join(root, 'node_modules', '.bin', 'vite'), ['build', '--logLevel', 'warn'], {
      cwd: web,
      stdio: 'inherit',
    })
  } catch {
    console.error('murmur: the web app build failed (see above)')
    process.exit(1)
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  ensureModules()
  if (process.argv.includes('--browser')) ensureChromium()
  build()
}

/**
 * The command prefix that runs tests (and the benchmarks) in a network namespace of their own (Linux): loopback, plus one veth pair with a
 * private address and a default route that leads nowhere, because WebRTC gathers ICE candidates
 * only on an interface other than loopback. So no test can reach beyond this machine, and the
 * browser-to-browser tests see the same network on every machine. Where namespaces cannot be
 * made (not Linux, no `unshare`/`ip`, no permission), it is empty: they run as they are, with a
 * warning. `MURMUR_TEST_NETNS=0` turns it off.
 */
export function isolated() {
  if (process.platform !== 'linux' || process.env.MURMUR_TEST_NETNS === '0') return []
  const setup = [
    'ip link set lo up',
    'ip link add murmur0 type veth peer name murmur1',
    'ip addr add 10.213.0.1/24 dev murmur0',
    'ip link set murmur0 up',
    'ip link set murmur1 up',
    'ip route add default via 10.213.0.254 dev murmur0',
  ].join(' && ')
  // Root makes a network namespace; anyone else a user namespace (mapped to root) with one.
  const unshare = ['unshare', process.getuid?.() === 0 ? '-n' : '-rn']
  const probe = spawnSync(unshare[0], [...unshare.slice(1), 'sh', '-c', setup], { stdio: 'pipe' })
  if (probe.status !== 0) {
    const why = probe.error?.message ?? probe.stderr?.toString().trim()
    console.warn(`murmur: running the tests without a network namespace of their own (${why}).`)
    console.warn("murmur: WebRTC tests then use this machine's own interfaces (traffic stays on the machine).")
    return []
  }
  return [...unshare, 'sh', '-c', `${setup} && exec "$@"`, 'sh']
}
