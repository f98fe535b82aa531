/** Peak-memory sampling for benchmarks: RSS and heap, sampled on a timer and at checkpoints. */
export class MemorySampler {
  peakRss = 0
  peakHeap = 0
  readonly checkpoints: { label: string; rssMb: number; heapMb: number }[] = []
  #timer: ReturnType<typeof setInterval>

  constructor(intervalMs = 50) {
    this.sample()
    this.#timer = setInterval(() => this.sample(), intervalMs)
    this.#timer.unref()
  }

  sample(): void {
    const m = process.memoryUsage()
    this.peakRss = Math.max(this.peakRss, m.rss)
    this.peakHeap = Math.max(this.peakHeap, m.heapUsed)
  }

  /** Records the heap after a GC (when node runs with --expose-gc) under `label`. */
  mark(label: string): void {
    ;(globalThis as { gc?: () => void }).gc?.()
    const m = process.memoryUsage()
    this.checkpoints.push({ label, rssMb: mb(m.rss), heapMb: mb(m.heapUsed) })
    this.sample()
  }

  stop(): void {
    clearInterval(this.#timer)
  }
}

export const mb = (bytes: number): number => Math.round((bytes / 1048576) * 10) / 10
