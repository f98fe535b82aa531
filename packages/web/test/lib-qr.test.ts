/**
 * lib/qr.ts: the path, filled as SVG fills it, paints exactly the dark modules of a QR code
 * (checked against the finder, timing and format structure ISO 18004 fixes, and against
 * lean-qr's own module grid), and the module stays small in a bundle.
 */
import assert from 'node:assert/strict'
import path from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { bundleSize } from '@murmur/testkit/browser'
import fc from 'fast-check'
import { correction, generate } from 'lean-qr/nano'
import { qrSvgPath } from '../src/lib/qr.js'

type Point = readonly [number, number]

/** The closed polygons of a path made of `M x y`, `L x y` and `Z` only. */
function polygons(d: string): Point[][] {
  assert.match(d, /^(M\d+ \d+(L\d+ \d+)*Z)*$/, 'only M, L and Z with integer coordinates')
  return [...d.matchAll(/M([^Z]*)Z/g)].map((m) =>
    m[1]!.split('L').map((xy) => xy.split(' ').map(Number) as unknown as Point),
  )
}

/**
 * Which module centres the path fills under SVG's default nonzero rule: the winding number
 * of each centre, counted along a ray to the right.
 */
function rasterise(d: string, size: number): boolean[][] {
  const edges = polygons(d).flatMap((poly) => poly.map((p, i) => [p, poly[(i + 1) % poly.length]!] as const))
  return Array.from({ length: size }, (_, y) =>
    Array.from({ length: size }, (_, x) => {
      const [px, py] = [x + 0.5, y + 0.5]
      let winding = 0
      for (const [[x0, y0], [x1, y1]] of edges) {
        if (x0 !== x1 || x0 < px) continue // only vertical edges to the right cross the ray
        if (py > Math.min(y0, y1) && py < Math.max(y0, y1)) winding += y1 > y0 ? 1 : -1
      }
      return winding !== 0
    }),
  )
}

/** Asserts the 7×7 finder pattern (ISO 18004 §6.3.3) with its top-left corner at `x`, `y`. */
function assertFinder(grid: boolean[][], x: number, y: number): void {
  for (let dy = 0; dy < 7; dy++) {
    for (let dx = 0; dx < 7; dx++) {
      const ring = Math.max(Math.abs(dx - 3), Math.abs(dy - 3))
      assert.equal(grid[y + dy]![x + dx], ring !== 2, `finder at ${x},${y}: module ${dx},${dy}`)
    }
  }
}

test('qrSvgPath: one path of dark modules in a QR layout, with a quiet zone in the viewBox', () => {
  const qr = qrSvgPath('web+murmur:invite#@AbCdEfGh1234567890abcdefghijklmnopqrstuvw-_.ed25519')
  assert.equal((qr.size - 17) % 4, 0, 'size is 4 × version + 17')
  assert.equal(qr.viewBox, `-4 -4 ${qr.size + 8} ${qr.size + 8}`)
  const grid = rasterise(qr.path, qr.size)
  assertFinder(grid, 0, 0)
  assertFinder(grid, qr.size - 7, 0)
  assertFinder(grid, 0, qr.size - 7)
  for (let i = 8; i < qr.size - 8; i++) {
    assert.equal(grid[6]![i], i % 2 === 0, `horizontal timing at ${i}`)
    assert.equal(grid[i]![6], i % 2 === 0, `vertical timing at ${i}`)
  }
  assert.equal(grid[qr.size - 8]![8], true, 'the dark module')
})

test('qrSvgPath: the path paints exactly lean-qr’s modules, for any text', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 200, unit: 'grapheme' }), fc.constantFrom('L', 'M', 'Q', 'H'), (text, level) => {
      const qr = qrSvgPath(text, { correction: level })
      const code = generate(text, { minCorrectionLevel: correction[level] })
      assert.equal(qr.size, code.size)
      const grid = rasterise(qr.path, qr.size)
      for (let y = 0; y < qr.size; y++) for (let x = 0; x < qr.size; x++) assert.equal(grid[y]![x], code.get(x, y))
    }),
    { numRuns: 60 },
  )
})

test('qrSvgPath: more correction or more text takes more modules; margin is the quiet zone', () => {
  const text = 'https://murmur.example/#invite=@AbCdEfGh1234567890abcdefghijklmnopqrstuvw-_.ed25519'
  assert.equal(qrSvgPath('hi').size, 21)
  assert.ok(qrSvgPath(text, { correction: 'H' }).size > qrSvgPath(text, { correction: 'L' }).size)
  assert.ok(qrSvgPath(text.repeat(4)).size > qrSvgPath(text).size)
  assert.equal(qrSvgPath('hi', { margin: 0 }).viewBox, '0 0 21 21')
  assert.equal(qrSvgPath('hi', { margin: 2 }).viewBox, '-2 -2 25 25')
})

test('qrSvgPath: text too long for any QR code, or a bad margin, is a RangeError', () => {
  assert.throws(() => qrSvgPath('x'.repeat(3000)), {
    name: 'RangeError',
    message: /too long for a QR code: 3000 bytes/,
  })
  assert.ok(qrSvgPath('x'.repeat(2300)).size <= 177)
  for (const margin of [-1, 1.5, Number.NaN]) assert.throws(() => qrSvgPath('hi', { margin }), RangeError)
})

test('qr.ts stays small in a page bundle', async (t) => {
  const here = path.dirname(fileURLToPath(import.meta.url))
  const size = await bundleSize(path.join(here, '../src/lib/qr.js'))
  t.diagnostic(`lib/qr.js with lean-qr, minified: ${size.raw} bytes, gzipped: ${size.gzip} bytes`)
  assert.ok(size.gzip < 3500, `${size.gzip} bytes gzipped`)
})
