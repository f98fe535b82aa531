/**
 * Images in the browser: what the bytes are, and a clean copy to publish.
 *
 * A blob's type is whatever its author claimed, so nothing here trusts a claimed type: the
 * bytes are sniffed by their magic numbers, and only the raster formats browsers decode
 * without scripts (JPEG, PNG, GIF, WebP, AVIF) are recognised. SVG and HTML never are: an SVG
 * can carry script, and a blob: URL typed as one would run it in our origin.
 *
 * {@link reencodeImage} turns a picked file into what a post carries: decoded by the browser
 * (`createImageBitmap`, which applies the EXIF orientation), scaled to at most 2048 px on its
 * longer side, drawn on a canvas and exported anew. A canvas export holds pixels only, so EXIF
 * (GPS position, camera serial, time), XMP, IPTC, comments and colour profiles of the source
 * are all dropped (Chromium adds its canvas's own sRGB profile, the same bytes for every
 * image): the people who post photos must not publish where they live by accident.
 *
 * Output format: JPEG, except when the source actually has transparent pixels (checked
 * pixel by pixel, only for formats that can have alpha), which stay PNG so a logo keeps its
 * transparency. A PNG over the byte budget falls back to JPEG on white, and JPEG steps down in
 * quality until it fits. Animated GIF/WebP keep their first frame only.
 */

/** The raster formats {@link sniffImage} recognises. */
export type RasterType = 'image/jpeg' | 'image/png' | 'image/gif' | 'image/webp' | 'image/avif'

/** What went wrong in {@link reencodeImage}, for the UI to explain. */
export type ImageErrorCode =
  /** The bytes are not a JPEG, PNG, GIF, WebP or AVIF image (SVG and HTML never are). */
  | 'NOT_AN_IMAGE'
  /** The file is over the input limit, or no encoding of it fits the byte budget. */
  | 'TOO_LARGE'
  /** The browser could not decode it (damaged, or a format variant it lacks). */
  | 'UNDECODABLE'
  /** The canvas gave no image back (out of memory, or a canvas blocked by the browser). */
  | 'ENCODE_FAILED'

/** The error {@link reencodeImage} rejects with; `message` is fit to show to the person. */
export class ImageError extends Error {
  readonly code: ImageErrorCode

  constructor(code: ImageErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'ImageError'
    this.code = code
  }
}

/** The longest side of a re-encoded image, in pixels (DESIGN.md, Web app). */
export const DEFAULT_MAX_SIDE = 2048
/** The JPEG quality {@link reencodeImage} starts with. */
export const DEFAULT_QUALITY = 0.85
/** The largest file {@link reencodeImage} decodes at all (bytes). */
export const MAX_INPUT_BYTES = 40 * 1024 * 1024
/** The default output budget: the store's default largest blob (5 MiB). */
export const DEFAULT_MAX_BYTES = 5 * 1024 * 1024

/** How many leading bytes {@link sniffImage} may look at (an AVIF's brand list is the longest). */
export const SNIFF_BYTES = 64

// JPEG qualities tried in turn after the first, while the output is over the byte budget.
const FALLBACK_QUALITIES = [0.7, 0.5]

function startsWith(bytes: Uint8Array, magic: readonly number[], at = 0): boolean {
  if (bytes.length < at + magic.length) return false
  for (let i = 0; i < magic.length; i++) if (bytes[at + i] !== magic[i]) return false
  return true
}

function ascii(text: string): number[] {
  return Array.from(text, (c) => c.charCodeAt(0))
}

const PNG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]
const JPEG = [0xff, 0xd8, 0xff]
const GIF87 = ascii('GIF87a')
const GIF89 = ascii('GIF89a')
const RIFF = ascii('RIFF')
const WEBP = ascii('WEBP')
const FTYP = ascii('ftyp')
const AVIF_BRANDS = [ascii('avif'), ascii('avis')]

