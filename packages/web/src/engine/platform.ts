/**
 * The platform parts the engine is given (STYLE: I/O comes in through small interfaces; one
 * thin file wires the defaults): the ed25519 backend, the store's database, the small
 * key-value store for the seed and settings, the origin it was served from, fetch, WebSocket
 * and the storage manager. {@link browserPlatform} wires the browser's own.
 */
import { createWebCryptoEd25519, type Ed25519 } from '@murmur/core'
import type { WebSocketConstructor } from '@murmur/net'
import type { Db } from '@murmur/store'
import { IdbLevel } from '@murmur/store/browser'
import { type KeyValue, openIdbKeyValue } from './kv.js'
import type { RtcBridge } from './rtc.js'

/** What the engine runs on. */
export interface EnginePlatform {
  /** Signs this device's messages and verifies everything received. */
  readonly ed: Ed25519
  /** Makes the store's database; called once, by the engine that holds the lock, when it opens the store. */
  openDb(): Db
  /** Where the seed and settings live. */
  readonly kv: KeyValue
  /** The origin the app was served from (`https://host`): its peer is the default one. */
  readonly origin: string
  /** Fetches the serving peer's `/.well-known/murmur.json`. */
  readonly fetch: (url: string, init?: { signal?: AbortSignal }) => Promise<Response>
  /** The WebSocket class (default: the global one). */
  readonly WebSocket?: WebSocketConstructor
  /** `navigator.storage`, where there is one (a worker may lack `persist`). */
  readonly storage?: Partial<Pick<StorageManager, 'persist' | 'persisted'>>
  /** Cache Storage, where the app's releases are cached (absent: releases are not cached). */
  readonly caches?: CacheStorage
  /** Calls `fn` whenever the device comes back online; returns the function that stops it. */
  readonly onOnline?: (fn: () => void) => () => void
  /** The page that makes WebRTC connections for this worker (absent: no browser-to-browser links). */
  readonly rtc?: RtcBridge
}

/** Options of {@link browserPlatform}. */
export interface BrowserPlatformOptions {
  /** The store's IndexedDB name (default `murmur`). */
  readonly dbName?: string
  /** The seed and settings' IndexedDB name (default `murmur-identity`). */
  readonly kvName?: string
  /** The serving origin (default `location.origin`). */
  readonly origin?: string
  /** The page that makes WebRTC connections for this worker. */
  readonly rtc?: RtcBridge
}

/** The browser's parts: WebCrypto, IndexedDB, `location`, `fetch`, `WebSocket`, `navigator.storage`. */
export async function browserPlatform(opts: BrowserPlatformOptions = {}): Promise<EnginePlatform> {
  const dbName = opts.dbName ?? 'murmur'
  return {
    ed: createWebCryptoEd25519(globalThis.crypto.subtle),
    // The one place the store's database is made: IndexedDB with one-shot batches.
    openDb: () => new IdbLevel(dbName),
    kv: await openIdbKeyValue(opts.kvName ?? 'murmur-identity'),
    origin: opts.origin ?? globalThis.location.origin,
    fetch: (url, init) => globalThis.fetch(url, init),
    storage: globalThis.navigator?.storage,
    ...(globalThis.caches ? { caches: globalThis.caches } : {}),
    ...(opts.rtc ? { rtc: opts.rtc } : {}),
    onOnline: (fn) => {
      globalThis.addEventListener('online', fn)
      return () => globalThis.removeEventListener('online', fn)
    },
  }
}
