/**
 * What `require('buffer')` gives abstract-level and level-transcoder in the web app's build:
 * nothing (vite.config.ts resolves `buffer` here for those two and fails the build for any other
 * importer). They expect exactly that when a bundler leaves the polyfill out
 * (`require('buffer') || {}`), and touch Buffer only for the 'buffer', 'hex' and 'base64'
 * encodings and for stores that hold Buffers natively. The app's store is browser-level
 * (IndexedDB), which holds Uint8Arrays ('view'), and @murmur/store opens every database and
 * sublevel with the 'view' encoding, so none of those paths runs.
 */
module.exports = undefined
