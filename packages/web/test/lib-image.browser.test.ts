/**
 * lib/image.ts in a real Chromium (see browser/lib-image.entry.ts): photos with EXIF and GPS
 * come out as clean, oriented, scaled JPEGs; transparent images stay PNG without their text
 * chunks; SVG and HTML are neither re-encoded nor given a URL.
 */
import assert from 'node:assert/strict'
import path from 'node:path'
import { after, before, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { callEntry, type EntryPage, openEntryPage } from '@murmur/testkit/browser'
import {
  ascii,
  EXIF_SECRET,
  fromBase64,
  GPS_LATITUDE,
  GPS_LONGITUDE,
  indexOfBytes,
  jpegSegments,
  PNG_SECRET,
  pngChunks,
  rationalBytes,
  toBase64,
} from '@murmur/testkit/images'
import type { ExifJpeg, ReencodeReport, Rgba, ShowReport } from './browser/lib-image.entry.js'

const here = path.dirname(fileURLToPath(import.meta.url))
const ENTRY = path.join(here, 'browser/lib-image.entry.js')

let page: EntryPage
before(async () => {
  page = await openEntryPage(ENTRY, 30_000)
})
after(async () => {
  await page?.close()
})

const SVG = '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect width="10" height="10"/></svg>'
const HTML = '<!doctype html><script>alert(1)</script>'

function ok(report: ReencodeReport): Extract<ReencodeReport, { ok: true }> {
  if (!report.ok) assert.fail(`reencode failed: ${report.name} ${report.code}: ${report.message}`)
  return report
}

function near(actual: Rgba, expected: Rgba, what: string): void {
  const close = actual.every((v, i) => Math.abs(v - expected[i]!) <= 24)
  assert.ok(close, `${what}: ${actual.join(',')} is not near ${expected.join(',')}`)
}
const RED: Rgba = [255, 0, 0, 255]
const BLUE: Rgba = [0, 0, 255, 255]

/** Width and height from a JPEG's SOFn segment. */
function jpegSize(bytes: Uint8Array): { width: number; height: number } {
  const sof = jpegSegments(bytes).find(
    (s) => s.marker >= 0xc0 && s.marker <= 0xcf && ![0xc4, 0xc8, 0xcc].includes(s.marker),
  )
  assert.ok(sof, 'the JPEG has a frame header')
  return { height: (sof.data[1]! << 8) | sof.data[2]!, width: (sof.data[3]! << 8) | sof.data[4]! }
}

/** Asserts `bytes` hold none of the metadata the fixtures put in. */
function assertNoMetadata(bytes: Uint8Array): void {
  assert.equal(indexOfBytes(bytes, ascii(EXIF_SECRET)), -1, 'the EXIF ImageDescription is gone')
  assert.equal(indexOfBytes(bytes, ascii(PNG_SECRET)), -1, 'the PNG comment is gone')
  assert.equal(indexOfBytes(bytes, rationalBytes(GPS_LATITUDE)), -1, 'the GPS latitude is gone')
  assert.equal(indexOfBytes(bytes, rationalBytes(GPS_LONGITUDE)), -1, 'the GPS longitude is gone')
}

/** The APP2 ICC profile of a JPEG, if any (a canvas export carries the canvas's own). */
function iccProfile(bytes: Uint8Array): Uint8Array | undefined {
  return jpegSegments(bytes).find((s) => s.marker === 0xe2)?.data
}

/**
 * Asserts a JPEG's header segments hold no APP1 (Exif, XMP), no comment, and no APPn but the
 * JFIF APP0 and the canvas's own colour profile (`canvasIcc`: the APP2 of any canvas export,
 * the same bytes whatever the source).
 */
function assertCleanJpeg(bytes: Uint8Array, canvasIcc: Uint8Array | undefined): void {
  const segments = jpegSegments(bytes)
  assert.deepEqual(
    segments.filter((s) => s.marker === 0xe1),
    [],
    'no APP1 segment',
  )
  for (const s of segments) {
    assert.equal(indexOfBytes(s.data, ascii('Exif')), -1, `no Exif in segment FF${s.marker.toString(16)}`)
    assert.notEqual(s.marker, 0xfe, 'no COM segment')
    if (s.marker === 0xe0) assert.deepEqual([...s.data.subarray(0, 5)], [...ascii('JFIF\0')])
    else if (s.marker === 0xe2) assert.deepEqual(s.data, canvasIcc, "APP2 is the canvas's ICC profile")
    else assert.ok(s.marker < 0xe0 || s.marker > 0xef, `no APP${s.marker - 0xe0}`)
  }
  assertNoMetadata(bytes)
}

test('a 3000×1000 JPEG with EXIF GPS comes out 2048 px wide, as a JPEG with no EXIF left', async () => {
  const input = await callEntry<ExifJpeg>(page, 'exifJpeg', { width: 3000, height: 1000 })
  const inBytes = fromBase64(input.base64)
  // The fixture is what it claims: an Exif APP1 right after SOI that holds GPS.
  assert.equal(jpegSegments(inBytes)[0]?.marker, 0xe1)
  assert.notEqual(indexOfBytes(inBytes, rationalBytes(GPS_LATITUDE)), -1)
  assert.notEqual(indexOfBytes(inBytes, ascii(EXIF_SECRET)), -1)
  assert.deepEqual(input.shown, { width: 3000, height: 1000 })
  const canvasIcc = iccProfile(inBytes)

  const out = ok(await callEntry<ReencodeReport>(page, 'reencode', { base64: input.base64, claimedType: 'image/jpeg' }))
  assert.equal(out.type, 'image/jpeg')
  assert.deepEqual({ width: out.width, height: out.height }, { width: 2048, height: 683 })
  const bytes = fromBase64(out.base64)
  assert.deepEqual(jpegSize(bytes), { width: 2048, height: 683 })
  assertCleanJpeg(bytes, canvasIcc)
  near(out.samples.left, RED, 'left half')
  near(out.samples.right, BLUE, 'right half')
})

test('the EXIF orientation is applied: a wide photo marked "rotate 90° clockwise" comes out tall', async () => {
  const input = await callEntry<ExifJpeg>(page, 'exifJpeg', { width: 1200, height: 400, orientation: 6 })
  // The browser reads the fixture's orientation: it is a real, well-formed Exif block.
  const inBytes = fromBase64(input.base64)
  assert.deepEqual(jpegSize(inBytes), { width: 1200, height: 400 })
  assert.deepEqual(input.shown, { width: 400, height: 1200 })

  const out = ok(await callEntry<ReencodeReport>(page, 'reencode', { base64: input.base64 }))
  assert.deepEqual({ width: out.width, height: out.height }, { width: 400, height: 1200 })
  const bytes = fromBase64(out.base64)
  assert.deepEqual(jpegSize(bytes), { width: 400, height: 1200 }, 'the pixels are rotated, not just tagged')
  assertCleanJpeg(bytes, iccProfile(inBytes))
  // The stored left (red) half is on top once turned a quarter clockwise.
  near(out.samples.top, RED, 'top')
  near(out.samples.bottom, BLUE, 'bottom')

  const small = ok(await callEntry<ReencodeReport>(page, 'reencode', { base64: input.base64, maxSide: 300 }))
  assert.deepEqual({ width: small.width, height: small.height }, { width: 100, height: 300 })
})

test('a PNG with transparent pixels stays PNG, keeps its alpha and loses its text chunks', async () => {
  const png = await callEntry<string>(page, 'textPng', { width: 600, height: 300, transparent: true })
  assert.ok(pngChunks(fromBase64(png)).some((c) => c.type === 'tEXt'))

  const out = ok(await callEntry<ReencodeReport>(page, 'reencode', { base64: png, claimedType: 'image/png' }))
  assert.equal(out.type, 'image/png')
  assert.deepEqual({ width: out.width, height: out.height }, { width: 600, height: 300 })
  const chunks = pngChunks(fromBase64(out.base64)).map((c) => c.type)
  for (const type of ['tEXt', 'zTXt', 'iTXt', 'eXIf', 'tIME'])
    assert.ok(!chunks.includes(type), `no ${type} in ${chunks}`)
  assertNoMetadata(fromBase64(out.base64))
  near(out.samples.left, RED, 'left half')
  assert.equal(out.samples.right[3], 0, 'the right half is still transparent')
})

test('an opaque PNG becomes a JPEG; a PNG over the byte budget is flattened on white', async () => {
  const canvasIcc = iccProfile(
    fromBase64((await callEntry<ExifJpeg>(page, 'exifJpeg', { width: 8, height: 8 })).base64),
  )
  const opaque = await callEntry<string>(page, 'textPng', { width: 600, height: 300, transparent: false })
  const out = ok(await callEntry<ReencodeReport>(page, 'reencode', { base64: opaque }))
  assert.equal(out.type, 'image/jpeg')
  assertCleanJpeg(fromBase64(out.base64), canvasIcc)

  const transparent = await callEntry<string>(page, 'textPng', { width: 600, height: 300, transparent: true })
  const pngSize = fromBase64(
    ok(await callEntry<ReencodeReport>(page, 'reencode', { base64: transparent })).base64,
  ).length
  const flat = ok(await callEntry<ReencodeReport>(page, 'reencode', { base64: transparent, maxBytes: pngSize - 1 }))
  assert.equal(flat.type, 'image/jpeg')
  near(flat.samples.right, [255, 255, 255, 255], 'transparent turned white, not black')
  assertCleanJpeg(fromBase64(flat.base64), canvasIcc)
})

test('what fits no budget, is no image, or is damaged is refused with a reason', async () => {
  const input = await callEntry<ExifJpeg>(page, 'exifJpeg', { width: 800, height: 600 })
  const tooBig = await callEntry<ReencodeReport>(page, 'reencode', { base64: input.base64, maxBytes: 100 })
  assert.deepEqual(tooBig.ok ? tooBig : { ok: false, code: tooBig.code }, { ok: false, code: 'TOO_LARGE' })

  for (const [text, claimedType] of [
    [SVG, 'image/svg+xml'],
    [SVG, 'image/png'],
    [HTML, 'image/jpeg'],
  ] as const) {
    const r = await callEntry<ReencodeReport>(page, 'reencode', { base64: toBase64(ascii(text)), claimedType })
    assert.ok(!r.ok)
    assert.equal(r.name, 'ImageError')
    assert.equal(r.code, 'NOT_AN_IMAGE', `${claimedType}: ${r.message}`)
    assert.match(r.message, /not a JPEG, PNG, GIF, WebP or AVIF image/)
  }

  // JPEG magic, then garbage: it sniffs as JPEG, and the browser's decoder says no.
  const damaged = toBase64(Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, 0, 16, ...ascii('JFIF\0'), 1, 2, 3, 4]))
  const r = await callEntry<ReencodeReport>(page, 'reencode', { base64: damaged })
  assert.deepEqual(r.ok ? r : { ok: false, code: r.code }, { ok: false, code: 'UNDECODABLE' })
})

test('imageUrl gives a typed blob: URL that an <img> loads, and none for SVG or HTML', async () => {
  const png = await callEntry<string>(page, 'textPng', { width: 40, height: 20, transparent: false })
  const shown = await callEntry<ShowReport>(page, 'show', png)
  assert.deepEqual(shown, {
    type: 'image/png',
    blobType: 'image/png',
    loaded: true,
    naturalWidth: 40,
    fetchableAfterRevoke: false,
  })
  for (const text of [SVG, HTML, `<?xml version="1.0"?>${SVG}`]) {
    assert.deepEqual(await callEntry<ShowReport>(page, 'show', toBase64(ascii(text))), { type: null })
  }
  // The only page error allowed is the fetch of the revoked URL failing.
  assert.deepEqual(
    page.pageErrors.filter((e) => !/ERR_FILE_NOT_FOUND|Failed to fetch/.test(e)),
    [],
  )
})
