/** The local identity as something to share: the id, the invite link, and its QR code. */
import { html, nothing, svg, type TemplateResult } from 'lit-html'
import type { IdentityState } from '../../api.js'
import { qrSvgPath } from '../../lib/qr.js'
import type { Ctx } from '../actions.js'
import { copyButton, statusRegion } from './common.js'

type Ready = Extract<IdentityState, { kind: 'ready' }>

/** The invite link as a QR code (dark on light in both colour schemes, so cameras read it). */
export function qrCode(text: string, label: string): TemplateResult | typeof nothing {
  let qr: ReturnType<typeof qrSvgPath>
  try {
    qr = qrSvgPath(text)
  } catch {
    return nothing // too long for a QR code: the link and its copy button remain
  }
  return html`<svg class="qr" viewBox=${qr.viewBox} role="img" aria-label=${label} shape-rendering="crispEdges">
    ${svg`<path class="qr-fg" d=${qr.path}></path>`}
  </svg>`
}

/** The id and the invite link, each with a copy button, and the invite's QR code. */
export function shareIdentity(ctx: Ctx, id: Ready, area: string): TemplateResult {
  return html`<div class="share">
    <div class="share-fields">
      <p class="field-label">Your id</p>
      <code class="id" id="${area}-id" data-testid="my-id">${id.me.id}</code>
      ${copyButton(ctx, 'Copy id', id.me.id, `${area}-id`, area)}
      <p class="field-label">Your invite link</p>
      <code class="id" id="${area}-invite" data-testid="invite-link">${id.invite}</code>
      ${copyButton(ctx, 'Copy invite link', id.invite, `${area}-invite`, area)}
      <p class="hint">A friend who opens the invite link sees you and can follow you.</p>
      ${statusRegion(ctx, area)}
    </div>
    ${qrCode(id.invite, 'QR code of your invite link')}
  </div>`
}
