/**
 * The first visit: make an identity on this device (nothing is sent to sign up), or restore
 * one from its backup text. Opened from an invite link, it says who invited the person.
 */
import { html, nothing, type TemplateResult } from 'lit-html'
import type { NewImage } from '../../api.js'
import { reencodeImage } from '../../lib/image.js'
import type { Ctx } from '../actions.js'
import { field, fileField, statusRegion } from '../components/common.js'
import { avatar } from '../components/media.js'
import { personName } from '../components/person.js'
import { href } from '../router.js'

/** Avatars are small: 512 px is plenty and keeps the blob light. */
const AVATAR_SIDE = 512

/** Re-encodes a picked avatar (EXIF and GPS dropped) into what the engine takes. */
export async function avatarImage(file: File | undefined): Promise<NewImage | undefined> {
  if (!file) return undefined
  const img = await reencodeImage(file, { maxSide: AVATAR_SIDE })
  return { bytes: img.bytes, type: img.type }
}

function afterStart(ctx: Ctx): void {
  const { route } = ctx.store.get()
  if (route.name !== 'follow' && route.name !== 'timeline') location.hash = href.timeline
  ctx.focusAfterRender('main h1')
  void ctx.refresh()
  void ctx.refreshNetwork()
}

async function create(ctx: Ctx, form: HTMLFormElement): Promise<void> {
  const name = field(form, 'name').trim()
  const description = field(form, 'description').trim()
  if (!name) {
    ctx.setStatus('onboard', { kind: 'error', text: 'Enter a display name.' })
    ctx.focusAfterRender('#on-name')
    return
  }
  const ok = await ctx.run('onboard', async () => {
    const img = await avatarImage(fileField(form, 'avatar'))
    const identity = await ctx.api.createIdentity({
      name,
      ...(description ? { description } : {}),
      ...(img ? { avatar: img } : {}),
    })
    ctx.store.set({ identity, welcome: true })
  })
  if (!ok) return
  await ctx.persist() // ask the browser not to evict the identity and its data
  afterStart(ctx)
}

async function restore(ctx: Ctx, form: HTMLFormElement): Promise<void> {
  const text = field(form, 'backup').trim()
  if (!text) {
    ctx.setStatus('restore', { kind: 'error', text: 'Paste your backup text first.' })
    return
  }
  const ok = await ctx.run('restore', async () => {
    const identity = await ctx.api.restoreIdentity(text)
    ctx.store.set({ identity })
  })
  if (!ok) return
  await ctx.persist()
  afterStart(ctx)
}

function invitedBy(ctx: Ctx): TemplateResult | typeof nothing {
  const { route, profiles } = ctx.store.get()
  if (route.name !== 'follow') return nothing
  const p = profiles[route.id]
  return html`<div class="card invite-note">
    ${p ? avatar(ctx.blobs, p) : nothing}
    <p>
      You opened an invite to follow ${p ? personName(p) : html`<code class="id">${route.id}</code>`}. Make your
      identity first; then you can follow them.
    </p>
  </div>`
}

/** The onboarding page (shown whatever the route while there is no identity). */
export function onboardingView(ctx: Ctx): TemplateResult {
  const busy = ctx.store.get().busy
  const submit = (fn: typeof create, area: string) => (e: Event) => {
    e.preventDefault()
    if (!ctx.store.get().busy[area]) void fn(ctx, e.target as HTMLFormElement)
  }
  return html`<h1 tabindex="-1">Welcome to Murmur</h1>
    ${invitedBy(ctx)}
    <p class="lead">
      Your identity is made here, on this device, as a key that only this browser holds. Nothing is sent anywhere to
      sign up: there is no account, no email and no password.
    </p>
    <section class="card" aria-labelledby="create-h">
      <h2 id="create-h">Create your identity</h2>
      <form @submit=${submit(create, 'onboard')} novalidate>
        <label for="on-name">Display name</label>
        <input id="on-name" name="name" required maxlength="100" autocomplete="nickname" aria-describedby="on-name-hint" />
        <p class="hint" id="on-name-hint">Everyone can see it. Friends can also give you their own name for you.</p>
        <label for="on-desc">About you <span class="optional">(optional)</span></label>
        <textarea id="on-desc" name="description" rows="3" maxlength="2000"></textarea>
        <label for="on-avatar">Picture <span class="optional">(optional)</span></label>
        <input id="on-avatar" name="avatar" type="file" accept="image/*" aria-describedby="on-avatar-hint" />
        <p class="hint" id="on-avatar-hint">Re-encoded here first: location and camera details are removed.</p>
        <button type="submit" class="primary" aria-disabled=${busy.onboard ? 'true' : 'false'}>
          ${busy.onboard ? 'Creating…' : 'Create identity'}
        </button>
        ${statusRegion(ctx, 'onboard')}
      </form>
    </section>
    <section class="card" aria-labelledby="restore-h2">
      <h2 id="restore-h2">Restore from backup</h2>
      <p>
        Already have an identity? Paste the backup text you saved. Use one identity in one browser at a time:
        posting from two places at once breaks your feed.
      </p>
      <form @submit=${submit(restore, 'restore')} novalidate>
        <label for="restore-text">Backup text</label>
        <textarea
          id="restore-text"
          name="backup"
          rows="4"
          required
          autocomplete="off"
          autocapitalize="off"
          spellcheck="false"
          class="mono"
        ></textarea>
        <button type="submit" class="secondary" aria-disabled=${busy.restore ? 'true' : 'false'}>
          ${busy.restore ? 'Restoring…' : 'Restore'}
        </button>
        ${statusRegion(ctx, 'restore')}
      </form>
    </section>`
}
