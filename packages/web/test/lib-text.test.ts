import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import {
  cleanName,
  fullTime,
  isoTime,
  linkify,
  MAX_NAME_CODE_POINTS,
  relativeTime,
  shortId,
  type TextPiece,
} from '../src/lib/text.js'

const t = (text: string): TextPiece => ({ kind: 'text', text })
const a = (text: string, href = text): TextPiece => ({ kind: 'link', href, text })

test('linkify finds http(s) links and leaves the sentence punctuation after them out', () => {
  const cases: [string, TextPiece[]][] = [
    ['', []],
    ['no links here', [t('no links here')]],
    ['https://example.com', [a('https://example.com', 'https://example.com/')]],
    ['see https://example.com/a?b=1#c.', [t('see '), a('https://example.com/a?b=1#c'), t('.')]],
    ['HTTP://Example.COM/Path', [a('HTTP://Example.COM/Path', 'http://example.com/Path')]],
    ['(see https://example.com/x)', [t('(see '), a('https://example.com/x'), t(')')]],
    ['https://en.wikipedia.org/wiki/Foo_(bar), ok', [a('https://en.wikipedia.org/wiki/Foo_(bar)'), t(', ok')]],
    ['(https://en.wikipedia.org/wiki/Foo_(bar))', [t('('), a('https://en.wikipedia.org/wiki/Foo_(bar)'), t(')')]],
    ['[https://example.com/a]', [t('['), a('https://example.com/a'), t(']')]],
    ['"https://example.com/q"', [t('"'), a('https://example.com/q'), t('"')]],
    ["'https://example.com/q'", [t("'"), a('https://example.com/q'), t("'")]],
    ['<https://example.com/q>', [t('<'), a('https://example.com/q'), t('>')]],
    ['wow https://example.com/q!!! really?', [t('wow '), a('https://example.com/q'), t('!!! really?')]],
    ['https://example.com/q…', [a('https://example.com/q'), t('…')]],
    ['看 https://example.com/q。', [t('看 '), a('https://example.com/q'), t('。')]],
    ['**https://example.com/q**', [t('**'), a('https://example.com/q'), t('**')]],
    [
      'a https://x.example/1 and http://y.example/2',
      [t('a '), a('https://x.example/1'), t(' and '), a('http://y.example/2')],
    ],
    ['https://example.com/a\nhttps://example.com/b', [a('https://example.com/a'), t('\n'), a('https://example.com/b')]],
    // Non-ASCII paths and hosts: shown as written, linked percent-encoded / punycoded.
    ['https://例え.jp/ページ', [a('https://例え.jp/ページ', 'https://xn--r8jz45g.jp/%E3%83%9A%E3%83%BC%E3%82%B8')]],
  ]
  for (const [input, expected] of cases) assert.deepEqual(linkify(input), expected, JSON.stringify(input))
})

test('linkify never links other schemes, bare domains, userinfo or broken URLs', () => {
  for (const input of [
    'javascript:alert(1)',
    'javascript://example.com/%0aalert(1)',
    'data:text/html,<script>alert(1)</script>',
    'vbscript:msgbox',
    'file:///etc/passwd',
    'ftp://example.com/',
    'example.com and www.example.com',
    'https://',
    'https://.',
    'https://...',
    'http:///path',
    'https:///\\example.com',
    'https://\\example.com',
    'https://[::1',
    'https://user:pass@example.com/',
    'https://bank.example@evil.example/',
    'xhttps://example.com',
    'see_https://example.com',
  ]) {
    assert.ok(
      linkify(input).every((p) => p.kind === 'text'),
      `${JSON.stringify(input)} -> ${JSON.stringify(linkify(input))}`,
    )
  }
  // The link inside a javascript: "URL" is an https link in its own right, and only that is linked.
  assert.deepEqual(linkify('javascript:https://example.com'), [
    t('javascript:'),
    a('https://example.com', 'https://example.com/'),
  ])
})

test('linkify ends a link at bidi controls and invisible characters, so they cannot disguise it', () => {
  assert.deepEqual(linkify('https://example.com/a\u202Egpj.exe'), [a('https://example.com/a'), t('\u202Egpj.exe')])
  assert.deepEqual(linkify('https://example.com/a\u200Bb'), [a('https://example.com/a'), t('\u200Bb')])
  assert.deepEqual(linkify('https://example.com/a\u00A0b'), [a('https://example.com/a'), t('\u00A0b')])
})

const linkyText = fc
  .array(
    fc.oneof(
      fc.constantFrom(
        'https://',
        'http://',
        'HTTPS://',
        'javascript:',
        'data:',
        'example.com',
        'a.b',
        '/',
        '?q=1',
        '#f',
        '(',
        ')',
        '[',
        ']',
        '.',
        ',',
        '!',
        ':',
        '@',
        ' ',
        '\n',
        '"',
        '<',
        '\u202E',
        '\u200B',
        'é',
        '👍',
        '_',
        '\\',
      ),
      fc.string({ maxLength: 3 }),
    ),
    { maxLength: 20 },
  )
  .map((parts) => parts.join(''))

