/** A first-in first-out async mutex: `run(fn)` runs `fn` after every earlier `run` settled. */
export class Mutex {
  #tail: Promise<unknown> = Promise.resolve()

  /** Runs `fn` exclusively; its result or error is passed through. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(fn, fn)
    this.#tail = result.catch(() => undefined)
    return result
  }
}