/** True when the ISO-BMFF `ftyp` box at the start names an AVIF brand (major or compatible). */
function isAvif(bytes: Uint8Array): boolean {
  if (!startsWith(bytes, FTYP, 4)) return false
  // The box size (big-endian) comes first: a real ftyp box is small and whole brands long, so
  // text that happens to hold "ftyp" at 4 (its first bytes would be a huge size) is no AVIF.
  const boxSize = ((bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!) >>> 0
  if (boxSize < 16 || boxSize > 1024 || boxSize % 4 !== 0) return false
  const end = Math.min(boxSize, bytes.length)
  // Major brand at 8, minor version at 12, compatible brands from 16, four bytes each.
  for (let at = 8; at + 4 <= end; at += at === 8 ? 8 : 4) {
    if (AVIF_BRANDS.some((brand) => startsWith(bytes, brand, at))) return true
  }
  return false
}

/**
 * What raster image `bytes` hold, by their magic numbers alone (never by a claimed type or a
 * file name). The first {@link SNIFF_BYTES} bytes suffice.
 * @returns the image's MIME type, or `undefined` when it is not a JPEG, PNG, GIF, WebP or AVIF
 *   (SVG, HTML, text and everything else).
 */
export function sniffImage(bytes: Uint8Array): RasterType | undefined {
  if (startsWith(bytes, JPEG)) return 'image/jpeg'
  if (startsWith(bytes, PNG)) return 'image/png'
  if (startsWith(bytes, GIF87) || startsWith(bytes, GIF89)) return 'image/gif'
  if (startsWith(bytes, RIFF) && startsWith(bytes, WEBP, 8)) return 'image/webp'
  if (isAvif(bytes)) return 'image/avif'
  return undefined
}

/** A blob: URL for an image's bytes; revoke it when the image leaves the page. */
export interface ImageUrl {
  /** A `blob:` URL typed with the sniffed type, for `<img src>`. */
  readonly url: string
  /** The sniffed type (never the claimed one). */
  readonly type: RasterType
  /** Frees the URL; safe to call more than once. */
  revoke(): void
}

/**
 * A `blob:` URL for `bytes` when they sniff as a raster image ({@link sniffImage}), typed with
 * the sniffed type; the author's claimed type plays no part. Render it only as `<img src>`.
 * @returns the URL, or `undefined` when the bytes are not a recognised raster image.
 */
export function imageUrl(bytes: Uint8Array): ImageUrl | undefined {
  const type = sniffImage(bytes)
  if (type === undefined) return undefined
  // A view on a SharedArrayBuffer is no BlobPart: copy it then.
  const part = bytes.buffer instanceof ArrayBuffer ? (bytes as Uint8Array<ArrayBuffer>) : new Uint8Array(bytes)
  const url = URL.createObjectURL(new Blob([part], { type }))
  let revoked = false
  return {
    url,
    type,
    revoke() {
      if (revoked) return
      revoked = true
      URL.revokeObjectURL(url)
    },
  }
}

/** Options of {@link reencodeImage}. */
export interface ReencodeOptions {
  /** The longest side of the output, in pixels (default {@link DEFAULT_MAX_SIDE}). */
  readonly maxSide?: number
  /** The JPEG quality to start with, in (0, 1] (default {@link DEFAULT_QUALITY}). */
  readonly quality?: number
  /** The largest output in bytes (default {@link DEFAULT_MAX_BYTES}). */
  readonly maxBytes?: number
}

/** A re-encoded image: new bytes holding pixels only. */
export interface ReencodedImage {
  readonly bytes: Uint8Array
  /** The output's type, sniffed from the output: `image/jpeg` or `image/png`. */
  readonly type: RasterType
  readonly width: number
  readonly height: number
}

/**
 * Decodes `file`, applies its EXIF orientation, scales it down so its longer side is at most
 * `maxSide` (never up), and encodes it anew as JPEG, or as PNG when it has transparent pixels
 * (see the module comment). The output carries no metadata of the source: no EXIF, GPS, XMP.
 * Runs in a window or a worker (OffscreenCanvas, else a canvas element).
 * @throws {RangeError} when an option is out of range (misuse).
 * @throws {ImageError} (as a rejection) `TOO_LARGE` for a file over {@link MAX_INPUT_BYTES} (checked before
 *   decoding) or an output that does not fit `maxBytes`; `NOT_AN_IMAGE` when the bytes do not
 *   sniff as a raster image; `UNDECODABLE` when the browser cannot decode them;
 *   `ENCODE_FAILED` when the canvas gives nothing back.
 */
export async function reencodeImage(file: Blob, opts: ReencodeOptions = {}): Promise<ReencodedImage> {
  const maxSide = opts.maxSide ?? DEFAULT_MAX_SIDE
  const quality = opts.quality ?? DEFAULT_QUALITY
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES
  if (!Number.isInteger(maxSide) || maxSide < 1) throw new RangeError(`maxSide must be a positive integer: ${maxSide}`)
  if (!(quality > 0 && quality <= 1)) throw new RangeError(`quality must be in (0, 1]: ${quality}`)
  if (!(maxBytes > 0)) throw new RangeError(`maxBytes must be positive: ${maxBytes}`)

  if (file.size > MAX_INPUT_BYTES) {
    throw new ImageError(
      'TOO_LARGE',
      `This file is ${mb(file.size)}; images up to ${mb(MAX_INPUT_BYTES)} are accepted.`,
    )
  }
  const head = new Uint8Array(await file.slice(0, SNIFF_BYTES).arrayBuffer())
  const sourceType = sniffImage(head)
  if (sourceType === undefined) {
    throw new ImageError('NOT_AN_IMAGE', 'This file is not a JPEG, PNG, GIF, WebP or AVIF image.')
  }

  let bitmap: ImageBitmap
  try {
    // 'from-image' applies the EXIF orientation, so a phone photo stands the right way up.
    bitmap = await createImageBitmap(file, { imageOrientation: 'from-image' })
  } catch (err) {
    throw new ImageError('UNDECODABLE', 'This image could not be read; it may be damaged.', { cause: err })
  }
  try {
    const { width, height } = fitWithin(bitmap.width, bitmap.height, maxSide)
    const surface = createSurface(width, height)
    try {
      const { ctx } = surface
      ctx.imageSmoothingEnabled = true
      ctx.imageSmoothingQuality = 'high'
      ctx.drawImage(bitmap, 0, 0, width, height)

      if (sourceType !== 'image/jpeg' && hasTransparency(ctx, width, height)) {
        const png = await surface.encode('image/png')
        if (png.length <= maxBytes) return output(png, width, height)
        // Too big as PNG: flatten on white (JPEG has no alpha; transparent would turn black).
        ctx.globalCompositeOperation = 'destination-over'
        ctx.fillStyle = '#fff'
        ctx.fillRect(0, 0, width, height)
        ctx.globalCompositeOperation = 'source-over'
      }
      for (const q of [quality, ...FALLBACK_QUALITIES.filter((f) => f < quality)]) {
        const jpeg = await surface.encode('image/jpeg', q)
        if (jpeg.length <= maxBytes) return output(jpeg, width, height)
      }
      throw new ImageError('TOO_LARGE', `This image does not fit in ${mb(maxBytes)}, even at a lower quality.`)
    } finally {
      surface.release()
    }
  } finally {
    bitmap.close()
  }
}

function mb(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1).replace(/\.0$/, '')} MB`
}

/** The size of `width`×`height` scaled down (never up) so its longer side is at most `maxSide`. */
export function fitWithin(width: number, height: number, maxSide: number): { width: number; height: number } {
  const scale = Math.min(1, maxSide / Math.max(width, height))
  if (scale === 1) return { width, height }
  return {
    width: Math.max(1, Math.min(maxSide, Math.round(width * scale))),
    height: Math.max(1, Math.min(maxSide, Math.round(height * scale))),
  }
}

function output(bytes: Uint8Array, width: number, height: number): ReencodedImage {
  const type = sniffImage(bytes)
  // A browser that cannot encode the asked type gives PNG instead; anything else is no image.
  if (type === undefined) throw new ImageError('ENCODE_FAILED', 'The browser could not encode this image.')
  return { bytes, type, width, height }
}

type Context2D = OffscreenCanvasRenderingContext2D | CanvasRenderingContext2D

/** A canvas to draw on and export from, whichever kind this context has. */
interface Surface {
  readonly ctx: Context2D
  /** The canvas as `type` (a canvas export: pixels only). */
  encode(type: 'image/png' | 'image/jpeg', quality?: number): Promise<Uint8Array>
  /** Shrinks the canvas to nothing, so its memory goes before the garbage collector runs. */
  release(): void
}

function createSurface(width: number, height: number): Surface {
  const failed = (cause?: unknown) =>
    new ImageError('ENCODE_FAILED', 'The browser could not draw this image (it may be too large).', { cause })
  if (typeof OffscreenCanvas === 'function') {
    const canvas = new OffscreenCanvas(width, height)
    const ctx = canvas.getContext('2d')
    if (!ctx) throw failed()
    return {
      ctx,
      async encode(type, quality) {
        const blob = await canvas.convertToBlob({ type, quality }).catch((err: unknown) => {
          throw failed(err)
        })
        return new Uint8Array(await blob.arrayBuffer())
      },
      release() {
        canvas.width = 0
        canvas.height = 0
      },
    }
  }
  // Older Safari (before 16.4) has no OffscreenCanvas; the page's document does.
  const canvas = document.createElement('canvas')
  canvas.width = width
  canvas.height = height
  const ctx = canvas.getContext('2d')
  if (!ctx) throw failed()
  return {
    ctx,
    async encode(type, quality) {
      const blob = await new Promise<Blob | null>((resolve) => canvas.toBlob(resolve, type, quality))
      if (!blob) throw failed()
      return new Uint8Array(await blob.arrayBuffer())
    },
    release() {
      canvas.width = 0
      canvas.height = 0
    },
  }
}

/** True when any pixel drawn on `ctx` is not fully opaque. */
function hasTransparency(ctx: Context2D, width: number, height: number): boolean {
  // Row bands keep the copy small for large canvases.
  const band = Math.max(1, Math.floor((1 << 20) / width))
  for (let y = 0; y < height; y += band) {
    const { data } = ctx.getImageData(0, y, width, Math.min(band, height - y))
    for (let i = 3; i < data.length; i += 4) if (data[i] !== 255) return true
  }
  return false
}
