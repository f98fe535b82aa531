/**
 * The engine in a real page, bundled by esbuild, for the engine tests (../engine*.test.ts).
 * Either in-page ({@link openInPage}: the Engine served over a MessageChannel with the same RPC
 * the worker uses) or as the app runs it ({@link connectWorker}: `connectEngine()` starts the
 * engine worker, which joins the election of the origin's engine workers).
 *
 * Calls cross from Node as JSON, so {@link call} encodes bytes: an argument `{ $bytes: n }`
 * becomes n bytes (a repeating pattern), and a Uint8Array result comes back as
 * `{ $bytes: length, sum }`. Failures come back as values, never thrown, so the test can
 * check their codes.
 */
import type { EngineEvent, EngineMethod } from '../../src/api.js'
import { Engine } from '../../src/engine/engine.js'
import { isEngineError } from '../../src/engine/errors.js'
import { browserPlatform } from '../../src/engine/platform.js'
import { callApi, connectEngine, type EngineClient, serveApi } from '../../src/rpc.js'

/** What {@link call} returns. */
export type CallResult = { ok: true; value: unknown } | { ok: false; code: string; message: string }

// One client per page (a page is one tab of one test).
let client: EngineClient | undefined
let engine: Engine | undefined
let stopServing: (() => void) | undefined
const events: EngineEvent[] = []

/** Opens an Engine in this page (no worker) and connects to it through the RPC. */
export async function openInPage(): Promise<void> {
  if (client) throw new Error('already open')
  engine = await Engine.open(await browserPlatform())
  const { port1, port2 } = new MessageChannel()
  const e = engine
  stopServing = serveApi(port1, e, { events: (emit) => e.on(emit) })
  client = callApi(port2)
  client.on((ev) => events.push(ev))
}

/** Starts the engine worker the way the app does. */
export async function connectWorker(): Promise<void> {
  if (client) throw new Error('already open')
  client = connectEngine()
  client.on((ev) => events.push(ev))
}

/** Whether this tab's worker runs the engine (`leader`) or forwards to the one that does. */
export async function role(): Promise<string | undefined> {
  return client?.role
}

/** Calls an engine method through the RPC. */
export async function call(input: { method: EngineMethod; args?: unknown[] }): Promise<CallResult> {
  if (!client) throw new Error('not open')
  const fn = client.api[input.method] as (...a: unknown[]) => Promise<unknown>
  try {
    return { ok: true, value: encode(await fn(...(input.args ?? []).map(decode))) }
  } catch (err) {
    if (!isEngineError(err)) throw err
    return { ok: false, code: err.code, message: err.message }
  }
}

/** The events received so far (and forgets them). */
export async function takeEvents(): Promise<EngineEvent[]> {
  return events.splice(0)
}

/** Closes the client and the in-page engine (a worker engine ends with its page). */
export async function close(): Promise<void> {
  client?.close()
  client = undefined
  stopServing?.()
  await engine?.close()
  engine = undefined
}

function decode(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(decode)
  if (typeof v !== 'object' || v === null) return v
  const o = v as Record<string, unknown>
  if (typeof o.$bytes === 'number') return Uint8Array.from({ length: o.$bytes }, (_, i) => (i * 7 + 3) & 0xff)
  return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, decode(x)]))
}

function encode(v: unknown): unknown {
  if (v instanceof Uint8Array) return { $bytes: v.length, sum: v.reduce((a, b) => (a + b) % 65521, 0) }
  return v
}
