/** A progress bar on a terminal (stderr), or a line every 10 % when it is not a terminal. */

/** A progress display: `update` as work arrives, `done` once at the end (idempotent). */
export interface Progress {
  update(done: number, total: number): void
  done(final?: number): void
}

/** A progress bar writing to `stream`; silent when `enabled` is false. */
export function progressBar(stream: NodeJS.WriteStream, enabled = true): Progress {
  const tty = stream.isTTY === true
  let lastTenth = -1
  let drawn = false
  let finished = false
  return {
    update(done, total) {
      if (!enabled || finished) return
      const frac = total > 0 ? Math.min(1, done / total) : 0
      if (tty) {
        const width = 30
        const fill = Math.round(frac * width)
        stream.write(`\r[${'#'.repeat(fill)}${'-'.repeat(width - fill)}] ${done}/${total} messages`)
        drawn = true
      } else {
        const tenth = Math.floor(frac * 10)
        if (tenth > lastTenth) {
          lastTenth = tenth
          stream.write(`${tenth * 10}% (${done}/${total} messages)\n`)
        }
      }
    },
    done() {
      if (finished) return
      finished = true
      if (enabled && tty && drawn) stream.write('\n')
    },
  }
}
