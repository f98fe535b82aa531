/**
 * Settings: the id and invite link to share, the profile, the backup (hidden until asked for,
 * copied or downloaded, then confirmed), how to restore elsewhere, and storage persistence.
 */
import { html, nothing, type TemplateResult } from 'lit-html'
import type { IdentityState } from '../../api.js'
import type { Ctx } from '../actions.js'
import { copyButton, field, fileField, statusRegion } from '../components/common.js'
import { shareIdentity } from '../components/identity.js'
import { avatarImage } from './onboarding.js'
import { updatesCard } from './updates.js'

type Ready = Extract<IdentityState, { kind: 'ready' }>

/** Saves `text` as a .txt file through a temporary `<a download>`. */
function download(text: string, name: string): void {
  const url = URL.createObjectURL(new Blob([`${text}\n`], { type: 'text/plain' }))
  const a = document.createElement('a')
  a.href = url
  a.download = name
  a.hidden = true
  document.body.append(a)
  a.click()
  a.remove()
  setTimeout(() => URL.revokeObjectURL(url), 60_000)
}

function profileForm(ctx: Ctx, id: Ready): TemplateResult {
  const p = ctx.store.get().profiles[id.me.id]
  const save = async (e: Event) => {
    e.preventDefault()
    const form = e.target as HTMLFormElement
    const name = field(form, 'name').trim()
    if (!name) {
      ctx.setStatus('settings-profile', { kind: 'error', text: 'Your display name cannot be empty.' })
      ctx.focusAfterRender('#set-name')
      return
    }
    const description = field(form, 'description').trim()
    await ctx.write(
      'settings-profile',
      async () => {
        const avatar = await avatarImage(fileField(form, 'avatar'))
        await ctx.api.updateProfile({ name, description, ...(avatar ? { avatar } : {}) })
        form.querySelector<HTMLInputElement>('input[type=file]')!.value = ''
      },
      'Profile saved.',
    )
  }
  // `value`/`.defaultValue`: the saved profile fills the fields until the person edits them.
  return html`<form @submit=${save} novalidate>
    <label for="set-name">Display name</label>
    <input id="set-name" name="name" required maxlength="100" autocomplete="nickname" value=${p?.selfName ?? id.me.name ?? ''} />
    <label for="set-desc">About you <span class="optional">(optional)</span></label>
    <textarea id="set-desc" name="description" rows="3" maxlength="2000" .defaultValue=${p?.description ?? ''}></textarea>
    <label for="set-avatar">New picture <span class="optional">(optional)</span></label>
    <input id="set-avatar" name="avatar" type="file" accept="image/*" aria-describedby="set-avatar-hint" />
    <p class="hint" id="set-avatar-hint">Re-encoded here first: location and camera details are removed.</p>
    <button type="submit" class="primary">Save profile</button>
    <p class="note">Your profile is public.</p>
    ${statusRegion(ctx, 'settings-profile')}
  </form>`
}

function backup(ctx: Ctx, id: Ready): TemplateResult {
  const text = ctx.store.get().backup
  const show = () =>
    ctx.run('backup', async () => {
      ctx.store.set({ backup: await ctx.api.backupText() })
      ctx.focusAfterRender('#backup-text')
    })
  const hide = () => {
    ctx.store.set({ backup: undefined })
    ctx.focusAfterRender('#backup-show')
  }
  const saved = () =>
    ctx
      .run('backup', () => ctx.api.markBackedUp(), 'Thank you. Keep that text somewhere safe and private.')
      .then(() => ctx.refreshIdentity())
  const fileName = `murmur-backup-${id.me.fingerprint.replace(/[^A-Za-z0-9]/g, '')}.txt`
  return html`<section class="card" id="backup" aria-labelledby="backup-h2">
    <h2 id="backup-h2">Backup</h2>
    <p>
      ${
        id.backedUp
          ? html`<span class="badge">Saved</span> You saved your backup.`
          : html`<span class="badge warn">Not saved yet</span> Save your backup before you need it.`
      }
    </p>
    <p class="warn-text">
      <strong>Anyone with this text can post as you. Keep it secret; without it, losing this browser's data loses your
      identity.</strong>
    </p>
    ${
      text === undefined
        ? html`<button type="button" id="backup-show" class="primary" @click=${show}>Show backup text</button>`
        : html`<label for="backup-text">Your backup text</label>
          <textarea id="backup-text" class="mono" rows="3" readonly spellcheck="false" .value=${text}></textarea>
          <div class="row">
            ${copyButton(ctx, 'Copy backup text', text, 'backup-text', 'backup')}
            <button type="button" class="secondary" @click=${() => download(text, fileName)}>Download as a file</button>
            <button type="button" class="secondary" @click=${hide}>Hide backup text</button>
          </div>
          ${
            id.backedUp
              ? nothing
              : html`<p>Once it is stored somewhere safe (a password manager, or printed):</p>
                <button type="button" class="primary" @click=${saved}>I saved it</button>`
          }`
    }
    ${statusRegion(ctx, 'backup')}
  </section>`
}

function storage(ctx: Ctx, id: Ready): TemplateResult {
  const persisted = ctx.store.get().persisted ?? id.persisted
  const supported = typeof navigator.storage?.persist === 'function'
  const ask = () =>
    ctx.run('storage', async () => {
      await ctx.persist()
      if (!ctx.store.get().persisted) {
        throw new Error(
          'The browser did not grant it. Browsers often grant it to sites you use a lot or bookmark; try again later.',
        )
      }
    })
  return html`<section class="card" aria-labelledby="storage-h">
    <h2 id="storage-h">Storage on this device</h2>
    <p>
      ${
        persisted
          ? html`<span class="badge">Persistent</span> This browser keeps Murmur's data until you delete it.`
          : html`<span class="badge warn">Not persistent</span> This browser may delete Murmur's data, your identity
            included, when it runs low on space.`
      }
    </p>
    ${
      !persisted && supported
        ? html`<button type="button" class="secondary" @click=${ask}>Ask the browser to keep it</button>`
        : nothing
    }
    ${statusRegion(ctx, 'storage')}
  </section>`
}

export function settingsView(ctx: Ctx): TemplateResult {
  const id = ctx.store.get().identity
  if (id?.kind !== 'ready') return html`<h1 tabindex="-1">Settings</h1>`
  return html`<h1 tabindex="-1">Settings</h1>
    ${statusRegion(ctx, 'view')}
    <section class="card" aria-labelledby="share-h">
      <h2 id="share-h">Your id and invite link</h2>
      ${shareIdentity(ctx, id, 'settings-share')}
    </section>
    <section class="card" aria-labelledby="profile-h">
      <h2 id="profile-h">Profile</h2>
      ${profileForm(ctx, id)}
    </section>
    ${backup(ctx, id)}
    <section class="card" aria-labelledby="restore-info-h">
      <h2 id="restore-info-h">Using Murmur on another device</h2>
      <p>
        Open Murmur there, choose <strong>Restore from backup</strong> and paste your backup text. Use one device at a
        time: posting from two copies of the same identity breaks your feed for good. After a restore, Murmur waits to
        find your latest post on the network before it writes anything.
      </p>
      <p>Each site address keeps its own data: opening another peer's address starts empty there.</p>
    </section>
    ${storage(ctx, id)} ${updatesCard(ctx)}`
}
