/**
 * Images from blobs: loaded only when they scroll near the screen, shown only when their bytes
 * sniff as a raster format (never SVG, never the author's claimed type), always as
 * `<img src="blob:…">` with alt text.
 */
import { html, type TemplateResult } from 'lit-html'
import { ref } from 'lit-html/directives/ref.js'
import type { BlobIdText, EngineApi, PersonRef } from '../../api.js'
import { imageUrl } from '../../lib/image.js'
import { cleanName } from '../../lib/text.js'

/** Where one blob stands on this page. */
export type BlobState =
  | { readonly kind: 'loading' }
  | { readonly kind: 'ok'; readonly url: string; revoke(): void }
  /** The bytes are not a raster image we render. */
  | { readonly kind: 'unsupported' }
  /** No peer had it (yet); tried again after the next change. */
  | { readonly kind: 'missing' }

// Object URLs kept alive; past this, the oldest ones no longer on the page are revoked.
const KEEP_URLS = 150

/** The page's blob images: fetches on first sight, keeps the object URLs for the session. */
export class BlobImages {
  readonly #api: EngineApi
  readonly #changed: () => void
  readonly #state = new Map<BlobIdText, BlobState>()
  readonly #io: IntersectionObserver | undefined

  constructor(api: EngineApi, changed: () => void) {
    this.#api = api
    this.#changed = changed
    this.#io =
      typeof IntersectionObserver === 'function'
        ? new IntersectionObserver((entries) => this.#seen(entries), { rootMargin: '300px 0px' })
        : undefined
  }

  get(id: BlobIdText): BlobState | undefined {
    return this.#state.get(id)
  }

  /** A ref callback for a placeholder with `data-blob`: loads that blob once it is near the screen. */
  readonly observe = (el?: Element): void => {
    if (!(el instanceof HTMLElement)) return
    if (this.#io) this.#io.observe(el)
    else void this.#load(el.dataset.blob ?? '')
  }

  /** Forgets the blobs nobody had, so they are asked for again when next seen. */
  retryMissing(): void {
    for (const [id, s] of this.#state) if (s.kind === 'missing') this.#state.delete(id)
  }

  #seen(entries: IntersectionObserverEntry[]): void {
    for (const e of entries) {
      if (!e.target.isConnected) this.#io?.unobserve(e.target)
      if (!e.isIntersecting) continue
      this.#io?.unobserve(e.target)
      void this.#load((e.target as HTMLElement).dataset.blob ?? '')
    }
  }

  async #load(id: BlobIdText): Promise<void> {
    if (!id || this.#state.has(id)) return
    this.#state.set(id, { kind: 'loading' })
    let next: BlobState
    try {
      const bytes = await this.#api.blob(id)
      const url = bytes && imageUrl(bytes)
      next = url ? { kind: 'ok', url: url.url, revoke: url.revoke } : { kind: bytes ? 'unsupported' : 'missing' }
    } catch {
      // The engine could not get it now (offline, no peer): same as missing, retried later.
      next = { kind: 'missing' }
    }
    this.#state.set(id, next)
    this.#trim()
    this.#changed()
  }

  #trim(): void {
    const urls = [...this.#state].filter(([, s]) => s.kind === 'ok')
    if (urls.length <= KEEP_URLS) return
    const shown = new Set([...document.images].map((img) => img.src))
    for (const [id, s] of urls.slice(0, urls.length - KEEP_URLS)) {
      if (s.kind !== 'ok' || shown.has(s.url)) continue
      s.revoke()
      this.#state.delete(id)
    }
  }
}

/** A blob as an image, or a placeholder that says why it is not shown (yet). */
export function blobImage(blobs: BlobImages, id: BlobIdText, alt: string, cls: string): TemplateResult {
  const s = blobs.get(id)
  if (s?.kind === 'ok') return html`<img class=${cls} src=${s.url} alt=${alt} decoding="async" />`
  const text =
    s?.kind === 'unsupported'
      ? 'Unsupported image'
      : s?.kind === 'missing'
        ? 'Image not available yet'
        : 'Loading image…'
  const label = alt ? `${text}: ${alt}` : text
  // Two different templates, so a blob asked for again gets a new element to observe.
  if (!s) {
    return html`<span class="${cls} placeholder" role="img" aria-label=${label} data-blob=${id} ${ref(blobs.observe)}
      ><span aria-hidden="true">${text}</span></span
    >`
  }
  return html`<span class="${cls} placeholder ${s.kind}" role="img" aria-label=${label}
    ><span aria-hidden="true">${text}</span></span
  >`
}

const AVATAR_HUES = 6

/** A person's picture (decorative: their name is always beside it), or their initial on a colour from their key. */
export function avatar(blobs: BlobImages, p: PersonRef, size: 'small' | 'large' = 'small'): TemplateResult {
  const s = p.avatar ? blobs.get(p.avatar) : undefined
  if (s?.kind === 'ok') return html`<img class="avatar ${size}" src=${s.url} alt="" decoding="async" />`
  const name = p.name ? cleanName(p.name) : ''
  const initial = (name ? Array.from(name)[0]! : '?').toUpperCase()
  let hue = 0
  for (const c of p.fingerprint) hue = (hue * 31 + c.charCodeAt(0)) % AVATAR_HUES
  if (p.avatar && !s) {
    return html`<span class="avatar ${size} initials hue${hue}" aria-hidden="true" data-blob=${p.avatar} ${ref(blobs.observe)}
      >${initial}</span
    >`
  }
  return html`<span class="avatar ${size} initials hue${hue}" aria-hidden="true">${initial}</span>`
}
