/**
 * Checks of what the UI passes in. The page is trusted code, but its arguments cross a
 * structured-clone boundary untyped, and ids may come from links people paste: every bad
 * argument is an `INVALID_ARGUMENT` with a message a person can read, never a crash deeper in.
 */
import { type CID, DAG_CBOR, type FeedId, isMurmurCid, parseCid, parseFeedId, RAW } from '@murmur/core'
import { EngineFailure } from './errors.js'

/** A feed id from its text form. */
export function feedArg(text: unknown): FeedId {
  if (typeof text !== 'string') throw invalid('A person is named by their id (@…ed25519).')
  try {
    return parseFeedId(text)
  } catch {
    throw invalid(`That is not a person's id: ${JSON.stringify(text.slice(0, 60))} (expected @….ed25519).`)
  }
}

/** A message id (CIDv1, dag-cbor) from its text form. */
export function msgArg(text: unknown): CID {
  return cidArg(text, DAG_CBOR, 'message')
}

/** A blob id (CIDv1, raw) from its text form. */
export function blobArg(text: unknown): CID {
  return cidArg(text, RAW, 'image')
}

function cidArg(text: unknown, codec: number, what: string): CID {
  let cid: CID | undefined
  try {
    cid = typeof text === 'string' ? parseCid(text) : undefined
  } catch {
    cid = undefined
  }
  if (cid === undefined || !isMurmurCid(cid, codec)) {
    throw invalid(
      `That is not ${what === 'image' ? 'an' : 'a'} ${what} id: ${JSON.stringify(String(text).slice(0, 60))}.`,
    )
  }
  return cid
}

/** A page size: 1 to `max`, `fallback` when absent. */
export function limitArg(v: unknown, fallback: number, max: number): number {
  if (v === undefined) return fallback
  if (!Number.isSafeInteger(v) || (v as number) < 1) throw invalid('A page size is a whole number from 1.')
  return Math.min(v as number, max)
}

/** A string of at most `max` UTF-16 units (what core's schema counts). */
export function textArg(v: unknown, what: string, max = Number.POSITIVE_INFINITY): string {
  if (typeof v !== 'string') throw invalid(`The ${what} must be text.`)
  if (v.length > max) throw new EngineFailure('TOO_LARGE', `The ${what} is too long: at most ${max} characters.`)
  return v
}

/** A boolean. */
export function boolArg(v: unknown, what: string): boolean {
  if (typeof v !== 'boolean') throw invalid(`${what} must be true or false.`)
  return v
}

/** An `INVALID_ARGUMENT` failure. */
export function invalid(message: string): EngineFailure {
  return new EngineFailure('INVALID_ARGUMENT', message)
}
