/**
 * lib/image.ts in Node: sniffing by magic bytes, the size arithmetic, the checks that run
 * before any decoding, and blob: URLs (Node has URL.createObjectURL). The canvas work is
 * tested in Chromium (lib-image.browser.test.ts).
 */
import assert from 'node:assert/strict'
import { resolveObjectURL } from 'node:buffer'
import { test } from 'node:test'
import fc from 'fast-check'
import {
  fitWithin,
  ImageError,
  imageUrl,
  MAX_INPUT_BYTES,
  reencodeImage,
  SNIFF_BYTES,
  sniffImage,
} from '../src/lib/image.js'

const bytes = (...parts: (string | number[])[]): Uint8Array =>
  Uint8Array.from(parts.flatMap((p) => (typeof p === 'string' ? Array.from(p, (c) => c.charCodeAt(0)) : p)))
const be32 = (n: number) => [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]

/** The first bytes of real files of each format (from the format specs). */
const RASTER: readonly [string, Uint8Array, string | undefined][] = [
  ['JPEG/JFIF', bytes([0xff, 0xd8, 0xff, 0xe0, 0, 16], 'JFIF\0'), 'image/jpeg'],
  ['JPEG/Exif', bytes([0xff, 0xd8, 0xff, 0xe1, 0x12, 0x34], 'Exif\0\0'), 'image/jpeg'],
  ['PNG', bytes([0x89], 'PNG\r\n\x1a\n', [0, 0, 0, 13], 'IHDR'), 'image/png'],
  ['GIF87a', bytes('GIF87a', [1, 0, 1, 0]), 'image/gif'],
  ['GIF89a', bytes('GIF89a', [1, 0, 1, 0]), 'image/gif'],
  ['WebP lossy', bytes('RIFF', [0x24, 0, 0, 0], 'WEBPVP8 '), 'image/webp'],
  ['WebP lossless', bytes('RIFF', [0x24, 0, 0, 0], 'WEBPVP8L'), 'image/webp'],
  ['AVIF', bytes(be32(0x20), 'ftypavif', [0, 0, 0, 0], 'avifmif1miafMA1B'), 'image/avif'],
  ['AVIF sequence', bytes(be32(0x1c), 'ftypavis', [0, 0, 0, 0], 'avismsf1'), 'image/avif'],
  ['AVIF as a compatible brand', bytes(be32(0x18), 'ftypmif1', [0, 0, 0, 0], 'avif'), 'image/avif'],
  // Not raster images, or not ones we accept:
  ['HEIC', bytes(be32(0x18), 'ftypheic', [0, 0, 0, 0], 'mif1'), undefined],
  ['MP4', bytes(be32(0x18), 'ftypisom', [0, 0, 2, 0], 'isom'), undefined],
  ['an ftyp box too short for its brands', bytes(be32(0x10), 'ftypmif1', [0, 0, 0, 0], 'avif'), undefined],
  ['WAV (RIFF but not WEBP)', bytes('RIFF', [0x24, 0, 0, 0], 'WAVEfmt '), undefined],
  ['GIF90a', bytes('GIF90a'), undefined],
  ['PNG signature cut short', bytes([0x89], 'PNG\r\n'), undefined],
  ['two bytes of JPEG', bytes([0xff, 0xd8]), undefined],
  ['SVG', bytes('<svg xmlns="http://www.w3.org/2000/svg"/>'), undefined],
  ['SVG with an XML declaration', bytes('<?xml version="1.0"?><svg/>'), undefined],
  ['SVG with a BOM', bytes([0xef, 0xbb, 0xbf], '<svg/>'), undefined],
  ['HTML', bytes('<!doctype html><script>alert(1)</script>'), undefined],
  ['HTML naming "ftypavif" where a box would', bytes('<p>!ftypavif'), undefined],
  ['PDF', bytes('%PDF-1.7'), undefined],
  ['nothing', bytes(), undefined],
]

test('sniffImage knows JPEG, PNG, GIF, WebP and AVIF by their magic bytes, and nothing else', () => {
  for (const [what, input, type] of RASTER) assert.equal(sniffImage(input), type, what)
  // Bytes after the magic do not matter: an SVG glued after a PNG signature is a PNG to us
  // (and the browser decodes it as one, or not at all).
  assert.equal(sniffImage(bytes([0x89], 'PNG\r\n\x1a\n<svg/>')), 'image/png')
})

