/** The timeline: the composer, then the posts of me and the people I follow, newest first. */
import { html, nothing, type TemplateResult } from 'lit-html'
import type { Ctx } from '../actions.js'
import { statusRegion } from '../components/common.js'
import { composer } from '../components/composer.js'
import { shareIdentity } from '../components/identity.js'
import { postList } from '../components/post.js'
import { href } from '../router.js'

/** After sign-up: the id to share, its invite link and QR code, and the backup prompt. */
function welcome(ctx: Ctx): TemplateResult | typeof nothing {
  const s = ctx.store.get()
  if (!s.welcome || s.identity?.kind !== 'ready') return nothing
  const done = () => {
    ctx.store.set({ welcome: false })
    ctx.focusAfterRender('#timeline-text')
  }
  return html`<section class="card welcome" aria-labelledby="welcome-h">
    <h2 id="welcome-h">You're in</h2>
    <p>Your identity is ready. Give friends your invite link (or show them the QR code) so they can follow you.</p>
    ${shareIdentity(ctx, s.identity, 'welcome')}
    ${
      s.identity.backedUp
        ? nothing
        : html`<p>
          <strong>Next, save your backup.</strong> Your identity exists only in this browser: without the backup,
          losing this browser's data loses your identity.
        </p>`
    }
    <div class="row">
      ${s.identity.backedUp ? nothing : html`<a class="button primary" href=${href.settings}>Back up now</a>`}
      <button type="button" class="secondary" @click=${done}>Done</button>
    </div>
  </section>`
}

export function timelineView(ctx: Ctx): TemplateResult {
  return html`<h1 tabindex="-1">Timeline</h1>
    ${statusRegion(ctx, 'view')} ${welcome(ctx)}
    <section aria-labelledby="compose-h">
      <h2 id="compose-h" class="visually-hidden">Write a post</h2>
      ${composer(ctx, 'timeline', { label: "What's happening?", submit: 'Post' })}
    </section>
    <section aria-labelledby="posts-h">
      <h2 id="posts-h" class="visually-hidden">Posts</h2>
      ${postList(
        ctx,
        'timeline',
        // Link texts differ from the navigation's, so each nav link's name stays unique on the page.
        html`<p>Nothing here yet.</p>
          <p>
            <a href=${href.people}>Find people to follow</a>, or give friends <a href=${href.settings}>your invite link</a>.
            Posts arrive as peers send them (<a href=${href.network}>see connections</a>).
          </p>`,
      )}
    </section>`
}
