/**
 * What the engine keeps beside the store, in its own small database (kv.ts): the secret seed
 * under its own key, and the settings. The seed never leaves the engine except as the backup
 * text the person asks for.
 */
import type { KeyValue } from './kv.js'

/** After a restore: whether the feed's head is known from a peer, or the person overrode the wait. */
export interface RestoreState {
  readonly headKnown: boolean
  readonly overridden: boolean
}

/** The engine's persistent settings. */
export interface Settings {
  /** Configured peer URLs; undefined means the default (the serving peer). */
  readonly peers?: readonly string[]
  /** The person saved their backup (or restored from one). */
  readonly backedUp: boolean
  /** Set by a restore. */
  readonly restore?: RestoreState
  /** False when the person turned direct links to other browsers (WebRTC) off; default on. */
  readonly directLinks?: boolean
  /** STUN servers and trackers the person added for direct links (none by default). */
  readonly stun?: readonly string[]
  readonly trackers?: readonly string[]
}

const SEED = 'seed'
const SETTINGS = 'settings'

/** The stored 32-byte seed, if an identity was made or restored here. */
export async function loadSeed(kv: KeyValue): Promise<Uint8Array | undefined> {
  const v = await kv.get(SEED)
  return v instanceof Uint8Array && v.length === 32 ? v : undefined
}

/** Stores the seed (durably, before anything is signed with it). */
export function saveSeed(kv: KeyValue, seed: Uint8Array): Promise<void> {
  return kv.put(SEED, seed.slice())
}

/** The stored settings, or the defaults. */
export async function loadSettings(kv: KeyValue): Promise<Settings> {
  const v = (await kv.get(SETTINGS)) as Partial<Settings> | undefined
  const peers = Array.isArray(v?.peers) ? v.peers.filter((p): p is string => typeof p === 'string') : undefined
  const restore = v?.restore
  return {
    backedUp: v?.backedUp === true,
    ...(peers ? { peers } : {}),
    ...(v?.directLinks === false ? { directLinks: false } : {}),
    ...(Array.isArray(v?.stun) ? { stun: v.stun.filter((x): x is string => typeof x === 'string') } : {}),
    ...(Array.isArray(v?.trackers) ? { trackers: v.trackers.filter((x): x is string => typeof x === 'string') } : {}),
    ...(restore && typeof restore === 'object'
      ? { restore: { headKnown: restore.headKnown === true, overridden: restore.overridden === true } }
      : {}),
  }
}

/** Stores the settings. */
export function saveSettings(kv: KeyValue, settings: Settings): Promise<void> {
  return kv.put(SETTINGS, settings)
}