test('sniffImage: text (SVG, HTML, XML, JSON) is never an image, and only magic decides', () => {
  fc.assert(
    fc.property(fc.string(), fc.constantFrom('<', ' ', '\n', '\ufeff<', '{', '%', 'a'), (text, lead) => {
      assert.equal(sniffImage(new TextEncoder().encode(lead + text)), undefined)
    }),
  )
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 80 }), (random) => {
      const type = sniffImage(random)
      if (type === 'image/jpeg') assert.deepEqual([...random.subarray(0, 3)], [0xff, 0xd8, 0xff])
      if (type === 'image/png') assert.equal(random[1], 0x50)
      // Only the first SNIFF_BYTES count.
      assert.equal(sniffImage(random.subarray(0, SNIFF_BYTES)), type)
    }),
  )
})

test('fitWithin scales the longer side down to the limit, keeps the ratio, never scales up', () => {
  assert.deepEqual(fitWithin(3000, 1000, 2048), { width: 2048, height: 683 })
  assert.deepEqual(fitWithin(1000, 3000, 2048), { width: 683, height: 2048 })
  assert.deepEqual(fitWithin(4032, 3024, 2048), { width: 2048, height: 1536 })
  assert.deepEqual(fitWithin(2048, 2048, 2048), { width: 2048, height: 2048 })
  assert.deepEqual(fitWithin(640, 480, 2048), { width: 640, height: 480 })
  assert.deepEqual(fitWithin(100_000, 1, 2048), { width: 2048, height: 1 })
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 50_000 }), fc.integer({ min: 1, max: 50_000 }), (w, h) => {
      const out = fitWithin(w, h, 2048)
      assert.ok(Math.max(out.width, out.height) <= 2048)
      assert.ok(out.width >= 1 && out.height >= 1 && out.width <= w && out.height <= h)
      if (Math.max(w, h) > 2048) assert.equal(Math.max(out.width, out.height), 2048)
    }),
  )
})

async function rejection(p: Promise<unknown>): Promise<ImageError> {
  try {
    await p
  } catch (err) {
    assert.ok(err instanceof ImageError, `an ImageError, got ${String(err)}`)
    return err
  }
  assert.fail('it resolved')
}

test('reencodeImage refuses oversized files before decoding and non-images whatever they claim', async () => {
  const huge = new Blob([new Uint8Array(MAX_INPUT_BYTES + 1)], { type: 'image/jpeg' })
  const tooLarge = await rejection(reencodeImage(huge))
  assert.equal(tooLarge.code, 'TOO_LARGE')
  assert.match(tooLarge.message, /40 MB/)

  for (const [text, type] of [
    ['<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', 'image/svg+xml'],
    ['<svg/>', 'image/png'],
    ['<!doctype html><img src=x onerror=alert(1)>', 'image/jpeg'],
    ['', 'image/gif'],
  ] as const) {
    const err = await rejection(reencodeImage(new Blob([text], { type })))
    assert.equal(err.code, 'NOT_AN_IMAGE', type)
    assert.equal(err.message, 'This file is not a JPEG, PNG, GIF, WebP or AVIF image.')
  }
})

test('reencodeImage rejects options out of range as misuse', async () => {
  const png = new Blob([bytes([0x89], 'PNG\r\n\x1a\n') as Uint8Array<ArrayBuffer>])
  for (const opts of [{ maxSide: 0 }, { maxSide: 1.5 }, { quality: 0 }, { quality: 1.1 }, { maxBytes: 0 }]) {
    await assert.rejects(reencodeImage(png, opts), RangeError, JSON.stringify(opts))
  }
})

test('imageUrl types the blob: URL by the sniffed bytes, and gives none for non-images', async () => {
  const png = bytes([0x89], 'PNG\r\n\x1a\n', [0, 0, 0, 13], 'IHDR')
  const image = imageUrl(png)
  assert.ok(image)
  assert.equal(image.type, 'image/png')
  assert.match(image.url, /^blob:/)
  const blob = resolveObjectURL(image.url)
  assert.ok(blob)
  assert.equal(blob.type, 'image/png')
  assert.deepEqual(new Uint8Array(await blob.arrayBuffer()), png)
  image.revoke()
  image.revoke()
  assert.equal(resolveObjectURL(image.url), undefined)

  for (const [what, input, type] of RASTER) {
    const url = imageUrl(input)
    assert.equal(url?.type, type, what)
    url?.revoke()
  }
})
