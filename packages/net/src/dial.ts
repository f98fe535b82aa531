/**
 * Dialling a peer over WebSocket: `dial` makes one connection; `Redialer` keeps one connection
 * to a URL alive, reconnecting with exponential backoff and jitter. Browser-safe: the WebSocket
 * class is passed in (Node 20 has none: pass `ws`'s, or use `nodeDial` from `@murmur/net/node`).
 *
 * Backoff: after the n-th failure in a row (a dial that failed, or a connection that dropped
 * before it was stable) the wait is min(maxDelayMs, minDelayMs · 2^(n-1)), of which a random
 * half is taken away ("equal jitter"), so peers that lost the same server do not come back in
 * step, yet each wait is at least as long as the one before it until the cap is reached. A
 * connection that lasted `stableAfterMs` resets the count.
 */
import { MurmurError } from '@murmur/core'
import { type SocketEvent, type WebSocketLike, type WsChannel, wsChannel } from './websocket.js'

/** A WebSocket class: the browser's `WebSocket`, or `ws`'s in Node. */
export type WebSocketConstructor = new (url: string) => WebSocketLike

/** Options of {@link dial}. */
export interface DialOptions {
  /** Gives up when aborted (rejecting with the signal's reason). */
  signal?: AbortSignal
  /** Gives up after this long without an open connection (ms, default 10 s). */
  timeoutMs?: number
  /** The WebSocket class (default `globalThis.WebSocket`, which browsers have and Node 20 lacks). */
  WebSocket?: WebSocketConstructor
}

/**
 * Opens a WebSocket to `url` (`ws:` or `wss:`) and resolves with it as a channel once open.
 * @throws {MurmurError} (as a rejection) `INVALID_ARGUMENT` for a URL that is not `ws:`/`wss:`;
 * `UNREACHABLE` when the connection fails or closes before it opens; `TIMEOUT` after
 * `timeoutMs`. An abort rejects with the signal's reason.
 * @throws {TypeError} (as a rejection) when there is no WebSocket class to use.
 */
export async function dial(url: string, opts: DialOptions = {}): Promise<WsChannel> {
  const Socket = opts.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket
  if (Socket === undefined) {
    throw new TypeError('no WebSocket class here: pass one (in Node, use nodeDial from @murmur/net/node)')
  }
  checkUrl(url)
  opts.signal?.throwIfAborted()
  const timeoutMs = opts.timeoutMs ?? 10_000
  let socket: WebSocketLike
  try {
    socket = new Socket(url)
  } catch (cause) {
    throw new MurmurError('INVALID_ARGUMENT', `cannot dial ${url}: ${asError(cause).message}`, { cause })
  }
  return new Promise<WsChannel>((resolve, reject) => {
    let settled = false
    const timer = setTimeout(
      () => fail(new MurmurError('TIMEOUT', `no answer from ${url} within ${timeoutMs} ms`)),
      timeoutMs,
    )
    const onAbort = () => fail(opts.signal?.reason)
    opts.signal?.addEventListener('abort', onAbort, { once: true })
    const settle = () => {
      settled = true
      clearTimeout(timer)
      opts.signal?.removeEventListener('abort', onAbort)
    }
    function fail(err: unknown): void {
      if (settled) return
      settle()
      socket.close()
      reject(err)
    }
    socket.addEventListener('open', () => {
      if (settled) {
        socket.close()
        return
      }
      settle()
      resolve(wsChannel(socket))
    })
    socket.addEventListener('error', (ev) =>
      fail(new MurmurError('UNREACHABLE', `cannot connect to ${url}${detail(ev)}`, { cause: causeOf(ev) })),
    )
    socket.addEventListener('close', (ev) =>
      fail(new MurmurError('UNREACHABLE', `cannot connect to ${url}: closed before it opened (code ${ev.code})`)),
    )
  })
}

/** @throws {MurmurError} `INVALID_ARGUMENT` unless `url` is a `ws:` or `wss:` URL. */
function checkUrl(url: string): void {
  let protocol: string
  try {
    protocol = new URL(url).protocol
  } catch (cause) {
    throw new MurmurError('INVALID_ARGUMENT', `not a URL: ${JSON.stringify(url.slice(0, 200))}`, { cause })
  }
  if (protocol !== 'ws:' && protocol !== 'wss:') {
    throw new MurmurError('INVALID_ARGUMENT', `a peer's address is a ws: or wss: URL, not ${protocol}`)
  }
}

/** The cause of a socket error, where the WebSocket gives one (`ws` does; browsers do not). */
function detail(ev: SocketEvent): string {
  return typeof ev.message === 'string' && ev.message !== '' ? `: ${ev.message}` : ''
}

function causeOf(ev: SocketEvent): unknown {
  return (ev as { error?: unknown }).error
}

/** Where a {@link Redialer} is. */
export type RedialState = 'connecting' | 'open' | 'waiting' | 'stopped'

/** A snapshot of a {@link Redialer}. */
export interface RedialStatus {
  readonly state: RedialState
  /** Failures in a row: dials that failed and connections that dropped before they were stable. */
  readonly attempts: number
  /** Connections made so far. */
  readonly connections: number
  /** While waiting: the wait chosen (ms) and when it ends (`Date.now()` time). */
  readonly delayMs: number | undefined
  readonly nextRetryAt: number | undefined
  /** Why the last dial failed. */
  readonly lastError: Error | undefined
  /** Why the last connection closed. */
  readonly lastCloseReason: string | undefined
}

