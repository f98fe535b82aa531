/**
 * lib/image.ts in a real Chromium: the page makes real JPEGs and PNGs with its own canvas,
 * splices metadata into them (lib-image-fixtures.ts), and runs them through
 * {@link reencodeImage} and {@link imageUrl}. Bytes cross to the test as base64; the test
 * inspects them in Node.
 */

import { exifApp1, fromBase64, insertAfterSoi, PNG_SECRET, pngWithText, toBase64 } from '@murmur/testkit/images'
import { ImageError, imageUrl, reencodeImage } from '../../src/lib/image.js'

/** An RGBA pixel. */
export type Rgba = [number, number, number, number]

async function bytesOf(blob: Blob): Promise<Uint8Array> {
  return new Uint8Array(await blob.arrayBuffer())
}

/** A canvas with its left half red and its right half blue (transparent right half if asked). */
function halves(width: number, height: number, transparentRight = false): OffscreenCanvas {
  const canvas = new OffscreenCanvas(width, height)
  const ctx = canvas.getContext('2d')!
  ctx.fillStyle = '#f00'
  ctx.fillRect(0, 0, width / 2, height)
  if (!transparentRight) {
    ctx.fillStyle = '#00f'
    ctx.fillRect(width / 2, 0, width - width / 2, height)
  }
  return canvas
}

/** What {@link exifJpeg} made. */
export interface ExifJpeg {
  /** The JPEG with the APP1 Exif segment, base64. */
  readonly base64: string
  /** Its size as the browser shows it (orientation applied). */
  readonly shown: { width: number; height: number }
}

/**
 * A `width`×`height` JPEG from the canvas (left red, right blue) with an Exif APP1 segment
 * (GPS IFD, ImageDescription, and `orientation` when given) spliced in after SOI.
 */
export async function exifJpeg(input: { width: number; height: number; orientation?: number }): Promise<ExifJpeg> {
  const plain = await bytesOf(
    await halves(input.width, input.height).convertToBlob({ type: 'image/jpeg', quality: 0.9 }),
  )
  const bytes = insertAfterSoi(plain, exifApp1({ orientation: input.orientation }))
  const blob = new Blob([bytes as Uint8Array<ArrayBuffer>])
  // (Chromium treats imageOrientation 'none' as 'from-image' now: the stored size comes from
  // the frame header, read in Node.)
  const shown = await createImageBitmap(blob, { imageOrientation: 'from-image' })
  const result = { base64: toBase64(bytes), shown: { width: shown.width, height: shown.height } }
  shown.close()
  return result
}

/** A `width`×`height` PNG from the canvas, with a tEXt chunk holding {@link PNG_SECRET}; base64. */
export async function textPng(input: { width: number; height: number; transparent: boolean }): Promise<string> {
  const canvas = halves(input.width, input.height, input.transparent)
  const png = await bytesOf(await canvas.convertToBlob({ type: 'image/png' }))
  return toBase64(pngWithText(png, 'Comment', PNG_SECRET))
}

/** What {@link reencode} reports. */
export type ReencodeReport =
  | {
      readonly ok: true
      readonly base64: string
      readonly type: string
      readonly width: number
      readonly height: number
      /** The output's pixels as the browser decodes it, near its edges and centre. */
      readonly samples: Readonly<Record<'top' | 'bottom' | 'left' | 'right', Rgba>>
    }
  | { readonly ok: false; readonly name: string; readonly code?: string; readonly message: string }

/** Runs `reencodeImage` on the bytes (a Blob claiming `claimedType`) and reports the outcome. */
export async function reencode(input: {
  base64: string
  claimedType?: string
  maxSide?: number
  maxBytes?: number
}): Promise<ReencodeReport> {
  const file = new Blob([fromBase64(input.base64) as Uint8Array<ArrayBuffer>], { type: input.claimedType ?? '' })
  try {
    const out = await reencodeImage(file, { maxSide: input.maxSide, maxBytes: input.maxBytes })
    return {
      ok: true,
      base64: toBase64(out.bytes),
      type: out.type,
      width: out.width,
      height: out.height,
      samples: await sample(out.bytes),
    }
  } catch (err) {
    const e = err as Error
    return { ok: false, name: e.name, code: err instanceof ImageError ? err.code : undefined, message: e.message }
  }
}

async function sample(bytes: Uint8Array): Promise<Readonly<Record<'top' | 'bottom' | 'left' | 'right', Rgba>>> {
  const bitmap = await createImageBitmap(new Blob([bytes as Uint8Array<ArrayBuffer>]))
  const { width: w, height: h } = bitmap
  const ctx = new OffscreenCanvas(w, h).getContext('2d')!
  ctx.drawImage(bitmap, 0, 0)
  bitmap.close()
  const at = (x: number, y: number): Rgba => {
    const d = ctx.getImageData(Math.floor(x), Math.floor(y), 1, 1).data
    return [d[0]!, d[1]!, d[2]!, d[3]!]
  }
  return { top: at(w / 2, h * 0.1), bottom: at(w / 2, h * 0.9), left: at(w * 0.1, h / 2), right: at(w * 0.9, h / 2) }
}

/** What {@link show} reports. */
export interface ShowReport {
  /** The sniffed type, or null when `imageUrl` refused the bytes. */
  readonly type: string | null
  /** The blob's type as fetched back from its URL. */
  readonly blobType?: string
  /** Whether an `<img>` loaded it, and its natural width. */
  readonly loaded?: boolean
  readonly naturalWidth?: number
  /** Whether the URL still resolved after `revoke()`. */
  readonly fetchableAfterRevoke?: boolean
}

/** Puts the bytes through `imageUrl` and into an `<img>`. */
export async function show(base64: string): Promise<ShowReport> {
  const image = imageUrl(fromBase64(base64))
  if (!image) return { type: null }
  const blobType = (await (await fetch(image.url)).blob()).type
  const img = document.createElement('img')
  const loaded = await new Promise<boolean>((resolve) => {
    img.onload = () => resolve(true)
    img.onerror = () => resolve(false)
    img.src = image.url
  })
  image.revoke()
  image.revoke()
  const fetchableAfterRevoke = await fetch(image.url).then(
    () => true,
    () => false,
  )
  return { type: image.type, blobType, loaded, naturalWidth: img.naturalWidth, fetchableAfterRevoke }
}
