/**
 * App updates (engine/releases.ts does the work): the "update available" banner, the warning
 * about a service worker no trusted release names, and the settings card with the policy, the
 * release history (upgrade, roll back) and the trusted publishers.
 */
import { html, nothing, type TemplateResult } from 'lit-html'
import type { ReleasesView, ReleaseView, UpgradePolicy } from '../../api.js'
import type { Ctx } from '../actions.js'
import { field, statusRegion } from '../components/common.js'
import { personName } from '../components/person.js'

/** The releases, and whether the origin's worker script is one no trusted release names. */
export interface UpdatesState {
  readonly view?: ReleasesView
  readonly unknownWorker?: boolean
}

async function sha256Hex(bytes: ArrayBuffer): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes))
  return Array.from(d, (b) => b.toString(16).padStart(2, '0')).join('')
}

/**
 * Reloads the releases and checks the worker script the origin serves now (the one the browser
 * installs on its next update check) against the trusted releases' `worker` files.
 */
export async function refreshUpdates(ctx: Ctx): Promise<void> {
  try {
    const view = await ctx.api.releases()
    let unknownWorker = false
    const known = view.releases.map((r) => r.workerSha256).filter((h): h is string => Boolean(h))
    if (known.length > 0) {
      const res = await fetch('/sw.js', { cache: 'no-store' }).catch(() => undefined)
      if (res?.ok) unknownWorker = !known.includes(await sha256Hex(await res.arrayBuffer()))
    }
    ctx.store.set({ updates: { view, unknownWorker } })
  } catch {
    // No identity yet, or the engine is restarting: nothing to show.
  }
}

const reload = () => location.reload()

async function use(ctx: Ctx, r: ReleaseView, area: string): Promise<void> {
  if (await ctx.run(area, () => ctx.api.useRelease(r.id), `Switching to version ${r.version}…`)) reload()
}

/** The newest cached release the person could upgrade to. */
function offered(view: ReleasesView | undefined): ReleaseView | undefined {
  return view?.releases.find((r) => r.cached && r.newer)
}

/** The banners: an update to accept (policy "ask"), and an unknown worker. */
export function updateBanners(ctx: Ctx): TemplateResult {
  const state = ctx.store.get().updates ?? {}
  const view = state.view
  const next = view?.policy === 'ask' ? offered(view) : undefined
  return html`${
    state.unknownWorker
      ? html`<section class="banner warn" role="alert" id="unknown-worker" aria-labelledby="unknown-worker-h">
          <p class="banner-title" id="unknown-worker-h">Warning: this site now serves an app loader that no publisher you trust released</p>
          <p>The site's <code>sw.js</code> changed outside any release you chose. It could change the app behind your back.
            Be careful with what you type here until a trusted publisher releases it, or use another peer.</p>
        </section>`
      : nothing
  }${
    next
      ? html`<section class="banner" id="update-banner" aria-labelledby="update-h">
          <p class="banner-title" id="update-h">Update available: version ${next.version}</p>
          <p>From ${personName(next.publisher)}.${next.notes ? html` ${next.notes}` : nothing}</p>
          <div class="row">
            <button type="button" class="primary small" id="update-now" @click=${() => use(ctx, next, 'update-banner')}>Update now</button>
          </div>
          ${statusRegion(ctx, 'update-banner')}
        </section>`
      : nothing
  }`
}

const POLICY_LABELS: readonly [UpgradePolicy, string][] = [
  ['auto', 'Automatically: the next load runs the newest version'],
  ['ask', 'Ask me first'],
  ['stay', 'Stay on this version'],
]

function release(ctx: Ctx, r: ReleaseView): TemplateResult {
  const when = new Date(r.ts).toISOString().slice(0, 16).replace('T', ' ')
  return html`<li class="release" data-release=${r.id} data-version=${r.version}>
    <p><strong>${r.version}</strong>${r.current ? html` <span class="badge" id="current-release">running now</span>` : nothing}
      by ${personName(r.publisher)}, ${when} UTC${
        r.cached
          ? nothing
          : r.newer
            ? html` <span class="muted">(downloading…)</span>`
            : html` <span class="muted">(not kept on this device: fetched from peers again if you switch to it)</span>`
      }</p>
    ${r.notes ? html`<p>${r.notes}</p>` : nothing}
    ${
      // A newer release is offered once it is here; an older one, even if it was pruned, can be
      // switched to at any time (the engine fetches its files from peers again).
      !r.current && (r.cached || !r.newer)
        ? html`<button type="button" class="secondary small" @click=${() => use(ctx, r, 'updates')}>
            ${r.newer ? 'Update now' : 'Use this version'}</button>`
        : nothing
    }
  </li>`
}

/** The settings card "App updates". */
export function updatesCard(ctx: Ctx): TemplateResult {
  const view = ctx.store.get().updates?.view
  if (!view)
    return html`<section class="card" aria-labelledby="updates-h"><h2 id="updates-h">App updates</h2><p class="muted">Loading…</p></section>`
  const setPolicy = (p: UpgradePolicy) =>
    ctx.run('updates', () => ctx.api.setUpgradePolicy(p), 'Saved.').then(() => refreshUpdates(ctx))
  const add = async (e: Event) => {
    e.preventDefault()
    const form = e.target as HTMLFormElement
    if (await ctx.run('updates', () => ctx.api.addPublisher(field(form, 'publisher').trim()), 'Publisher added.'))
      form.reset()
    await refreshUpdates(ctx)
  }
  const remove = (id: string) =>
    ctx.run('updates', () => ctx.api.removePublisher(id), 'Publisher removed.').then(() => refreshUpdates(ctx))
  return html`<section class="card" id="updates" aria-labelledby="updates-h">
    <h2 id="updates-h">App updates</h2>
    <p>This app is delivered by its publishers' signed releases; every file is checked against the release before it runs.
      ${view.current ? nothing : html`It runs the files this site served first.`}</p>
    <fieldset>
      <legend>When a new version arrives</legend>
      ${POLICY_LABELS.map(
        ([p, label]) => html`<label><input type="radio" name="policy" value=${p} .checked=${view.policy === p}
          @change=${() => setPolicy(p)} /> ${label}</label>`,
      )}
    </fieldset>
    <h3>Versions</h3>
    ${view.releases.length ? html`<ul class="releases">${view.releases.map((r) => release(ctx, r))}</ul>` : html`<p class="muted">No release seen yet.</p>`}
    <h3>Publishers you trust</h3>
    <ul>
      ${view.publishers.map(
        (p) =>
          html`<li>${personName(p)} <button type="button" class="secondary small" @click=${() => remove(p.id)}>Remove</button></li>`,
      )}
    </ul>
    <form @submit=${add} novalidate>
      <label for="publisher-id">Add a publisher (their id, @….ed25519)</label>
      <input id="publisher-id" name="publisher" autocomplete="off" />
      <button type="submit" class="secondary">Add publisher</button>
      <p class="note">Their feed is then fetched for releases; this is not a public follow.</p>
    </form>
    ${statusRegion(ctx, 'updates')}
  </section>`
}