/** Options of {@link Redialer}. */
export interface RedialOptions extends Omit<DialOptions, 'signal'> {
  /** Called with each new connection (it must not throw). */
  onChannel(channel: WsChannel): void
  /** Stops the redialer when aborted (like {@link Redialer.stop}). */
  signal?: AbortSignal
  /** First wait after a failure (ms, default 500). */
  minDelayMs?: number
  /** Longest wait (ms, default 30 s). */
  maxDelayMs?: number
  /** A connection that lasted this long resets the backoff (ms, default 10 s). */
  stableAfterMs?: number
  /** Random numbers in [0, 1) for the jitter (tests pass their own). */
  random?: () => number
}

/**
 * Keeps one connection to `url` alive: dials at once, hands each new connection to
 * `onChannel`, and when it closes or a dial fails, waits (see the backoff above) and dials
 * again, until {@link stop} or the signal.
 */
export class Redialer {
  readonly url: string
  readonly #opts: RedialOptions
  readonly #abort = new AbortController()
  readonly #statusFns = new Set<(status: RedialStatus) => void>()
  readonly #done: Promise<void>
  #status: RedialStatus = {
    state: 'connecting',
    attempts: 0,
    connections: 0,
    delayMs: undefined,
    nextRetryAt: undefined,
    lastError: undefined,
    lastCloseReason: undefined,
  }
  #channel: WsChannel | undefined
  #wake: (() => void) | undefined

  /** @throws {MurmurError} `INVALID_ARGUMENT` unless `url` is a `ws:` or `wss:` URL. */
  constructor(url: string, opts: RedialOptions) {
    checkUrl(url)
    this.url = url
    this.#opts = opts
    const stop = () => void this.stop()
    opts.signal?.addEventListener('abort', stop, { once: true })
    if (opts.signal?.aborted) this.#abort.abort()
    this.#done = this.#run().finally(() => opts.signal?.removeEventListener('abort', stop))
  }

  /** Where the redialer is now. */
  get status(): RedialStatus {
    return this.#status
  }

  /** Calls `fn` with each new status; returns the function that stops it. */
  onStatus(fn: (status: RedialStatus) => void): () => void {
    this.#statusFns.add(fn)
    return () => this.#statusFns.delete(fn)
  }

  /**
   * Dials at once if it is waiting out a backoff (e.g. the device just came back online);
   * does nothing while connecting or connected.
   */
  retryNow(): void {
    if (this.#status.state === 'waiting') this.#wake?.()
  }

  /** Stops dialling and closes the connection; resolves once everything has ended. */
  stop(): Promise<void> {
    this.#abort.abort()
    this.#channel?.close('stopped')
    this.#wake?.()
    return this.#done
  }

  get #stopped(): boolean {
    return this.#abort.signal.aborted
  }

  async #run(): Promise<void> {
    const { onChannel, signal: _, minDelayMs, maxDelayMs, stableAfterMs, random, ...dialOpts } = this.#opts
    while (!this.#stopped) {
      this.#set({ state: 'connecting', delayMs: undefined, nextRetryAt: undefined })
      let channel: WsChannel
      try {
        channel = await dial(this.url, { ...dialOpts, signal: this.#abort.signal })
      } catch (err) {
        if (this.#stopped) break
        this.#set({ attempts: this.#status.attempts + 1, lastError: asError(err) })
        await this.#wait()
        continue
      }
      if (this.#stopped) {
        channel.close('stopped')
        break
      }
      const openedAt = performance.now()
      this.#channel = channel
      const closed = new Promise<string>((resolve) => channel.onClose(resolve))
      this.#set({ state: 'open', connections: this.#status.connections + 1 })
      try {
        onChannel(channel)
      } catch (err) {
        // A bug in the caller: end everything and let the error reach whoever awaits `stop()`.
        channel.close('internal error')
        this.#abort.abort()
        this.#set({ state: 'stopped', lastError: asError(err) })
        throw err
      }
      const reason = await closed
      this.#channel = undefined
      if (this.#stopped) break
      const stable = performance.now() - openedAt >= (stableAfterMs ?? 10_000)
      this.#set({ attempts: stable ? 0 : this.#status.attempts + 1, lastCloseReason: reason })
      await this.#wait()
    }
    this.#set({ state: 'stopped', delayMs: undefined, nextRetryAt: undefined })
  }

  /** Waits before the next dial (or until stopped). */
  async #wait(): Promise<void> {
    if (this.#stopped) return
    const min = this.#opts.minDelayMs ?? 500
    const max = this.#opts.maxDelayMs ?? 30_000
    const base = Math.min(max, min * 2 ** Math.max(0, this.#status.attempts - 1))
    const delayMs = Math.round(base / 2 + (base / 2) * (this.#opts.random ?? Math.random)())
    this.#set({ state: 'waiting', delayMs, nextRetryAt: Date.now() + delayMs })
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, delayMs)
      this.#wake = () => {
        clearTimeout(timer)
        resolve()
      }
    })
    this.#wake = undefined
  }

  #set(change: Partial<RedialStatus>): void {
    this.#status = { ...this.#status, ...change }
    for (const fn of this.#statusFns) fn(this.#status)
  }
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err))
}
