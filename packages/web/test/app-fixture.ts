/**
 * A tiny app built with the real vite.config.ts (its own index.html, a module worker, a lazy
 * chunk, CSS and a public file) so the build and the service worker are tested without the real
 * UI. The page registers /sw.js as the app does and marks on <body> what ran.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'vite'

/** packages/web/vite.config.ts (this file runs from dist/test). */
export const VITE_CONFIG = fileURLToPath(new URL('../../vite.config.ts', import.meta.url))

const FILES: Readonly<Record<string, string>> = {
  'index.html': `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>fixture</title></head>
<body><noscript>needs JavaScript</noscript><script type="module" src="/src/main.ts"></script></body></html>
`,
  'src/main.ts': `import './style.css'
const worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' })
worker.onmessage = (e: MessageEvent<number>) => { document.body.dataset.worker = String(e.data) }
worker.postMessage(20)
void import('./lazy.ts').then((m) => { document.body.dataset.lazy = m.lazy() })
void navigator.serviceWorker.register('/sw.js', { scope: '/' })
document.body.dataset.ready = 'yes'
`,
  'src/worker.ts': `import { twice } from './twice.ts'
self.onmessage = (e: MessageEvent<number>) => { self.postMessage(twice(e.data)) }
`,
  'src/twice.ts': `export const twice = (n: number) => n * 2\n`,
  'src/style.css': `body { color: #222 }\n`,
  'public/robots.txt': `User-agent: *\n`,
}

/** A built fixture app: `out` is what a peer would serve. */
export interface FixtureApp {
  readonly root: string
  readonly out: string
  remove(): Promise<void>
}

/**
 * Writes the fixture sources into a fresh temporary folder and builds them with the real config.
 * `lazy` changes what the lazy chunk returns (another version of the app).
 */
export async function buildFixture(opts: { lazy?: string } = {}): Promise<FixtureApp> {
  const root = await mkdtemp(join(tmpdir(), 'murmur-web-build-'))
  const remove = () => rm(root, { recursive: true, force: true })
  const files = { ...FILES, 'src/lazy.ts': `export const lazy = () => ${JSON.stringify(opts.lazy ?? 'loaded')}\n` }
  try {
    for (const [path, text] of Object.entries(files)) {
      await mkdir(join(root, path, '..'), { recursive: true })
      await writeFile(join(root, path), text)
    }
    const out = join(root, 'dist', 'app')
    await build({ configFile: VITE_CONFIG, root, logLevel: 'silent', build: { outDir: out } })
    return { root, out, remove }
  } catch (err) {
    await remove()
    throw err
  }
}
