/**
 * A person's profile: who they are (petname first, their own name still shown, fingerprint and
 * full id), what others call them, follow/petname/block (all public, and the page says so), their
 * posts, and who they follow and who follows them.
 */
import { html, nothing, type TemplateResult } from 'lit-html'
import type { Profile } from '../../api.js'
import { cleanName } from '../../lib/text.js'
import type { Ctx } from '../actions.js'
import { confirmStep, copyButton, field, statusRegion } from '../components/common.js'
import { avatar } from '../components/media.js'
import { personLink, personList, personName, personText } from '../components/person.js'
import { postList, richText } from '../components/post.js'
import { href } from '../router.js'

/** The note shown wherever follows, petnames or blocks are made. */
export const PUBLIC_NOTE = 'Everyone can see who you follow and block, and the names you give.'

/** The Follow / Unfollow button for `p` (its outcome goes to `area`). */
export function followButton(ctx: Ctx, p: Profile | { id: string; following: boolean }, area: string, name: string) {
  const busy = ctx.store.get().busy[area] === true
  const toggle = () => {
    if (busy) return
    void ctx.write(
      area,
      () => ctx.api.follow(p.id, !p.following),
      p.following ? `You no longer follow ${name}.` : `You now follow ${name}. Their posts arrive as peers send them.`,
    )
  }
  return html`<button type="button" class=${p.following ? 'secondary' : 'primary'} @click=${toggle} aria-disabled=${busy ? 'true' : 'false'}>
    ${p.following ? 'Unfollow' : 'Follow'}
  </button>`
}

function petnameForm(ctx: Ctx, p: Profile): TemplateResult {
  const save = (e: Event) => {
    e.preventDefault()
    const name = cleanName(field(e.target as HTMLFormElement, 'petname'))
    void ctx.write(
      'petname',
      () => ctx.api.setPetname(p.id, name),
      name ? `You now call them ${name}.` : 'Your name for them is removed.',
    )
  }
  return html`<form class="inline-form" @submit=${save} novalidate>
    <label for="petname">Your name for them</label>
    <div class="row">
      <input id="petname" name="petname" maxlength="100" value=${p.petname ?? ''} aria-describedby="petname-hint" />
      <button type="submit" class="secondary">Save name</button>
    </div>
    <p class="hint" id="petname-hint">Leave it empty to remove it. People who follow you see the names you give.</p>
    ${statusRegion(ctx, 'petname')}
  </form>`
}

function actions(ctx: Ctx, p: Profile): TemplateResult {
  const name = personText(p)
  return html`<div class="profile-actions">
      ${followButton(ctx, p, 'profile', name)}
      ${confirmStep(ctx, `block:${p.id}`, {
        trigger: p.blocked ? 'Unblock' : 'Block',
        question: p.blocked
          ? html`Unblock ${personName(p)}? Their posts can show again, and everyone can see that you unblocked them.`
          : html`Block ${personName(p)}? You stop fetching and showing their posts. Everyone can see that you blocked them.`,
        yes: p.blocked ? 'Yes, unblock' : 'Yes, block',
        no: 'Cancel',
        danger: !p.blocked,
        onYes: () =>
          ctx.write(
            'profile',
            () => ctx.api.block(p.id, !p.blocked),
            p.blocked ? `Unblocked ${name}.` : `Blocked ${name}.`,
          ),
      })}
    </div>
    ${statusRegion(ctx, 'profile')}
    <p class="note">${PUBLIC_NOTE}</p>
    ${petnameForm(ctx, p)}`
}

function about(ctx: Ctx, p: Profile): TemplateResult {
  const selfName = p.selfName ? cleanName(p.selfName) : ''
  return html`<div class="card profile-card">
    <div class="profile-top">
      ${avatar(ctx.blobs, p, 'large')}
      <div>
        ${p.petname && selfName ? html`<p>Calls themselves <bdi>${selfName}</bdi></p>` : nothing}
        ${p.followsMe && !p.isMe ? html`<p class="badge">Follows you</p>` : nothing}
        ${p.blocked ? html`<p class="badge warn">Blocked</p>` : nothing}
      </div>
    </div>
    ${
      p.forked
        ? html`<p class="alert" role="note">
          <strong>This feed is broken (forked) at message ${p.forked.seq}.</strong> Its author signed two different
          messages at the same place, so nothing after it is taken. Their key may be in use on two devices, or stolen.
        </p>`
        : nothing
    }
    ${p.description ? html`<p class="text description">${richText(p.description)}</p>` : nothing}
    <dl class="facts">
      <dt>Fingerprint</dt>
      <dd><span class="fp">${p.fingerprint}</span></dd>
      <dt>Id</dt>
      <dd>
        <code class="id" id="profile-id">${p.id}</code>
        ${copyButton(ctx, 'Copy id', p.id, 'profile-id', 'profile-copy')}
      </dd>
      <dt>Messages held here</dt>
      <dd>${p.seq}</dd>
    </dl>
    ${statusRegion(ctx, 'profile-copy')}
    ${
      p.friendNames.length
        ? html`<ul class="friend-names">
          ${p.friendNames.map(
            (f) => html`<li>Known as <bdi>${cleanName(f.name)}</bdi> by ${personLink(ctx.blobs, f.by)}</li>`,
          )}
        </ul>`
        : nothing
    }
  </div>`
}

export function profileView(ctx: Ctx, id: string): TemplateResult {
  const p = ctx.store.get().profiles[id]
  if (!p) {
    return html`<h1 tabindex="-1">Profile</h1>
      ${statusRegion(ctx, 'view')}
      <p class="muted">Loading profile…</p>`
  }
  return html`<h1 tabindex="-1" class="profile-name">${personName(p)}</h1>
    ${statusRegion(ctx, 'view')} ${about(ctx, p)}
    ${
      p.isMe
        ? html`<p>This is you. <a href=${href.settings}>Edit your profile</a></p>`
        : html`<section class="card" aria-labelledby="you-h">
          <h2 id="you-h">You and them</h2>
          ${actions(ctx, p)}
        </section>`
    }
    <section aria-labelledby="posts-h">
      <h2 id="posts-h">Posts</h2>
      ${postList(ctx, `posts:${p.id}`, p.blocked ? 'You blocked them: their posts are not shown.' : 'No posts here yet.')}
    </section>
    <div class="two-col">
      <section aria-labelledby="follows-h">
        <h2 id="follows-h">Follows</h2>
        ${personList(ctx.blobs, p.follows, 'Nobody yet, as far as this device knows.')}
      </section>
      <section aria-labelledby="followers-h">
        <h2 id="followers-h">Followers</h2>
        ${personList(ctx.blobs, p.followers, 'Nobody yet, as far as this device knows.')}
      </section>
    </div>`
}
