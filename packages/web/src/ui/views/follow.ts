/** An invite link opened (`#/follow/<feedId>`): who it is for, and a clear Follow button. */
import { html, nothing, type TemplateResult } from 'lit-html'
import type { Ctx } from '../actions.js'
import { statusRegion } from '../components/common.js'
import { avatar } from '../components/media.js'
import { personName, personText } from '../components/person.js'
import { richText } from '../components/post.js'
import { href } from '../router.js'
import { followButton, PUBLIC_NOTE } from './profile.js'

export function followView(ctx: Ctx, id: string): TemplateResult {
  const p = ctx.store.get().profiles[id]
  if (!p) {
    return html`<h1 tabindex="-1">Follow</h1>
      ${statusRegion(ctx, 'view')}
      <p class="muted">Looking them up…</p>
      <p><code class="id">${id}</code></p>`
  }
  return html`<h1 tabindex="-1">${p.isMe ? 'Your invite link' : html`Follow ${personName(p)}?`}</h1>
    ${statusRegion(ctx, 'view')}
    <div class="card invite">
      <div class="profile-top">
        ${avatar(ctx.blobs, p, 'large')}
        <div>
          ${p.nameSource === 'none' ? nothing : html`<p class="invite-name">${personName(p)}</p>`}
          <p>Fingerprint <span class="fp">${p.fingerprint}</span></p>
        </div>
      </div>
      ${p.description ? html`<p class="text description">${richText(p.description)}</p>` : nothing}
      <p class="small">Id: <code class="id">${p.id}</code></p>
      ${
        p.isMe
          ? html`<p>This is your own invite link. Give it to friends: when they open it, they can follow you.</p>`
          : html`<p>
              ${
                p.following
                  ? 'You follow them. Their posts appear in your timeline as peers send them.'
                  : 'Follow them to see their posts in your timeline.'
              }
            </p>
            <div class="row">${followButton(ctx, p, 'follow', personText(p))}</div>
            ${statusRegion(ctx, 'follow')}
            <p class="note">${PUBLIC_NOTE}</p>`
      }
      <p><a href=${href.profile(p.id)}>View profile</a></p>
    </div>`
}