test('linkify: the pieces give back the text; links are http(s) and well-formed', () => {
  fc.assert(
    fc.property(linkyText, (text) => {
      const pieces = linkify(text)
      assert.equal(pieces.map((p) => p.text).join(''), text)
      pieces.forEach((p, i) => {
        assert.notEqual(p.text, '')
        if (p.kind === 'text') assert.notEqual(pieces[i + 1]?.kind, 'text', 'text runs are merged')
        else {
          const url = new URL(p.href)
          assert.ok(url.protocol === 'http:' || url.protocol === 'https:', p.href)
          assert.equal(url.href, p.href)
          assert.equal(url.username + url.password, '')
          assert.match(p.text, /^https?:\/\//i)
          assert.doesNotMatch(p.text, /[.,:;!?'"]$/)
          assert.doesNotMatch(p.text, /[\s\p{Cc}\p{Cf}<>"]/u)
        }
      })
    }),
    { numRuns: 2000 },
  )
})

test('cleanName strips controls, bidi and invisible characters, and collapses whitespace', () => {
  const cases: [string, string][] = [
    ['Alice', 'Alice'],
    ['  Alice \t\n Smith  ', 'Alice Smith'],
    ['Al\u0000ice\u007F\u0085\u009B', 'Alice'],
    // Trojan Source: overrides, embeddings, isolates and marks.
    ['\u202EecilA\u202C', 'ecilA'],
    ['a\u202Ab\u202Bc\u202Dd\u2066e\u2067f\u2068g\u2069h\u200Ei\u200Fj\u061Ck', 'abcdefghijk'],
    // Zero-width and invisible characters: a name that looks like another, or like nothing.
    ['Al\u200Bi\u2060c\uFEFFe\u00AD', 'Alice'],
    ['\u3164', ''],
    ['\u115F\u1160\uFFA0\u034F', ''],
    ['\u200B\u200C\u200D', ''],
    ['a\u200Db', 'ab'],
    ['a\u200Cb', 'ab'],
    // Whitespace of every kind becomes one space.
    ['a\u00A0\u2003\u3000\u2028\u2029\u2800b', 'a b'],
    // Stacks of combining marks are cut to four.
    ['q\u0301\u0302\u0303\u0304\u0305\u0306\u0307\u0308', 'q\u0301\u0302\u0303\u0304'],
    // NFC: e + combining acute is é.
    ['Jose\u0301', 'José'],
    // Kept: emoji ZWJ sequences, skin tones, keycaps, subdivision flags.
    ['👩🏽\u200D💻 Dev', '👩🏽\u200D💻 Dev'],
    ['🏳️\u200D🌈', '🏳️\u200D🌈'],
    ['👨\u200D👩\u200D👧', '👨\u200D👩\u200D👧'],
    ['1️⃣', '1️⃣'],
    [
      '🏴\u{E0067}\u{E0062}\u{E0073}\u{E0063}\u{E0074}\u{E007F}',
      '🏴\u{E0067}\u{E0062}\u{E0073}\u{E0063}\u{E0074}\u{E007F}',
    ],
    ['a\u{E0061}b', 'ab'],
    // Kept: the joiners that Persian and Indic spelling need.
    ['می\u200Cخواهم', 'می\u200Cخواهم'],
    ['क्\u200Dष', 'क्\u200Dष'],
    // Right-to-left names stay (the UI isolates them with <bdi>).
    ['שלום', 'שלום'],
    ['\uD800lone', 'lone'],
  ]
  for (const [input, expected] of cases) assert.equal(cleanName(input), expected, JSON.stringify(input))
})

test('cleanName caps a name at 100 code points without splitting a character', () => {
  assert.equal(cleanName('x'.repeat(500)), 'x'.repeat(MAX_NAME_CODE_POINTS))
  // 99 letters and a 4-code-point emoji: the emoji does not fit whole, so it goes whole.
  const cut = cleanName(`${'x'.repeat(99)}👩🏽\u200D💻`)
  assert.equal(cut, 'x'.repeat(99))
  assert.equal(cleanName(`${'x'.repeat(96)}👩🏽\u200D💻`), `${'x'.repeat(96)}👩🏽\u200D💻`)
  // A cut before a space leaves no trailing space.
  assert.equal(cleanName(`${'x'.repeat(99)} yz`), 'x'.repeat(99))
  assert.equal(Array.from(cleanName('😀'.repeat(150))).length, 100)
})

const FORBIDDEN = /[\p{Cc}\u202A-\u202E\u2066-\u2069\u200E\u200F\u061C\u200B\u2060\uFEFF\u00AD\u3164]|\s\s|^\s|\s$/u

test('cleanName: output is short, clean, trimmed, NFC, and cleaning twice changes nothing', () => {
  const nameChars = fc.string({
    unit: fc.oneof(
      fc.constantFrom(
        ...' \t\n\u00A0\u200B\u200C\u200D\u202E\u2066\u061C\uFEFF\u0301\u0308\u093F\uFE0F👩🏽💻🏴\u{E0067}\u{E007F}aé中ی'.split(
          /(?:)/u,
        ),
      ),
      fc.string({ unit: 'grapheme', maxLength: 1 }),
      fc.string({ unit: 'binary', maxLength: 1 }),
    ),
    maxLength: 130,
  })
  fc.assert(
    fc.property(nameChars, (name) => {
      const out = cleanName(name)
      assert.ok(Array.from(out).length <= MAX_NAME_CODE_POINTS)
      assert.doesNotMatch(out, FORBIDDEN)
      assert.equal(out, out.normalize('NFC'))
      assert.equal(cleanName(out), out)
    }),
    { numRuns: 3000 },
  )
})

const NOW = Date.UTC(2024, 5, 15, 12, 0, 0) // Saturday 15 June 2024, 12:00 UTC
const UTC = { locale: 'en-GB', timeZone: 'UTC' }
const S = 1000
const M = 60 * S
const H = 60 * M
const D = 24 * H

test('relativeTime: just now, minutes, hours, days, then a short date', () => {
  const cases: [number, string][] = [
    [NOW, 'just now'],
    [NOW - 59 * S, 'just now'],
    [NOW + 30 * S, 'just now'], // a little clock skew
    [NOW - M, '1 min'],
    [NOW - 59 * M - 59 * S, '59 min'],
    [NOW - H, '1 h'],
    [NOW - 23 * H - 59 * M, '23 h'],
    [NOW - D, '1 d'],
    [NOW - 6 * D - 23 * H, '6 d'],
    [NOW - 7 * D, '8 Jun'],
    [Date.UTC(2024, 0, 1), '1 Jan'],
    [Date.UTC(2023, 11, 31, 23, 59), '31 Dec 2023'],
    [Date.UTC(1970, 0, 1), '1 Jan 1970'],
    // A claimed time in the future reads as a date, not as "just now".
    [NOW + 2 * M, '15 Jun'],
    [NOW + 400 * D, '20 Jul 2025'],
  ]
  for (const [ts, expected] of cases) assert.equal(relativeTime(ts, NOW, UTC), expected, new Date(ts).toISOString())
})

test('relativeTime and fullTime: a time no Date holds is empty, not an exception', () => {
  for (const ts of [Number.NaN, Number.POSITIVE_INFINITY, -Number.MAX_VALUE, 8.64e15 + 1, 1e300]) {
    assert.equal(relativeTime(ts, NOW, UTC), '')
    assert.equal(fullTime(ts, UTC), '')
  }
  assert.equal(relativeTime(NOW, Number.NaN, UTC), '')
  assert.match(relativeTime(8.64e15, NOW, UTC), /^13 \S+ 275760$/)
  fc.assert(
    fc.property(fc.double(), fc.double(), (ts, now) => {
      assert.equal(typeof relativeTime(ts, now, UTC), 'string')
    }),
  )
  assert.throws(() => relativeTime(0, NOW, { timeZone: 'Nowhere/Atlantis' }), RangeError)
})

test('isoTime: the datetime of a claimed time, undefined (not an exception) past what a Date holds', () => {
  assert.equal(isoTime(0), '1970-01-01T00:00:00.000Z')
  assert.equal(isoTime(8.64e15), '+275760-09-13T00:00:00.000Z')
  // Core takes any non-negative safe integer as `ts`: Number.MAX_SAFE_INTEGER is a valid claim.
  for (const ts of [Number.MAX_SAFE_INTEGER, 8.64e15 + 1, Number.NaN, Number.POSITIVE_INFINITY, -1e300]) {
    assert.equal(isoTime(ts), undefined)
  }
  fc.assert(
    fc.property(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), (ts) => {
      const iso = isoTime(ts)
      assert.ok(iso === undefined || Date.parse(iso) === ts)
    }),
  )
})

test('relativeTime uses the time zone for the year; fullTime writes date and time', () => {
  // 31 Dec 2023 20:00 in New York is already 2024 in UTC.
  const newYearsEve = Date.UTC(2024, 0, 1, 1, 0)
  const later = Date.UTC(2024, 2, 1)
  assert.equal(relativeTime(newYearsEve, later, UTC), '1 Jan')
  assert.equal(relativeTime(newYearsEve, later, { locale: 'en-GB', timeZone: 'America/New_York' }), '31 Dec 2023')
  assert.equal(fullTime(NOW, UTC), '15 Jun 2024, 12:00')
})

test('shortId: a feed id by its fingerprint, other ids by their last characters', () => {
  assert.equal(shortId('@AbCdEfGh1234567890abcdefghijklmnopqrstuvw-_.ed25519'), '@AbCdEfGh')
  assert.equal(shortId('bafyreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy'), '…qa4s52zy')
  assert.equal(shortId('short'), 'short')
  assert.equal(shortId(''), '')
})
