/**
 * The RPC between the page and the engine, over anything that posts messages: a Worker (the
 * page's side), a worker's own global scope, a MessagePort, or a BroadcastChannel (tabs to the
 * tab that runs the engine).
 *
 * Three messages, each tagged `rpc`, so other traffic on the same port is ignored:
 * - `call`  {id, method, args, to?}: `id` is unique across every client (a random prefix and a
 *   counter), so replies may be broadcast; `to` addresses one server among several listening on
 *   a shared channel (the engine's tab), and a server with an address answers only its own.
 * - `reply` {id, ok, value | error}: errors are plain {@link EngineError}s; the caller rejects
 *   with an {@link EngineFailure} (an Error with the same code and message).
 * - `event` {event}: an {@link EngineEvent} pushed to every client.
 * Only the methods of {@link EngineApi} are callable (a fixed list, never a property lookup on
 * whatever name arrives).
 */
import type { EngineApi, EngineError, EngineEvent, EngineMethod } from './api.js'
import { EngineFailure, lostCall, toEngineError } from './engine/errors.js'
import { startRtc } from './rtc/page.js'

/** Anything the RPC can run over: Worker, DedicatedWorkerGlobalScope, MessagePort, BroadcastChannel. */
export interface RpcPort {
  postMessage(message: unknown): void
  addEventListener(type: 'message', listener: (event: MessageEvent) => void): void
  removeEventListener(type: 'message', listener: (event: MessageEvent) => void): void
  /** MessagePort only: starts delivery (implied by `onmessage`, not by `addEventListener`). */
  start?(): void
}

/** Which tab's worker runs the engine: this one (`leader`) or another one it forwards to. */
export type EngineRole = 'leader' | 'follower'

/** The page's handle on the engine. */
export interface EngineClient {
  /** Every call rejects with an {@link EngineError} ({@link EngineFailure}). */
  readonly api: EngineApi
  /** Calls `fn` with every event the engine pushes; returns the function that stops it. */
  on(fn: (e: EngineEvent) => void): () => void
  /** Stops the engine's worker (or the client); pending calls reject with `UNAVAILABLE`. */
  close(): void
  /** Whether this tab runs the engine or forwards to the tab that does (once the worker said). */
  readonly role: EngineRole | undefined
}

// Each method, and whether it only reads (a read lost with a closing tab may be sent again).
const METHODS: Readonly<Record<EngineMethod, 'read' | 'write'>> = {
  identity: 'read',
  createIdentity: 'write',
  restoreIdentity: 'write',
  backupText: 'read',
  markBackedUp: 'write',
  overrideRestoreWait: 'write',
  updateProfile: 'write',
  post: 'write',
  like: 'write',
  follow: 'write',
  block: 'write',
  setPetname: 'write',
  timeline: 'read',
  postsBy: 'read',
  thread: 'read',
  profile: 'read',
  likers: 'read',
  suggestions: 'read',
  network: 'read',
  addPeer: 'write',
  removePeer: 'write',
  setDirectLinks: 'write',
  setConnectivity: 'write',
  blob: 'read',
  releases: 'read',
  setUpgradePolicy: 'write',
  useRelease: 'write',
  addPublisher: 'write',
  removePublisher: 'write',
}

/** The names of every {@link EngineApi} method. */
export const ENGINE_METHODS: readonly EngineMethod[] = Object.keys(METHODS) as EngineMethod[]

/** True for a method that only reads, so a call lost in transit may be sent again. */
export function isReadMethod(method: EngineMethod): boolean {
  return METHODS[method] === 'read'
}

function isMethod(name: unknown): name is EngineMethod {
  return typeof name === 'string' && Object.hasOwn(METHODS, name)
}

interface CallMsg {
  readonly rpc: 'call'
  readonly id: string
  readonly to?: string
  readonly method: string
  readonly args: unknown[]
}
type ReplyMsg =
  | { readonly rpc: 'reply'; readonly id: string; readonly ok: true; readonly value: unknown }
  | { readonly rpc: 'reply'; readonly id: string; readonly ok: false; readonly error: EngineError }
interface EventMsg {
  readonly rpc: 'event'
  readonly event: EngineEvent
}
interface RoleMsg {
  readonly rpc: 'role'
  readonly role: EngineRole
}
type RpcMsg = CallMsg | ReplyMsg | EventMsg | RoleMsg

function rpcMsg(data: unknown): RpcMsg | undefined {
  const m = data as { rpc?: unknown } | null
  return typeof m === 'object' && m !== null && typeof m.rpc === 'string' ? (m as RpcMsg) : undefined
}

