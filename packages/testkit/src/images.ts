/**
 * Byte-level helpers for image tests (web unit tests, Chromium entries and e2e):
 * build an EXIF APP1 segment with a GPS IFD and splice it into a JPEG, add a text chunk to a
 * PNG, and list what a JPEG's or PNG's metadata holds. Written from the specs, not from the
 * code under test: Exif 2.32 §4.5–4.6 (TIFF header, IFDs, GPS IFD), JPEG ITU T.81 Annex B
 * (markers), PNG 3rd edition §5 (chunks, CRC-32).
 */

/** A marker no image should carry after re-encoding: the EXIF ImageDescription. */
export const EXIF_SECRET = 'MURMUR-EXIF-SECRET-ImageDescription'
/** A marker no image should carry after re-encoding: a PNG tEXt comment. */
export const PNG_SECRET = 'MURMUR-PNG-SECRET-Comment'
/** The GPS latitude written: 52° 31' 12.34" N, as three RATIONALs. */
export const GPS_LATITUDE: readonly (readonly [number, number])[] = [
  [52, 1],
  [31, 1],
  [1234, 100],
]
/** The GPS longitude written: 13° 24' 56.78" E. */
export const GPS_LONGITUDE: readonly (readonly [number, number])[] = [
  [13, 1],
  [24, 1],
  [5678, 100],
]

const ASCII = 2
const SHORT = 3
const LONG = 4
const RATIONAL = 5
const BYTE = 1
const TYPE_SIZE: Readonly<Record<number, number>> = { [BYTE]: 1, [ASCII]: 1, [SHORT]: 2, [LONG]: 4, [RATIONAL]: 8 }

interface Entry {
  readonly tag: number
  readonly type: number
  readonly count: number
  /** The value's bytes (big-endian), or undefined for the GPS IFD pointer (filled in later). */
  readonly value?: Uint8Array
}

function be(n: number, size: 2 | 4): number[] {
  return size === 2 ? [(n >>> 8) & 255, n & 255] : [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]
}

function asciiBytes(text: string): Uint8Array {
  return Uint8Array.from(text, (c) => c.charCodeAt(0))
}

function rationals(values: readonly (readonly [number, number])[]): Uint8Array {
  return Uint8Array.from(values.flatMap(([n, d]) => [...be(n, 4), ...be(d, 4)]))
}

/** The big-endian bytes of RATIONALs, to look for in an output. */
export function rationalBytes(values: readonly (readonly [number, number])[]): Uint8Array {
  return rationals(values)
}

/**
 * Lays out one IFD at `offset` (from the TIFF header): its entries, then the values that do
 * not fit in 4 bytes. Returns the bytes.
 */
function ifd(entries: readonly Entry[], offset: number, pointer?: number): Uint8Array {
  const out: number[] = [...be(entries.length, 2)]
  const data: number[] = []
  const dataAt = offset + 2 + entries.length * 12 + 4
  for (const e of entries) {
    out.push(...be(e.tag, 2), ...be(e.type, 2), ...be(e.count, 4))
    const value = e.value ?? Uint8Array.from(be(pointer ?? 0, 4))
    const size = (TYPE_SIZE[e.type] ?? 1) * e.count
    if (size <= 4) {
      const inline = [...value]
      while (inline.length < 4) inline.push(0)
      out.push(...inline)
    } else {
      out.push(...be(dataAt + data.length, 4))
      data.push(...value)
      if (data.length % 2) data.push(0) // values start on word boundaries
    }
  }
  out.push(...be(0, 4)) // no next IFD
  return Uint8Array.from([...out, ...data])
}

/**
 * A JPEG APP1 segment (`FF E1`, length, `Exif\0\0`, big-endian TIFF) whose IFD0 holds an
 * ImageDescription ({@link EXIF_SECRET}), an Orientation when given, and a GPS IFD with
 * version, latitude and longitude ({@link GPS_LATITUDE}, {@link GPS_LONGITUDE}).
 */
export function exifApp1(opts: { orientation?: number } = {}): Uint8Array {
  const description = asciiBytes(`${EXIF_SECRET}\0`)
  const ifd0Entries: Entry[] = [{ tag: 0x010e, type: ASCII, count: description.length, value: description }]
  if (opts.orientation !== undefined) {
    ifd0Entries.push({ tag: 0x0112, type: SHORT, count: 1, value: Uint8Array.from(be(opts.orientation, 2)) })
  }
  ifd0Entries.push({ tag: 0x8825, type: LONG, count: 1 }) // GPSInfo: the GPS IFD's offset
  const ifd0Size = ifd(ifd0Entries, 8, 0).length
  const gpsAt = 8 + ifd0Size + (ifd0Size % 2)
  const ifd0 = ifd(ifd0Entries, 8, gpsAt)
  const gps = ifd(
    [
      { tag: 0x0000, type: BYTE, count: 4, value: Uint8Array.from([2, 3, 0, 0]) },
      { tag: 0x0001, type: ASCII, count: 2, value: asciiBytes('N\0') },
      { tag: 0x0002, type: RATIONAL, count: 3, value: rationals(GPS_LATITUDE) },
      { tag: 0x0003, type: ASCII, count: 2, value: asciiBytes('E\0') },
      { tag: 0x0004, type: RATIONAL, count: 3, value: rationals(GPS_LONGITUDE) },
    ],
    gpsAt,
  )
  const tiff = [...asciiBytes('MM'), 0x00, 0x2a, ...be(8, 4), ...ifd0, ...(ifd0Size % 2 ? [0] : []), ...gps]
  const body = [...asciiBytes('Exif\0\0'), ...tiff]
  return Uint8Array.from([0xff, 0xe1, ...be(body.length + 2, 2), ...body])
}

