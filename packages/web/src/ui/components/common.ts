/** Small pieces every view uses: live regions, copy buttons, confirm steps. */
import { html, nothing, type TemplateResult } from 'lit-html'
import { classMap } from 'lit-html/directives/class-map.js'
import type { Ctx } from '../actions.js'

/**
 * The live region of one area: always in the page (so screen readers announce what appears
 * in it), empty until an action in that area says how it went.
 */
export function statusRegion(ctx: Ctx, area: string): TemplateResult {
  const s = ctx.store.get().status[area]
  const text = s
    ? html`${s.kind === 'error' ? html`<span class="icon" aria-hidden="true">⚠ </span>` : nothing}${s.text}`
    : nothing
  // No whitespace inside the <p>: an empty region must match :empty and take no room.
  return html`<p class=${classMap({ status: true, error: s?.kind === 'error', ok: s?.kind === 'ok' })} aria-live="polite">${text}</p>`
}

/** Selects the text of the element `id`, for the person to copy by hand. */
function selectText(id: string): void {
  const el = document.getElementById(id)
  if (!el) return
  if (el instanceof HTMLInputElement || el instanceof HTMLTextAreaElement) {
    el.focus()
    el.select()
  } else {
    getSelection()?.selectAllChildren(el)
  }
}

/**
 * A button that copies `text`; where the clipboard is refused it selects the element `targetId`
 * instead and says how to copy it. The outcome goes to `area`'s live region.
 */
export function copyButton(ctx: Ctx, label: string, text: string, targetId: string, area: string): TemplateResult {
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text)
      ctx.setStatus(area, { kind: 'ok', text: 'Copied.' })
    } catch {
      selectText(targetId)
      ctx.setStatus(area, { kind: 'ok', text: 'The text is selected: press Ctrl+C (⌘C on a Mac) to copy it.' })
    }
  }
  return html`<button type="button" class="secondary copy" @click=${copy}>${label}</button>`
}

/**
 * A button that opens a confirm step below it (the button stays, with aria-expanded). The step
 * asks `question` and offers `yes` and `no`; focus moves into it when it opens, and back to the
 * button when it closes.
 */
export function confirmStep(
  ctx: Ctx,
  key: string,
  opts: {
    trigger: string
    question: TemplateResult | string
    yes: string
    no: string
    danger?: boolean
    onYes: () => Promise<unknown>
  },
): TemplateResult {
  const open = ctx.store.get().confirm === key
  const id = `confirm-${key.replace(/[^a-z0-9]/gi, '-')}`
  const close = () => {
    ctx.store.set({ confirm: undefined })
    ctx.focusAfterRender(`#${id}-trigger`)
  }
  const start = () => {
    ctx.store.set({ confirm: open ? undefined : key })
    if (!open) ctx.focusAfterRender(`#${id}`)
  }
  const yes = async () => {
    close()
    await opts.onYes()
  }
  return html`<button
      type="button"
      id="${id}-trigger"
      class=${opts.danger ? 'danger' : 'secondary'}
      aria-expanded=${open ? 'true' : 'false'}
      @click=${start}
    >
      ${opts.trigger}
    </button>
    ${
      open
        ? html`<div class="confirm" role="group" id=${id} tabindex="-1" aria-labelledby="${id}-q">
          <p id="${id}-q">${opts.question}</p>
          <div class="row">
            <button type="button" class=${opts.danger ? 'danger' : 'primary'} @click=${yes}>${opts.yes}</button>
            <button type="button" class="secondary" @click=${close}>${opts.no}</button>
          </div>
        </div>`
        : nothing
    }`
}

/** Reads a form's named text field. */
export function field(form: HTMLFormElement, name: string): string {
  const v = new FormData(form).get(name)
  return typeof v === 'string' ? v : ''
}

/** Reads a form's named file field (undefined when no file was picked). */
export function fileField(form: HTMLFormElement, name: string): File | undefined {
  const v = new FormData(form).get(name)
  return v instanceof File && v.size > 0 ? v : undefined
}
