/** A thread: its first post, every reply held here in order, and a reply composer. */
import { html, type TemplateResult } from 'lit-html'
import { repeat } from 'lit-html/directives/repeat.js'
import type { Ctx } from '../actions.js'
import { statusRegion } from '../components/common.js'
import { composer } from '../components/composer.js'
import { postCard } from '../components/post.js'

export function threadView(ctx: Ctx, id: string): TemplateResult {
  const t = ctx.store.get().threads[id]
  const rootId = t?.rootId ?? id
  return html`<h1 tabindex="-1">Thread</h1>
    ${statusRegion(ctx, 'view')}
    ${
      !t
        ? html`<p class="muted">Loading thread…</p>`
        : html`${
            t.root
              ? postCard(ctx, t.root, { inThread: true })
              : html`<p class="card muted">The first post of this thread has not reached this device yet.</p>`
          }
          <section aria-labelledby="replies-h">
            <h2 id="replies-h">${t.replies.length === 1 ? '1 reply' : `${t.replies.length} replies`}</h2>
            <div class="replies">
              ${repeat(
                t.replies,
                (p) => p.id,
                (p) => postCard(ctx, p, { inThread: true }),
              )}
            </div>
          </section>
          <section aria-labelledby="reply-h">
            <h2 id="reply-h" class="visually-hidden">Reply</h2>
            ${composer(ctx, `reply:${rootId}`, { label: 'Write a reply', submit: 'Reply', replyTo: rootId })}
          </section>`
    }`
}
