/** Turning messages into what the CLI prints: JSON-safe values and short human lines. */
import { CID, formatFeedId, type Msg, toBase64url } from '@murmur/core'

/** A JSON-safe copy of a decoded value: CIDs as their text form, 32-byte keys as feed ids. */
export function jsonSafe(v: unknown): unknown {
  const cid = CID.asCID(v)
  if (cid) return cid.toString()
  if (v instanceof Uint8Array) return v.length === 32 ? formatFeedId(v) : `base64url:${toBase64url(v)}`
  if (Array.isArray(v)) return v.map(jsonSafe)
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {}
    for (const [k, x] of Object.entries(v)) out[k] = jsonSafe(x)
    return out
  }
  return v
}

/** A message as JSON: id, author, seq, prev, ts, type, content. */
export function msgJson(msg: Msg): Record<string, unknown> {
  const v = msg.value
  return {
    id: msg.id.toString(),
    author: formatFeedId(v.author),
    seq: v.seq,
    prev: v.prev?.toString() ?? null,
    ts: v.ts,
    type: v.type,
    content: jsonSafe(v.content),
  }
}

/**
 * A date for people: ISO-like, to the minute, in local time. A claimed time past what a Date
 * holds (core takes any safe integer, a Date ends in year 275760) is written as the number.
 */
export function when(ts: number): string {
  const d = new Date(ts)
  if (Number.isNaN(d.getTime())) return `ts ${ts} (no such date)`
  const pad = (n: number) => String(n).padStart(2, '0')
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`
}

/** Strips control characters (terminal escapes) from text someone else wrote. */
export function clean(text: string): string {
  // Keep newlines and tabs; drop C0/C1 controls, which could move the cursor or recolour the terminal.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: that is the point
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, '')
}

/** Indents every line of `text` by `n` spaces. */
export function indent(text: string, n = 2): string {
  const pad = ' '.repeat(n)
  return text
    .split('\n')
    .map((l) => pad + l)
    .join('\n')
}
