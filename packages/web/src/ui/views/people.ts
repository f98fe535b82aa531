/** People: open someone by their id or invite link, follow suggestions, and who I follow. */
import { html, type TemplateResult } from 'lit-html'
import type { Ctx } from '../actions.js'
import { field, statusRegion } from '../components/common.js'
import { personList, personText } from '../components/person.js'
import { href, parseFeedRef } from '../router.js'
import { followButton, PUBLIC_NOTE } from './profile.js'

function open(ctx: Ctx, e: Event): void {
  e.preventDefault()
  const text = field(e.target as HTMLFormElement, 'ref')
  const id = parseFeedRef(text)
  if (!id) {
    ctx.setStatus('people', {
      kind: 'error',
      text: 'That is not an id or an invite link. An id looks like @…ed25519; an invite link ends in #/follow/@…ed25519.',
    })
    ctx.focusAfterRender('#people-ref')
    return
  }
  ctx.setStatus('people', undefined)
  location.hash = href.profile(id)
}

export function peopleView(ctx: Ctx): TemplateResult {
  const s = ctx.store.get()
  const me = s.identity?.kind === 'ready' ? s.profiles[s.identity.me.id] : undefined
  const suggestions = s.suggestions
  return html`<h1 tabindex="-1">People</h1>
    ${statusRegion(ctx, 'view')}
    <section class="card" aria-labelledby="find-h">
      <h2 id="find-h">Find someone</h2>
      <form @submit=${(e: Event) => open(ctx, e)} novalidate>
        <label for="people-ref">Id or invite link</label>
        <div class="row">
          <input
            id="people-ref"
            name="ref"
            autocomplete="off"
            autocapitalize="off"
            spellcheck="false"
            aria-describedby="people-hint"
            class="mono"
          />
          <button type="submit" class="primary">Open profile</button>
        </div>
        <p class="hint" id="people-hint">Ask a friend for their invite link or their id (it looks like @…ed25519).</p>
        ${statusRegion(ctx, 'people')}
      </form>
    </section>
    <section aria-labelledby="suggest-h">
      <h2 id="suggest-h">Suggestions</h2>
      <p class="muted">People that people you follow follow. ${PUBLIC_NOTE}</p>
      ${
        suggestions
          ? personList(ctx.blobs, suggestions, 'No suggestions yet: follow someone first.', (p) =>
              followButton(ctx, { id: p.id, following: false }, 'suggest', personText(p)),
            )
          : html`<p class="muted">Loading…</p>`
      }
      ${statusRegion(ctx, 'suggest')}
    </section>
    <section aria-labelledby="following-h">
      <h2 id="following-h">You follow</h2>
      ${me ? personList(ctx.blobs, me.follows, 'Nobody yet.') : html`<p class="muted">Loading…</p>`}
    </section>`
}
