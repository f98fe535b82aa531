/**
 * QR codes (for invite links) as one SVG path, so the UI draws them with a lit-html template:
 * no innerHTML, no canvas, no inline style, crisp at any size.
 *
 * lean-qr does the encoding: its `nano` build (UTF-8 byte mode, ~2 kB gzipped) and its
 * `toSvgPath`, which traces the dark modules into outlines. Only those two are imported, so
 * the page bundle holds nothing else of it.
 */
import { toSvgPath } from 'lean-qr/extras/svg'
import { correction, generate } from 'lean-qr/nano'

/** Error correction: the share of a code that may be damaged and still read (7, 15, 25, 30 %). */
export type QrCorrection = 'L' | 'M' | 'Q' | 'H'

/** Options of {@link qrSvgPath}. */
export interface QrOptions {
  /** The lowest error correction level to use (default `M`). */
  readonly correction?: QrCorrection
  /** The light border on each side, in modules (default 4, the quiet zone ISO 18004 asks for). */
  readonly margin?: number
}

/** A QR code as an SVG path in module units. */
export interface QrPath {
  /** Modules per side, without the margin (21 for version 1, up to 177). */
  readonly size: number
  /** The `viewBox` that shows the code and its margin: `-m -m size+2m size+2m`. */
  readonly viewBox: string
  /** The `d` of one path that fills the dark modules (nonzero fill rule, SVG's default). */
  readonly path: string
}

/**
 * Encodes `text` (UTF-8) as a QR code and traces it as one SVG path. Render it as
 * `<svg viewBox=${qr.viewBox} role="img" aria-label="QR code"><path d=${qr.path}></path></svg>`
 * with a light background and a dark fill set by a stylesheet, and
 * `shape-rendering="crispEdges"`.
 * @throws {RangeError} when `text` is too long for a QR code (about 2,300 bytes at level M),
 *   or `margin` is not a non-negative integer.
 */
export function qrSvgPath(text: string, opts: QrOptions = {}): QrPath {
  const margin = opts.margin ?? 4
  if (!Number.isInteger(margin) || margin < 0) throw new RangeError(`margin must be a non-negative integer: ${margin}`)
  let code: ReturnType<typeof generate>
  try {
    code = generate(text, { minCorrectionLevel: correction[opts.correction ?? 'M'] })
  } catch (err) {
    throw new RangeError(`too long for a QR code: ${new TextEncoder().encode(text).length} bytes`, { cause: err })
  }
  const side = code.size + 2 * margin
  return { size: code.size, viewBox: `${-margin} ${-margin} ${side} ${side}`, path: toSvgPath(code) }
}
