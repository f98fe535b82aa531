/**
 * The composer: text with a size count, an optional content warning, and images that are
 * re-encoded here (EXIF and GPS dropped, at most 2048 px) before they are previewed or sent.
 * Its draft lives in the state, so a refresh or a page change never loses what was typed.
 */
import { html, nothing, type TemplateResult } from 'lit-html'
import { live } from 'lit-html/directives/live.js'
import { repeat } from 'lit-html/directives/repeat.js'
import type { NewImage } from '../../api.js'
import { imageUrl, reencodeImage } from '../../lib/image.js'
import type { Ctx } from '../actions.js'
import { emptyDraft, errorText } from '../state.js'
import { statusRegion } from './common.js'

/** Images per post (the format allows 16; four keep a post readable and its blobs small). */
const MAX_IMAGES = 4
/** Bytes of text that leave room in the 8 KiB message for the envelope, links and images. */
const TEXT_BUDGET = 7000
const encoder = new TextEncoder()

async function addImages(ctx: Ctx, key: string, input: HTMLInputElement): Promise<void> {
  const files = [...(input.files ?? [])]
  input.value = ''
  const room = MAX_IMAGES - ctx.draft(key).images.length
  if (files.length > room) {
    ctx.setStatus(key, { kind: 'error', text: `A post can carry up to ${MAX_IMAGES} images.` })
  }
  await ctx.run(key, async () => {
    for (const file of files.slice(0, Math.max(0, room))) {
      const img = await reencodeImage(file, { maxSide: 2048 })
      const preview = imageUrl(img.bytes)
      const d = ctx.draft(key)
      ctx.setDraft(key, {
        images: [...d.images, { bytes: img.bytes, type: img.type, alt: '', ...(preview ? { preview } : {}) }],
      })
    }
  })
}

function removeImage(ctx: Ctx, key: string, index: number): void {
  const d = ctx.draft(key)
  d.images[index]?.preview?.revoke()
  ctx.setDraft(key, { images: d.images.filter((_, i) => i !== index) })
  ctx.focusAfterRender(`#${key.replace(/[^a-z0-9]/gi, '-')}-text`)
}

async function send(ctx: Ctx, key: string, replyTo: string | undefined): Promise<void> {
  const d = ctx.draft(key)
  const images: NewImage[] = d.images.map((i) => ({
    bytes: i.bytes,
    type: i.type,
    ...(i.alt.trim() ? { alt: i.alt.trim() } : {}),
  }))
  const cw = d.cw.trim()
  const ok = await ctx.write(
    key,
    () =>
      ctx.api.post({
        text: d.text,
        ...(images.length ? { images } : {}),
        ...(replyTo ? { replyTo } : {}),
        ...(cw ? { cw } : {}),
      }),
    replyTo ? 'Reply posted.' : 'Posted.',
  )
  if (!ok) return
  for (const i of d.images) i.preview?.revoke()
  ctx.setDraft(key, emptyDraft)
}

/**
 * A composer. `key` names its draft and its live region (`timeline`, `reply:<rootId>`);
 * `label` is the text box's label and `submit` the button's text.
 */
export function composer(
  ctx: Ctx,
  key: string,
  opts: { label: string; submit: string; replyTo?: string },
): TemplateResult {
  const s = ctx.store.get()
  const d = ctx.draft(key)
  const busy = s.busy[key] === true
  const id = key.replace(/[^a-z0-9]/gi, '-')
  const left = TEXT_BUDGET - encoder.encode(d.text).length
  const empty = d.text.trim() === '' && d.images.length === 0
  const waiting =
    s.identity?.kind === 'ready' &&
    s.identity.restore &&
    !s.identity.restore.headKnown &&
    !s.identity.restore.overridden
  const submit = (e: Event) => {
    e.preventDefault()
    if (busy) return
    if (empty) {
      ctx.setStatus(key, { kind: 'error', text: 'Write something or add an image first.' })
      return
    }
    if (left < 0) {
      ctx.setStatus(key, { kind: 'error', text: 'This post is too long: shorten it first.' })
      return
    }
    void send(ctx, key, opts.replyTo)
  }
  return html`<form class="composer card" @submit=${submit} novalidate>
    <label class="composer-label" for="${id}-text">${opts.label}</label>
    <textarea
      id="${id}-text"
      name="text"
      rows="3"
      .value=${live(d.text)}
      @input=${(e: Event) => ctx.setDraft(key, { text: (e.target as HTMLTextAreaElement).value })}
      aria-describedby="${id}-count ${id}-note"
    ></textarea>
    <p id="${id}-count" class=${left < 0 ? 'count over' : 'count'}>
      ${left < 0 ? `Too long by ${-left}` : `${left} left`}
    </p>
    <details class="cw-field" ?open=${d.cw !== ''}>
      <summary>Add a content warning</summary>
      <label for="${id}-cw">Content warning</label>
      <input
        id="${id}-cw"
        maxlength="100"
        .value=${live(d.cw)}
        @input=${(e: Event) => ctx.setDraft(key, { cw: (e.target as HTMLInputElement).value })}
      />
    </details>
    ${
      d.images.length
        ? html`<ul class="attachments">
          ${repeat(
            d.images,
            (img) => img.bytes,
            (img, i) => html`<li>
              ${
                img.preview
                  ? html`<img src=${img.preview.url} alt="" class="thumb" />`
                  : html`<span class="thumb placeholder">Image</span>`
              }
              <div class="attachment-fields">
                <label for="${id}-alt${i}">Description of image ${i + 1} (alt text)</label>
                <input
                  id="${id}-alt${i}"
                  maxlength="1500"
                  .value=${live(img.alt)}
                  @input=${(e: Event) =>
                    ctx.setDraft(key, {
                      images: ctx
                        .draft(key)
                        .images.map((x, j) => (j === i ? { ...x, alt: (e.target as HTMLInputElement).value } : x)),
                    })}
                />
                <button type="button" class="secondary small" @click=${() => removeImage(ctx, key, i)}>
                  Remove image ${i + 1}
                </button>
              </div>
            </li>`,
          )}
        </ul>`
        : nothing
    }
    <div class="composer-actions">
      <label class="file-button ${d.images.length >= MAX_IMAGES ? 'disabled' : ''}">
        <input
          type="file"
          accept="image/*"
          multiple
          class="file-input"
          ?disabled=${d.images.length >= MAX_IMAGES}
          @change=${(e: Event) =>
            addImages(ctx, key, e.target as HTMLInputElement).catch((err) =>
              ctx.setStatus(key, { kind: 'error', text: errorText(err) }),
            )}
        />
        Add images
      </label>
      <button type="submit" class="primary" aria-disabled=${busy || empty ? 'true' : 'false'}>
        ${busy ? 'Posting…' : opts.submit}
      </button>
    </div>
    <p id="${id}-note" class="note">
      Posts are public and cannot be recalled once shared.
      ${waiting ? html`<strong>Posting waits until your latest post is found (see the banner at the top).</strong>` : nothing}
    </p>
    ${statusRegion(ctx, key)}
  </form>`
}
