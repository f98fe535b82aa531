/** The whole page as one template: skip link, header, banners, and the page the route names. */
import { html, nothing, type TemplateResult } from 'lit-html'
import type { Ctx } from './actions.js'
import { banners } from './components/banners.js'
import { statusRegion } from './components/common.js'
import { header } from './components/header.js'
import { href } from './router.js'
import { followView } from './views/follow.js'
import { networkView } from './views/network.js'
import { onboardingView } from './views/onboarding.js'
import { peopleView } from './views/people.js'
import { profileView } from './views/profile.js'
import { settingsView } from './views/settings.js'
import { threadView } from './views/thread.js'
import { timelineView } from './views/timeline.js'

function page(ctx: Ctx): TemplateResult {
  const s = ctx.store.get()
  if (s.boot.kind === 'failed') {
    return html`<h1 tabindex="-1">Murmur could not start</h1>
      <p class="alert">${s.boot.text}</p>
      <p>Reload the page to try again. If it keeps failing, this browser may lack something Murmur needs.</p>`
  }
  if (s.boot.kind === 'loading' || !s.identity) {
    return html`<h1 tabindex="-1">Murmur</h1>
      <p class="muted">Starting…</p>`
  }
  if (s.identity.kind === 'none') return onboardingView(ctx)
  const r = s.route
  switch (r.name) {
    case 'timeline':
      return timelineView(ctx)
    case 'thread':
      return threadView(ctx, r.id)
    case 'profile':
      return profileView(ctx, r.id)
    case 'follow':
      return followView(ctx, r.id)
    case 'people':
      return peopleView(ctx)
    case 'network':
      return networkView(ctx)
    case 'settings':
      return settingsView(ctx)
    case 'missing':
      return html`<h1 tabindex="-1">Page not found</h1>
        <p>There is no page at <code>#${r.path}</code>. <a href=${href.timeline}>Go to the timeline</a>.</p>`
  }
}

function skip(e: Event): void {
  e.preventDefault() // a plain #main would be taken for a route
  const target = document.querySelector<HTMLElement>('main h1') ?? document.querySelector<HTMLElement>('main')
  target?.focus()
}

export function app(ctx: Ctx): TemplateResult {
  const busy = ctx.store.get().boot.kind === 'loading'
  return html`<a class="skip-link" href="#main" @click=${skip}>Skip to content</a>
    ${header(ctx)}
    <main id="main" tabindex="-1" aria-busy=${busy ? 'true' : 'false'}>
      ${statusRegion(ctx, 'global')} ${busy ? nothing : banners(ctx)} ${page(ctx)}
    </main>`
}
