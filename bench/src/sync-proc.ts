/**
 * A process's memory and CPU time as Linux reports them in /proc, for a process this benchmark
 * cannot instrument from inside (the spawned `murmur serve`) and for the fresh peer itself.
 * RSS is split into anonymous memory (heaps, buffers, caches: what would grow with the messages
 * if anything were kept) and file-backed pages (the node binary and its libraries, and LevelDB's
 * mapped table files, which grow with the database and are the kernel's to drop). Elsewhere
 * than Linux, everything reads 0.
 */
import { readFileSync } from 'node:fs'

/** One reading, in bytes. */
export interface ProcMemory {
  /** Resident set size now, of which anonymous and file-backed. */
  readonly rss: number
  readonly anon: number
  readonly file: number
  /** The kernel's high-water mark of the RSS since the process started. */
  readonly hwm: number
}

/** The memory of process `pid` now (all zero when /proc cannot be read). */
export function procMemory(pid: number): ProcMemory {
  let status = ''
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8')
  } catch {
    // not Linux, or the process is gone
  }
  const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024
  return { rss: kb('VmRSS'), anon: kb('RssAnon'), file: kb('RssFile'), hwm: kb('VmHWM') }
}

// USER_HZ: the unit of /proc/<pid>/stat times, 100 on every Linux architecture (proc(5)).
const USER_HZ = 100

/** CPU seconds (user + system, all threads) process `pid` has used so far (0 when unknown). */
export function procCpuSeconds(pid: number): number {
  let stat: string
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  } catch {
    return 0
  }
  // The command name (field 2) is in parentheses and may hold spaces: count from after it.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) / USER_HZ
}

/** Samples a process's memory on a timer, keeping the peaks of its RSS and anonymous memory. */
export class ProcSampler {
  peakRss = 0
  peakAnon = 0
  readonly #pid: number
  readonly #timer: ReturnType<typeof setInterval>

  constructor(pid: number, intervalMs = 50) {
    this.#pid = pid
    this.sample()
    this.#timer = setInterval(() => this.sample(), intervalMs)
    this.#timer.unref()
  }

  /** Reads the memory now and folds it into the peaks. */
  sample(): ProcMemory {
    const m = procMemory(this.#pid)
    this.peakRss = Math.max(this.peakRss, m.rss, m.hwm)
    this.peakAnon = Math.max(this.peakAnon, m.anon)
    return m
  }

  stop(): void {
    clearInterval(this.#timer)
  }
}
