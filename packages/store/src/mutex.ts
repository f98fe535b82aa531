/** A first-in first-out async mutex: `run(fn)` runs `fn` after every earlier `run` settled. */
export class Mutex {
  #tail: Promise<unknown> = Promise.resolve()
  #pending = 0

  /** True when nothing runs or waits: a `run` now starts before any later one. */
  get idle(): boolean {
    return this.#pending === 0
  }

  /** Runs `fn` exclusively; its result or error is passed through. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    this.#pending++
    const result = this.#tail.then(fn, fn).finally(() => {
      this.#pending--
    })
    this.#tail = result.catch(() => undefined)
    return result
  }
}
