#!/usr/bin/env node
// `npm start` will run the always-on peer (`murmur serve` on ./data). That peer is not built yet.
console.error('murmur: the always-on peer is not built yet (it comes with the replication and peer work).')
console.error('For now, `npm test` runs the core and store, and `npm run bench` measures them.')
process.exit(1)
