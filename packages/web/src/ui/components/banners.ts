/**
 * Banners on every page about the identity's safety: the restore wait (writing could fork the
 * feed) and the backup reminder (until the person saved it; hidden for a session on request).
 */
import { html, nothing, type TemplateResult } from 'lit-html'
import type { Ctx } from '../actions.js'
import { href } from '../router.js'
import { updateBanners } from '../views/updates.js'
import { confirmStep, statusRegion } from './common.js'

/** sessionStorage key of the dismissed backup reminder. */
export const REMINDER_KEY = 'murmur.backupReminderHidden'

function restoreBanner(ctx: Ctx): TemplateResult | typeof nothing {
  const id = ctx.store.get().identity
  if (id?.kind !== 'ready' || !id.restore || id.restore.headKnown || id.restore.overridden) return nothing
  return html`<section class="banner warn" aria-labelledby="restore-h">
    <p class="banner-title" id="restore-h">Looking for your latest post on the network… Posting now could break your feed</p>
    <p>
      This identity was restored from a backup${id.restore.seq ? html` (this copy knows ${id.restore.seq} of your messages)` : nothing}.
      Murmur writes nothing until a peer shows it your newest post: writing from an older copy makes two
      different versions of your feed, and peers then stop taking your new posts for good. Stay online, or
      <a href=${href.network}>add a peer that has your posts</a>.
    </p>
    ${confirmStep(ctx, 'override', {
      trigger: 'Post anyway…',
      question:
        'Post without your latest post? Only do this if you are sure this identity never posted from anywhere else, or that those posts are lost. If it did post elsewhere, your feed breaks for good.',
      yes: 'Yes, post anyway',
      no: 'Keep waiting',
      danger: true,
      onYes: () => ctx.run('restore-banner', () => ctx.api.overrideRestoreWait(), 'You can post now.'),
    })}
    ${statusRegion(ctx, 'restore-banner')}
  </section>`
}

function backupReminder(ctx: Ctx): TemplateResult | typeof nothing {
  const s = ctx.store.get()
  const id = s.identity
  // The welcome card after sign-up carries the same prompt.
  if (id?.kind !== 'ready' || id.backedUp || s.reminderHidden || (s.welcome && s.route.name === 'timeline'))
    return nothing
  const hide = () => {
    try {
      sessionStorage.setItem(REMINDER_KEY, '1')
    } catch {
      // storage refused (private mode): hidden for this page only
    }
    ctx.store.set({ reminderHidden: true })
    ctx.focusAfterRender('main h1')
  }
  return html`<section class="banner" aria-labelledby="backup-h">
    <p class="banner-title" id="backup-h">Save a backup of your identity</p>
    <p>Your identity lives only in this browser. If its data is lost, so is your identity, unless you saved the backup.</p>
    <div class="row">
      <a class="button primary small" href="${href.settings}">Back up now</a>
      <button type="button" class="secondary small" @click=${hide}>Remind me later</button>
    </div>
  </section>`
}

/** The banners that apply now. */
export function banners(ctx: Ctx): TemplateResult {
  return html`${updateBanners(ctx)}${restoreBanner(ctx)}${backupReminder(ctx)}`
}
