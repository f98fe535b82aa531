/**
 * Several tabs, one writer. Every tab starts its own engine worker; the workers of an origin
 * elect one with a Web Lock, and only the lock holder ever opens the store and the network
 * (two writers would fork the person's feed).
 *
 * How it works
 * - Each worker asks for the lock `murmur-engine` at once and holds it until it dies (the
 *   browser releases a dead worker's locks, so when the leader's tab closes, the next worker
 *   in the queue gets it).
 * - The holder (leader) opens the {@link Engine}, serves it to its own page, and serves it on a
 *   BroadcastChannel under its random address; it announces that address when it takes the
 *   lock and whenever a worker asks (`who`).
 * - The others (followers) forward every call of their page to the announced leader and relay
 *   the leader's events to their page. Calls are addressed, so a call sent to a leader that
 *   died can never be answered by the next one (it might run twice): when a new leader
 *   announces itself, or this worker becomes the leader, calls still waiting on the old one
 *   fail with `UNAVAILABLE` ("try again"); reads are sent once more, to the new leader.
 */
import type { EngineApi, EngineEvent, EngineMethod } from '../api.js'
import {
  announceRole,
  ENGINE_METHODS,
  type EngineRole,
  isReadMethod,
  RpcClient,
  type RpcPort,
  serveApi,
} from '../rpc.js'
import { EngineFailure, toEngineError } from './errors.js'

/** What the hub serves: the engine's calls and its events. */
export interface EventedApi extends EngineApi {
  on(fn: (e: EngineEvent) => void): () => void
  close?(): Promise<void>
}

/** Options of {@link Hub}. */
export interface HubOptions {
  /** The origin's lock manager (`navigator.locks`). */
  readonly locks: Pick<LockManager, 'request'>
  /** The channel every engine worker of the origin shares (a BroadcastChannel). */
  readonly channel: RpcPort
  /** This tab's page. */
  readonly page: RpcPort
  /** Opens the engine; called only while this worker holds the lock. */
  open(): Promise<EventedApi>
  /** The lock's name (default `murmur-engine`). */
  readonly lockName?: string
  /** How long a forwarded call waits for a leader to be known (ms, default 15 s). */
  readonly leaderWaitMs?: number
}

type HubMsg = { readonly hub: 'who' } | { readonly hub: 'leader'; readonly address: string }

/** One engine worker's part in the election, and the page it serves. */
export class Hub {
  readonly address = globalThis.crypto.randomUUID()
  readonly #opts: HubOptions
  readonly #client: RpcClient
  readonly #pageEvents = new Set<(e: EngineEvent) => void>()
  readonly #stopPage: () => void
  readonly #onChannel = (ev: MessageEvent): void => this.#hubMessage(ev.data)
  #role: EngineRole = 'follower'
  #engine: Promise<EventedApi> | undefined
  #stopChannel: (() => void) | undefined
  #release: (() => void) | undefined
  #closed = false

  constructor(opts: HubOptions) {
    this.#opts = opts
    this.#client = new RpcClient(opts.channel, { addressed: true, queueTimeoutMs: opts.leaderWaitMs ?? 15_000 })
    this.#client.on((e) => {
      if (this.#role === 'follower') this.#toPage(e)
    })
    opts.channel.addEventListener('message', this.#onChannel)
    const api: Partial<Record<EngineMethod, (...args: unknown[]) => Promise<unknown>>> = {}
    for (const m of ENGINE_METHODS) api[m] = (...args: unknown[]) => this.#route(m, args, false)
    this.#stopPage = serveApi(opts.page, api as unknown as EngineApi, {
      events: (emit) => {
        this.#pageEvents.add(emit)
        return () => this.#pageEvents.delete(emit)
      },
    })
    announceRole(opts.page, 'follower')
    opts.channel.postMessage({ hub: 'who' } satisfies HubMsg)
    void opts.locks.request(opts.lockName ?? 'murmur-engine', () => this.#lead())
  }

  /** Whether this worker runs the engine. */
  get role(): EngineRole {
    return this.#role
  }

  /** Stops serving, closes the engine if this worker ran it, and gives up the lock. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#stopPage()
    this.#stopChannel?.()
    this.#opts.channel.removeEventListener('message', this.#onChannel)
    this.#client.close()
    // The engine closes before the lock goes: the next holder must never open the store while
    // this one still writes.
    const engine = await this.#engine?.catch(() => undefined)
    try {
      await engine?.close?.()
    } finally {
      this.#release?.()
    }
  }

  /** Holds the lock: runs the engine until closed (or the worker dies). */
  async #lead(): Promise<void> {
    if (this.#closed) return
    this.#role = 'leader'
    announceRole(this.#opts.page, 'leader')
    // Whatever was forwarded to the old leader is lost with it: reads (and calls never sent)
    // go again, here; writes fail with "try again" (they may have run there).
    this.#client.abandon()
    const engine = this.#opts.open().catch((err: unknown) => {
      const why = toEngineError(err).message
      throw new EngineFailure('INTERNAL', `Murmur could not open its storage in this browser: ${why}`, { cause: err })
    })
    this.#engine = engine
    engine.then((e) => e.on((ev) => this.#toPage(ev))).catch(() => undefined)
    this.#stopChannel = serveApi(this.#opts.channel, lazyApi(engine), {
      address: this.address,
      events: (emit) => {
        let off: (() => void) | undefined
        let stopped = false
        engine.then(
          (e) => {
            if (!stopped) off = e.on(emit)
          },
          () => undefined,
        )
        return () => {
          stopped = true
          off?.()
        }
      },
    })
    this.#announce()
    await new Promise<void>((resolve) => {
      this.#release = resolve
    })
  }

  #announce(): void {
    this.#opts.channel.postMessage({ hub: 'leader', address: this.address } satisfies HubMsg)
  }

  #hubMessage(data: unknown): void {
    const m = data as Partial<HubMsg> | null
    if (typeof m !== 'object' || m === null || typeof m.hub !== 'string') return
    if (m.hub === 'who' && this.#role === 'leader') this.#announce()
    else if (m.hub === 'leader' && typeof m.address === 'string' && m.address !== this.address) {
      if (this.#role === 'follower') this.#client.retarget(m.address)
    }
  }

  async #route(method: EngineMethod, args: unknown[], retried: boolean): Promise<unknown> {
    if (this.#role === 'leader' && this.#engine) {
      const engine = await this.#engine
      return (engine[method] as (...a: unknown[]) => Promise<unknown>).apply(engine, args)
    }
    try {
      return await this.#client.call(method, args)
    } catch (err) {
      // Sent again once: a call that never left, or a read the dead leader may have begun.
      const again =
        err instanceof EngineFailure && (err.delivery === 'unsent' || (err.delivery === 'lost' && isReadMethod(method)))
      if (!retried && again) {
        return this.#route(method, args, true)
      }
      throw err
    }
  }

  #toPage(e: EngineEvent): void {
    for (const emit of this.#pageEvents) emit(e)
  }
}

/** The engine's methods, each waiting for the engine to open. */
function lazyApi(engine: Promise<EventedApi>): EngineApi {
  const api: Partial<Record<EngineMethod, (...args: unknown[]) => Promise<unknown>>> = {}
  for (const m of ENGINE_METHODS) {
    api[m] = async (...args: unknown[]) => {
      const e = await engine
      return (e[m] as (...a: unknown[]) => Promise<unknown>).apply(e, args)
    }
  }
  return api as unknown as EngineApi
}
