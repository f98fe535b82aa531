/**
 * @murmur/store — signed feeds in any abstract-level database (classic-level, browser-level,
 * memory-level) and the kappa views rebuilt from them.
 */
export { BlobStore, type BlobStoreOptions, DEFAULT_MAX_BLOB_BYTES } from './blobs.js'
export type { FeedState, LogEntry } from './codec.js'
export { type AppendResult, type Refusal, Store, type StoreOptions } from './store.js'
export type { Db, IndexedMsg, Rows, RowWriter, View } from './view.js'
export * from './views/index.js'
