/**
 * Text that other people wrote, made safe and short to show: links found in posts, names
 * cleaned of characters that hide or reorder text, times and ids in a few characters.
 *
 * Everything here is pure and returns plain strings or pieces: the UI renders them through
 * lit-html, which escapes text, so nothing here produces HTML.
 */

/** A piece of a post's text: a plain run, or a web link to render as `<a>`. */
export type TextPiece =
  | { readonly kind: 'text'; readonly text: string }
  | {
      readonly kind: 'link'
      /** The normalised `http:` or `https:` URL to put in `href`. */
      readonly href: string
      /** The link as written in the post, to show. */
      readonly text: string
    }

// A link starts with http:// or https:// not glued to a word before it, and runs to the next
// space, angle bracket or double quote. Control and format characters (bidi overrides,
// zero-width spaces) end it too: inside a link they would reorder or hide what it shows. A
// slash or backslash right after `//` is no host: URL parsers skip it (`http:///x` goes to
// host `x`), so what is shown would not be where it goes.
const LINK = /(?<![\p{L}\p{N}_])https?:\/\/(?![/\\])[^\s<>"\p{Cc}\p{Cf}\p{Z}]+/giu

// Punctuation that ends a sentence rather than a URL (as GitHub's autolinks treat it), with
// the CJK and typographic forms people type after a link.
const TRAILING = /[.,:;!?'"`*_~…。、，．：；！？’”»›]$/u
const CLOSERS: Readonly<Record<string, string>> = { ')': '(', ']': '[', '}': '{' }

function count(text: string, c: string): number {
  let n = 0
  for (const x of text) if (x === c) n++
  return n
}

/** `candidate` without the punctuation after it that belongs to the sentence. */
function trimLink(candidate: string): string {
  let s = candidate
  for (;;) {
    const last = s.at(-1) ?? ''
    if (TRAILING.test(last)) {
      s = s.slice(0, -1)
      continue
    }
    // A closing bracket stays when it closes one opened inside the link (Wikipedia's `Foo_(bar)`).
    const open = CLOSERS[last]
    if (open !== undefined && count(s, last) > count(s, open)) {
      s = s.slice(0, -1)
      continue
    }
    return s
  }
}

/** The URL to link to for `text`, or undefined when it should stay plain text. */
function linkHref(text: string): string | undefined {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    return undefined
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined
  // `https://bank.example@evil.example` shows one host and goes to another: leave it as text.
  if (url.hostname === '' || url.username !== '' || url.password !== '') return undefined
  return url.href
}

/**
 * Splits `text` into plain runs and web links. Only `http:` and `https:` URLs written out in
 * full become links (never `javascript:`, `data:` or bare domains); punctuation after a link
 * is left out of it, except closing brackets that balance ones inside it; links with a user
 * name or password (`https://a.example@b.example`) stay text. Concatenating the pieces' `text`
 * gives back `text`; no two text pieces are adjacent and none is empty.
 *
 * Render links as `<a href=${href} rel="noopener noreferrer nofollow" target="_blank">`.
 */
export function linkify(text: string): TextPiece[] {
  const pieces: TextPiece[] = []
  const pushText = (run: string) => {
    if (run === '') return
    const prev = pieces.at(-1)
    if (prev?.kind === 'text') pieces[pieces.length - 1] = { kind: 'text', text: prev.text + run }
    else pieces.push({ kind: 'text', text: run })
  }
  let at = 0
  for (const m of text.matchAll(LINK)) {
    const start = m.index
    const link = trimLink(m[0])
    const href = linkHref(link)
    if (href === undefined) continue
    pushText(text.slice(at, start))
    pieces.push({ kind: 'link', href, text: link })
    at = start + link.length
  }
  pushText(text.slice(at))
  return pieces
}

/** The longest name {@link cleanName} returns, in code points. */
export const MAX_NAME_CODE_POINTS = 100

// Invisible characters: every format character (bidi embeddings, overrides, isolates and
// marks, zero-width space and joiners, word joiner, BOM, soft hyphen, tags), plus the Hangul
// fillers, the combining grapheme joiner and the Khmer inherent vowels, which render as
// nothing. They let two names look alike, or a name look empty, or reorder what follows
// (CVE-2021-42574, "Trojan Source").
const INVISIBLE = /\p{Cf}|[\u115f\u1160\u3164\uffa0]|\u034f|\u17b4|\u17b5/gu
// The few places such a character carries meaning and is kept: a zero-width joiner inside an
// emoji sequence (woman technologist: U+1F469 U+1F3FD U+200D U+1F4BB; the rainbow flag)...
const EMOJI_ZWJ = /(?<=\p{Extended_Pictographic}[\uFE0F\u{1F3FB}-\u{1F3FF}]?)\u200D(?=\p{Extended_Pictographic})/uy
// ...joiners between letters of scripts whose spelling uses them (Persian, Indic conjuncts)...
const JOINING =
  '\\p{scx=Arab}\\p{scx=Syrc}\\p{scx=Deva}\\p{scx=Beng}\\p{scx=Guru}\\p{scx=Gujr}\\p{scx=Orya}' +
  '\\p{scx=Taml}\\p{scx=Telu}\\p{scx=Knda}\\p{scx=Mlym}\\p{scx=Sinh}'
const SCRIPT_JOINER = new RegExp(
  `(?<=[\\p{L}\\p{M}])(?<=[${JOINING}])[\\u200C\\u200D](?=[\\p{L}\\p{M}])(?=[${JOINING}])`,
  'uy',
)
// ...and the tag characters of a subdivision flag (🏴 + tags + cancel tag, e.g. Scotland).
const FLAG_TAG = /(?<=\u{1F3F4}[\u{E0020}-\u{E007E}]*)[\u{E0020}-\u{E007F}]/uy

function keepInvisible(all: string, at: number): boolean {
  for (const re of [EMOJI_ZWJ, SCRIPT_JOINER, FLAG_TAG]) {
    re.lastIndex = at
    if (re.test(all)) return true
  }
  return false
}

// Whitespace of every kind (tabs, newlines, line separators, no-break and ideographic spaces,
// the blank braille cell) becomes one space.
const WHITESPACE = /[\s\u2800]+/gu
// Other control characters (C0, DEL, C1) and lone surrogates go.
const CONTROL = /[\p{Cc}\p{Cs}]/gu
// Stacks of combining marks ("Zalgo" text) that spill over the lines around a name.
const MARK_PILE = /(\p{M}{4})\p{M}+/gu
// What a name may not end with after it was cut short: a joiner left with nothing to join.
const DANGLING = /(?:\u200C|\u200D|\s)+$/u

/**
 * A display name as it may be shown: Unicode NFC; control characters, bidi controls (U+202A–
 * U+202E, U+2066–U+2069, U+200E, U+200F, U+061C), zero-width and other invisible characters
 * removed (a zero-width joiner stays inside emoji sequences and, like the non-joiner, between
 * letters of Arabic-script and Indic scripts, where spelling needs it); whitespace collapsed
 * to single spaces and trimmed; stacks of more than four combining marks cut to four; at most
 * {@link MAX_NAME_CODE_POINTS} code points, cut between user-perceived characters.
 *
 * The result may be empty (a name of nothing but invisible characters). Render it inside
 * `<bdi>`, so a right-to-left name cannot reorder the text around it.
 */
export function cleanName(name: string): string {
  // Removing one character can change what another stands beside (a joiner left between marks,
  // two piles of marks joined once an invisible between them goes), so the round repeats until
  // nothing changes: after the first, rounds only remove, so it ends within a few.
  let s = name
  for (let round = 0; round < 8; round++) {
    const next = cleanRound(s)
    if (next === s) break
    s = next
  }
  return capCodePoints(s, MAX_NAME_CODE_POINTS)
}

function cleanRound(name: string): string {
  let s = name.normalize('NFC')
  s = s.replace(INVISIBLE, (c, at: number, all: string) => (keepInvisible(all, at) ? c : ''))
  s = s.replace(WHITESPACE, ' ').replace(CONTROL, '').normalize('NFC').replace(MARK_PILE, '$1')
  return s.replace(/ {2,}/g, ' ').trim()
}

/** `text` cut to at most `max` code points, between graphemes where Intl.Segmenter exists. */
function capCodePoints(text: string, max: number): string {
  const codePoints = Array.from(text)
  if (codePoints.length <= max) return text
  let cut = ''
  if (typeof Intl.Segmenter === 'function') {
    let n = 0
    for (const { segment } of new Intl.Segmenter(undefined, { granularity: 'grapheme' }).segment(text)) {
      n += Array.from(segment).length
      if (n > max) break
      cut += segment
    }
  } else {
    cut = codePoints.slice(0, max).join('')
  }
  return cut.replace(DANGLING, '').trim()
}

/** Where and how times are written: a BCP 47 locale and an IANA time zone (defaults: the browser's). */
export interface TimeFormatOptions {
  readonly locale?: string
  readonly timeZone?: string
}

const MINUTE = 60_000
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR
// The range of a JS Date (ECMA-262 §21.4.1.22): outside it no date can be written.
const MAX_DATE = 8.64e15

function validTime(ts: number): boolean {
  return Number.isFinite(ts) && Math.abs(ts) <= MAX_DATE
}

/**
 * How long ago `ts` was, seen at `now` (both epoch ms): `just now` under a minute, then `5 min`,
 * `3 h`, `2 d`, and from a week on a short date (`12 Mar`, with the year when not this year's).
 * A time more than a minute ahead of `now` (a claimed time is only a claim) is written as a
 * date too, so a post from "the future" does not pass as recent. `''` for a time no Date can
 * hold (remote data: never throws for it).
 * @throws {RangeError} when `opts` names an unknown locale or time zone (misuse).
 */
export function relativeTime(ts: number, now: number, opts: TimeFormatOptions = {}): string {
  if (!validTime(ts) || !validTime(now)) return ''
  const ago = now - ts
  if (ago >= -MINUTE) {
    if (ago < MINUTE) return 'just now'
    if (ago < HOUR) return `${Math.floor(ago / MINUTE)} min`
    if (ago < DAY) return `${Math.floor(ago / HOUR)} h`
    if (ago < 7 * DAY) return `${Math.floor(ago / DAY)} d`
  }
  const { locale, timeZone } = opts
  const year = new Intl.DateTimeFormat('en', { year: 'numeric', timeZone })
  const sameYear = year.format(ts) === year.format(now)
  return new Intl.DateTimeFormat(locale, {
    day: 'numeric',
    month: 'short',
    year: sameYear ? undefined : 'numeric',
    timeZone,
  }).format(ts)
}

/**
 * `ts` (epoch ms) as a full date and time, e.g. for a `title` beside {@link relativeTime};
 * `''` for a time no Date can hold.
 * @throws {RangeError} when `opts` names an unknown locale or time zone (misuse).
 */
export function fullTime(ts: number, opts: TimeFormatOptions = {}): string {
  if (!validTime(ts)) return ''
  return new Intl.DateTimeFormat(opts.locale, {
    dateStyle: 'medium',
    timeStyle: 'short',
    timeZone: opts.timeZone,
  }).format(ts)
}

/**
 * `ts` (epoch ms) in the ISO 8601 form a `<time datetime>` takes, or undefined for a time no
 * Date can hold: a claimed time is any safe integer (core checks no more), and
 * `new Date(ts).toISOString()` throws a RangeError past year 275760, which would break the
 * render of every page that shows the post.
 */
export function isoTime(ts: number): string | undefined {
  return validTime(ts) ? new Date(ts).toISOString() : undefined
}

const FEED_ID = /^@([A-Za-z0-9_-]+)\.ed25519$/

/**
 * An id in a few characters, for places with no room for a name: a feed id
 * (`@<key>.ed25519`) becomes `@` and the key's first 8 characters (core's `fingerprint`);
 * any other id (a message or blob CID, whose first characters are the same for all) becomes
 * `…` and its last 8.
 */
export function shortId(id: string): string {
  const feed = FEED_ID.exec(id)
  if (feed) return `@${feed[1]!.slice(0, 8)}`
  return id.length <= 9 ? id : `…${id.slice(-8)}`
}