/**
 * `jpeg` with `segment` spliced in right after SOI, where Exif puts APP1.
 * @throws {Error} when `jpeg` does not start with SOI.
 */
export function insertAfterSoi(jpeg: Uint8Array, segment: Uint8Array): Uint8Array {
  if (jpeg[0] !== 0xff || jpeg[1] !== 0xd8) throw new Error('not a JPEG: no SOI')
  const out = new Uint8Array(jpeg.length + segment.length)
  out.set(jpeg.subarray(0, 2))
  out.set(segment, 2)
  out.set(jpeg.subarray(2), 2 + segment.length)
  return out
}

/** A JPEG marker segment before the scan data. */
export interface JpegSegment {
  /** The marker's second byte, e.g. 0xe0 for APP0, 0xe1 for APP1, 0xdb for DQT. */
  readonly marker: number
  /** The segment's payload (after the length). */
  readonly data: Uint8Array
}

/**
 * The marker segments of `jpeg` from SOI up to and including SOS (whose payload is the scan
 * header only); metadata lives there, never in the entropy-coded data after it.
 * @throws {Error} when the bytes are not a well-formed JPEG header.
 */
export function jpegSegments(jpeg: Uint8Array): JpegSegment[] {
  if (jpeg[0] !== 0xff || jpeg[1] !== 0xd8) throw new Error('not a JPEG: no SOI')
  const out: JpegSegment[] = []
  let at = 2
  while (at + 4 <= jpeg.length) {
    if (jpeg[at] !== 0xff) throw new Error(`no marker at ${at}`)
    const marker = jpeg[at + 1]!
    if (marker === 0xff) {
      at++ // fill byte
      continue
    }
    const length = (jpeg[at + 2]! << 8) | jpeg[at + 3]!
    out.push({ marker, data: jpeg.subarray(at + 4, at + 2 + length) })
    if (marker === 0xda) return out
    at += 2 + length
  }
  throw new Error('no SOS')
}

/** A PNG chunk. */
export interface PngChunk {
  readonly type: string
  readonly data: Uint8Array
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]

/**
 * The chunks of `png`, in order.
 * @throws {Error} when the bytes are not a PNG.
 */
export function pngChunks(png: Uint8Array): PngChunk[] {
  if (!PNG_SIGNATURE.every((b, i) => png[i] === b)) throw new Error('not a PNG')
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength)
  const out: PngChunk[] = []
  for (let at = 8; at + 12 <= png.length; ) {
    const length = view.getUint32(at)
    const type = String.fromCharCode(...png.subarray(at + 4, at + 8))
    out.push({ type, data: png.subarray(at + 8, at + 8 + length) })
    at += 12 + length
  }
  return out
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
  return c >>> 0
})

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8)
  return (c ^ 0xffffffff) >>> 0
}

/** `png` with a `tEXt` chunk (`keyword\0text`, Latin-1) inserted right after IHDR. */
export function pngWithText(png: Uint8Array, keyword: string, text: string): Uint8Array {
  const typeAndData = asciiBytes(`tEXt${keyword}\0${text}`)
  const chunk = Uint8Array.from([...be(typeAndData.length - 4, 4), ...typeAndData, ...be(crc32(typeAndData), 4)])
  const ihdrEnd = 8 + 12 + 13
  const out = new Uint8Array(png.length + chunk.length)
  out.set(png.subarray(0, ihdrEnd))
  out.set(chunk, ihdrEnd)
  out.set(png.subarray(ihdrEnd), ihdrEnd + chunk.length)
  return out
}

/** Where `needle` first occurs in `haystack`, or -1. */
export function indexOfBytes(haystack: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer
    return i
  }
  return -1
}

/** The ASCII bytes of `text`. */
export function ascii(text: string): Uint8Array {
  return asciiBytes(text)
}

/** Bytes as base64, to pass through the page boundary as JSON. */
export function toBase64(bytes: Uint8Array): string {
  let s = ''
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000))
  return btoa(s)
}

/** The bytes of base64 `text`. */
export function fromBase64(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0))
}