/** Options of {@link serveApi}. */
export interface ServeOptions {
  /** Answer only calls addressed to this (on a channel shared with other servers). */
  readonly address?: string
  /** Subscribes to the engine's events; each is pushed to the port. Returns the unsubscribe. */
  readonly events?: (emit: (e: EngineEvent) => void) => () => void
}

/**
 * Answers calls arriving on `port` with `impl`, and pushes its events. Returns the function
 * that stops serving (calls still running then get no reply).
 */
export function serveApi(port: RpcPort, impl: EngineApi, opts: ServeOptions = {}): () => void {
  let stopped = false
  const post = (msg: ReplyMsg | EventMsg): void => {
    if (stopped) return
    try {
      port.postMessage(msg)
    } catch (err) {
      // Not clonable (a bug): the caller must still get an answer, never hang.
      if (msg.rpc === 'reply') port.postMessage({ rpc: 'reply', id: msg.id, ok: false, error: toEngineError(err) })
    }
  }
  const onMessage = (ev: MessageEvent): void => {
    const m = rpcMsg(ev.data)
    if (m?.rpc !== 'call' || typeof m.id !== 'string') return
    if (opts.address !== undefined && m.to !== opts.address) return
    void answer(m).then(post)
  }
  const answer = async (m: CallMsg): Promise<ReplyMsg> => {
    try {
      if (!isMethod(m.method) || !Array.isArray(m.args)) {
        throw new EngineFailure('INVALID_ARGUMENT', `There is no engine call named ${String(m.method).slice(0, 40)}.`)
      }
      const fn = impl[m.method] as (...args: unknown[]) => Promise<unknown>
      return { rpc: 'reply', id: m.id, ok: true, value: await fn.apply(impl, m.args) }
    } catch (err) {
      return { rpc: 'reply', id: m.id, ok: false, error: toEngineError(err) }
    }
  }
  port.addEventListener('message', onMessage)
  port.start?.()
  const unsubscribe = opts.events?.((event) => post({ rpc: 'event', event }))
  return () => {
    stopped = true
    port.removeEventListener('message', onMessage)
    unsubscribe?.()
  }
}

/** Tells the page, over `port`, which role its worker has (see {@link EngineClient.role}). */
export function announceRole(port: RpcPort, role: EngineRole): void {
  port.postMessage({ rpc: 'role', role } satisfies RoleMsg)
}

/** Options of {@link RpcClient}. */
export interface RpcClientOptions {
  /**
   * Address calls to a server on a shared channel. When true, calls wait (queued) until
   * {@link RpcClient.retarget} names the server, for at most `queueTimeoutMs`.
   */
  readonly addressed?: boolean
  /** How long a call may wait for an address (ms, default 15 s). */
  readonly queueTimeoutMs?: number
}

interface Pending {
  readonly resolve: (value: unknown) => void
  readonly reject: (err: EngineFailure) => void
  readonly method: EngineMethod
  readonly args: unknown[]
  /** The address it was sent to; undefined while queued. */
  to: string | undefined
  sent: boolean
  timer: ReturnType<typeof setTimeout> | undefined
}

/** The calling side of the RPC: typed calls with ids, events, and (optionally) an address. */
export class RpcClient {
  readonly api: EngineApi
  readonly #port: RpcPort
  readonly #prefix = `${randomId()}:`
  readonly #pending = new Map<string, Pending>()
  readonly #listeners = new Set<(e: EngineEvent) => void>()
  readonly #addressed: boolean
  readonly #queueTimeoutMs: number
  readonly #onMessage = (ev: MessageEvent): void => this.#receive(ev.data)
  #next = 0
  #target: string | undefined
  #role: EngineRole | undefined
  /** Set once closed: the error later calls reject with. */
  #closed: (() => EngineFailure) | undefined

