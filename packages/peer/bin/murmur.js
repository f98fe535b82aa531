#!/usr/bin/env node
// The `murmur` command: the compiled CLI lives in dist (built by `npm run build` / `npm ci`).
import('../dist/src/cli.js').then(
  (cli) => cli.main(process.argv.slice(2)).then((code) => process.exit(code)),
  (err) => {
    console.error(`murmur: not built yet (${err.code ?? err.message}); run \`npm run build\` in the repository`)
    process.exit(1)
  },
)
