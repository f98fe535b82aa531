/** The page header: the app's name, a compact network/sync indicator, and the main navigation. */
import { html, nothing, type TemplateResult } from 'lit-html'
import type { NetworkView } from '../../api.js'
import type { Ctx } from '../actions.js'
import { href } from '../router.js'

/** "40%" of a sync, rounded down (never 100% before it is done). */
export function percent(received: number, expected: number): string {
  if (expected <= 0) return '0%'
  return `${Math.min(99, Math.floor((received / expected) * 100))}%`
}

function netIndicator(net: NetworkView | undefined): TemplateResult | typeof nothing {
  if (!net) return nothing
  if (net.sync && net.sync.expected > 0) {
    const { received, expected } = net.sync
    return html`<p class="netstat syncing">
      <progress max=${expected} .value=${Math.min(received, expected)} aria-label="Sync progress"></progress>
      <span>Syncing ${percent(received, expected)}</span>
    </p>`
  }
  const live = net.peers.filter((p) => p.state === 'live' || p.state === 'syncing').length
  return html`<p class="netstat ${net.online ? 'online' : 'offline'}">
    <span class="dot" aria-hidden="true"></span>
    ${net.online ? `Online · ${live} ${live === 1 ? 'peer' : 'peers'}` : 'Offline'}
  </p>`
}

function navLink(to: string, label: string, current: boolean): TemplateResult {
  return html`<li><a href=${to} aria-current=${current ? 'page' : 'false'}>${label}</a></li>`
}

/**
 * The header; the network indicator and the navigation appear once there is an identity (before
 * it, the app connects to nobody, and a red "Offline" on the welcome page would only alarm).
 */
export function header(ctx: Ctx): TemplateResult {
  const s = ctx.store.get()
  const r = s.route
  const me = s.identity?.kind === 'ready' ? s.identity.me : undefined
  return html`<header class="site-header">
    <div class="bar">
      <a class="brand" href=${href.timeline}><span class="logo" aria-hidden="true">◌</span> Murmur</a>
      ${me ? netIndicator(s.net) : nothing}
    </div>
    ${
      me
        ? html`<nav aria-label="Main">
          <ul>
            ${navLink(href.timeline, 'Timeline', r.name === 'timeline')}
            ${navLink(href.people, 'People', r.name === 'people')}
            ${navLink(href.profile(me.id), 'My profile', r.name === 'profile' && r.id === me.id)}
            ${navLink(href.network, 'Network', r.name === 'network')}
            ${navLink(href.settings, 'Settings', r.name === 'settings')}
          </ul>
        </nav>`
        : nothing
    }
  </header>`
}