  constructor(port: RpcPort, opts: RpcClientOptions = {}) {
    this.#port = port
    this.#addressed = opts.addressed ?? false
    this.#queueTimeoutMs = opts.queueTimeoutMs ?? 15_000
    port.addEventListener('message', this.#onMessage)
    port.start?.()
    const api: Partial<Record<EngineMethod, (...args: unknown[]) => Promise<unknown>>> = {}
    for (const m of ENGINE_METHODS) api[m] = (...args: unknown[]) => this.call(m, args)
    this.api = api as unknown as EngineApi
  }

  /** The role the server announced, if it did. */
  get role(): EngineRole | undefined {
    return this.#role
  }

  /** Calls `method` with `args`; rejects with an {@link EngineFailure}. */
  call(method: EngineMethod, args: unknown[]): Promise<unknown> {
    if (this.#closed) return Promise.reject(this.#closed())
    const id = `${this.#prefix}${this.#next++}`
    return new Promise((resolve, reject) => {
      const p: Pending = { resolve, reject, method, args, to: undefined, sent: false, timer: undefined }
      this.#pending.set(id, p)
      if (!this.#addressed || this.#target !== undefined) this.#send(id, p)
      else {
        p.timer = setTimeout(() => {
          this.#settle(id)?.reject(new EngineFailure('UNAVAILABLE', 'Murmur is still starting: try again.'))
        }, this.#queueTimeoutMs)
      }
    })
  }

  /** Calls `fn` with every event; returns the function that stops it. */
  on(fn: (e: EngineEvent) => void): () => void {
    this.#listeners.add(fn)
    return () => this.#listeners.delete(fn)
  }

  /**
   * Sends calls to the server at `address` from now on: queued calls go there; calls already
   * sent elsewhere can no longer be answered and reject as lost (see {@link lostCall}).
   */
  retarget(address: string): void {
    if (address === this.#target) return
    this.#target = address
    for (const [id, p] of this.#pending) {
      if (!p.sent) this.#send(id, p)
      else if (p.to !== address) this.#settle(id)?.reject(lostCall())
    }
  }

  /**
   * Rejects every pending call (its server is gone) and forgets the address: with `err` when
   * given, else as lost — `unsent` for calls still queued, `lost` for those sent (see
   * {@link EngineFailure.delivery}).
   */
  abandon(err?: () => EngineFailure): void {
    this.#target = undefined
    for (const [id, p] of [...this.#pending]) {
      this.#settle(id)?.reject(err ? err() : lostCall(p.sent ? 'lost' : 'unsent'))
    }
  }

  /** Stops listening; pending and later calls reject with `err` (default: `UNAVAILABLE`, closed). */
  close(err: () => EngineFailure = closedError): void {
    if (this.#closed) return
    this.#closed = err
    this.#port.removeEventListener('message', this.#onMessage)
    this.abandon(err)
    this.#listeners.clear()
  }

  #send(id: string, p: Pending): void {
    clearTimeout(p.timer)
    p.timer = undefined
    p.sent = true
    p.to = this.#target
    const msg: CallMsg = { rpc: 'call', id, method: p.method, args: p.args, ...(p.to ? { to: p.to } : {}) }
    try {
      this.#port.postMessage(msg)
    } catch (err) {
      this.#settle(id)?.reject(asFailure(toEngineError(err)))
    }
  }

  #settle(id: string): Pending | undefined {
    const p = this.#pending.get(id)
    if (!p) return undefined
    this.#pending.delete(id)
    clearTimeout(p.timer)
    return p
  }

  #receive(data: unknown): void {
    const m = rpcMsg(data)
    if (m === undefined) return
    if (m.rpc === 'reply') {
      const p = this.#settle(m.id)
      if (!p) return // another client's call (on a shared channel), or one that timed out
      if (m.ok) p.resolve(m.value)
      else p.reject(asFailure(m.error))
    } else if (m.rpc === 'event') {
      for (const fn of this.#listeners) fn(m.event)
    } else if (m.rpc === 'role') {
      this.#role = m.role
    }
  }
}

function closedError(): EngineFailure {
  return new EngineFailure('UNAVAILABLE', 'Murmur was closed in this tab: reload the page.')
}

function asFailure(e: EngineError): EngineFailure {
  return new EngineFailure(e.code, e.message)
}

function randomId(): string {
  return globalThis.crypto.randomUUID().slice(0, 13)
}

/** A client of the engine served on `port` (no worker: e.g. a MessageChannel in a test). */
export function callApi(port: RpcPort, opts: RpcClientOptions = {}): EngineClient {
  const client = new RpcClient(port, opts)
  return {
    api: client.api,
    on: (fn) => client.on(fn),
    close: () => client.close(),
    get role() {
      return client.role
    },
  }
}

/**
 * Starts the engine's worker for this tab and connects to it. Every tab starts one; the
 * workers agree which one runs the engine (see engine/hub.ts).
 */
export function connectEngine(): EngineClient {
  // The literal `new Worker(new URL(…, import.meta.url))` form is what Vite bundles as a worker.
  const worker = new Worker(new URL('./engine/worker.ts', import.meta.url), { type: 'module', name: 'murmur-engine' })
  const client = new RpcClient(worker)
  const stopRtc = startRtc(worker)
  worker.addEventListener('error', (ev) => {
    // A plain Event (not an ErrorEvent) means the worker's script did not load: nothing will
    // ever answer. A runtime error inside the worker is an ErrorEvent, reported by the browser.
    if (ev instanceof ErrorEvent) return
    client.close(() => new EngineFailure('UNAVAILABLE', "Murmur's engine could not start: reload the page."))
  })
  return {
    api: client.api,
    on: (fn) => client.on(fn),
    close: () => {
      stopRtc()
      client.close()
      worker.terminate()
    },
    get role() {
      return client.role
    },
  }
}
