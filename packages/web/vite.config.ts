/**
 * Builds the browser app into dist/app, beside (never over) tsc's dist/src and dist/test:
 * index.html and everything it imports under assets/ with content-hashed names, the engine
 * worker as an ES module, and two files at fixed names at the root:
 * - sw.js, the service worker (src/sw.ts), built on its own into one classic script that
 *   imports nothing, so it needs no module-worker support and shares no chunk with the page;
 * - app-files.json, every file's path, sha-256 (hex) and size (sw.js included), sorted by path,
 *   which the service worker precaches and verifies on its first install.
 * Nothing of the app build goes into sw.js: its bytes change only when its own code (src/sw.ts,
 * src/headers.ts) does, so the browser's own re-fetch of the worker script does not install a
 * new package manager at every build; new builds reach people as signed releases. The same
 * sources give the same bytes: no timestamps, no absolute paths, sorted lists, no source maps.
 * No inline script or style either, so the app runs under the strict CSP in src/headers.ts.
 */
import { createHash } from 'node:crypto'
import { readdir, readFile, writeFile } from 'node:fs/promises'
import { join, relative, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build, defineConfig, type Plugin, type ResolvedConfig } from 'vite'

const ROOT = fileURLToPath(new URL('.', import.meta.url))
const SW_SOURCE = join(ROOT, 'src', 'sw.ts')
const SW = 'sw.js'
const LIST = 'app-files.json'
const TARGET = 'es2022'

interface AppFile {
  path: string
  sha256: string
  size: number
}

const sha256Hex = (bytes: Uint8Array | string) => createHash('sha256').update(bytes).digest('hex')

/** Every file under `dir` but `skip`, as sorted `/`-separated paths with hash and size. */
async function listFiles(dir: string, skip: ReadonlySet<string>): Promise<AppFile[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true })
  const files: AppFile[] = []
  for (const entry of entries) {
    if (!entry.isFile()) continue
    const path = relative(dir, join(entry.parentPath, entry.name)).split(sep).join('/')
    if (skip.has(path)) continue
    const bytes = await readFile(join(dir, path))
    files.push({ path, sha256: sha256Hex(bytes), size: bytes.length })
  }
  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
}

/** Builds src/sw.ts into one classic script that depends on nothing of the app; returns its code. */
async function buildServiceWorker(config: ResolvedConfig): Promise<string> {
  const out = await build({
    configFile: false,
    root: ROOT,
    mode: config.mode,
    logLevel: 'warn',
    publicDir: false,
    build: {
      write: false,
      target: TARGET,
      minify: config.build.minify,
      sourcemap: false,
      modulePreload: false,
      rolldownOptions: { input: SW_SOURCE, output: { format: 'iife', entryFileNames: SW } },
    },
  })
  const outputs = (Array.isArray(out) ? out : [out]).flatMap((o) => ('output' in o ? o.output : []))
  const chunks = outputs.filter((o) => o.type === 'chunk')
  if (chunks.length !== 1 || outputs.length !== 1 || chunks[0]?.fileName !== SW)
    throw new Error(`the service worker must build into ${SW} alone, got: ${outputs.map((o) => o.fileName).join(', ')}`)
  return chunks[0].code
}

/**
 * Modules of the browser build swapped for smaller ones, each only for the importers it is
 * proven safe for (what `resolve.alias` does, scoped by importer); any other importer of them
 * fails the build, so a new dependency never gets a stub it was not checked against.
 * - `sodium-universal` (sodium-javascript in browsers: ~100 KB of the worker, and WebAssembly the
 *   CSP would have to allow) becomes src/sodium-browser.ts for noise-handshake, which needs only
 *   ChaCha20-Poly1305 and BLAKE2b (test/sodium-browser.test.ts compares them with sodium-native).
 * - `buffer` (the ~27 KB polyfill) becomes nothing for abstract-level and level-transcoder, which
 *   use it only for encodings the app never opens a store with (see src/no-buffer.cjs).
 */
const SUBSTITUTES: readonly { id: string; by: string; importers: RegExp }[] = [
  {
    id: 'sodium-universal',
    by: join(ROOT, 'src', 'sodium-browser.ts'),
    importers: /[\\/]node_modules[\\/]noise-handshake[\\/]/,
  },
  {
    id: 'buffer',
    by: join(ROOT, 'src', 'no-buffer.cjs'),
    importers: /[\\/]node_modules[\\/](abstract-level|level-transcoder)[\\/]/,
  },
]

/** Resolves the {@link SUBSTITUTES}; in `plugins` and `worker.plugins` both. */
function substitutes(): Plugin {
  return {
    name: 'murmur:substitutes',
    enforce: 'pre',
    resolveId(source, importer) {
      const swap = SUBSTITUTES.find((s) => s.id === source)
      if (swap === undefined) return null
      if (importer !== undefined && swap.importers.test(importer)) return swap.by
      return this.error(
        `${importer ?? 'an entry'} imports '${source}', which this build swaps for ${relative(ROOT, swap.by)} ` +
          `only where that is known to be safe (${swap.importers}): check it, then allow it in vite.config.ts`,
      )
    },
  }
}

/** Writes sw.js and app-files.json once the app's files are in the output folder. */
function appFiles(): Plugin {
  let config: ResolvedConfig
  return {
    name: 'murmur:app-files',
    apply: 'build',
    configResolved(resolved) {
      config = resolved
    },
    writeBundle: {
      order: 'post',
      sequential: true,
      async handler() {
        const outDir = config.build.outDir
        const sw = Buffer.from(await buildServiceWorker(config))
        await writeFile(join(outDir, SW), sw)
        const files = await listFiles(outDir, new Set([LIST]))
        await writeFile(join(outDir, LIST), `${JSON.stringify({ files }, null, 2)}\n`)
        config.logger.info(
          `${LIST}: ${files.length} files; ${SW}: ${sw.length} bytes, sha-256 ${sha256Hex(sw).slice(0, 16)}…`,
        )
      },
    },
  }
}

export default defineConfig({
  root: ROOT,
  base: '/',
  build: {
    outDir: 'dist/app',
    emptyOutDir: true,
    target: TARGET,
    sourcemap: false,
    // Every browser that runs the app supports modulepreload; the polyfill is not needed.
    modulePreload: { polyfill: false },
    // No data: URLs for fonts or styles: every asset is a file the CSP's 'self' allows.
    assetsInlineLimit: 0,
    reportCompressedSize: false,
  },
  worker: { format: 'es', plugins: () => [substitutes()] },
  plugins: [substitutes(), appFiles()],
})
