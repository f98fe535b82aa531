/**
 * How a person is named on the page. Every name goes through {@link personName}: cleaned of
 * characters that hide or reorder text, inside `<bdi>`, and — when nobody I follow gave it —
 * marked as self-chosen with the key's fingerprint, so nobody can pass as someone else by name.
 */
import { html, nothing, type TemplateResult } from 'lit-html'
import { repeat } from 'lit-html/directives/repeat.js'
import type { PersonRef } from '../../api.js'
import { cleanName } from '../../lib/text.js'
import { href } from '../router.js'
import { avatar, type BlobImages } from './media.js'

/** A person's name as text (for labels and confirm questions), with the same marking. */
export function personText(p: PersonRef): string {
  const name = p.name ? cleanName(p.name) : ''
  if (!name || p.nameSource === 'none') return p.fingerprint
  if (p.nameSource === 'self' && !p.isMe) return `${name} (self-chosen · ${p.fingerprint})`
  return name
}

/** A person's name: `Alice`, `Alice (self-chosen · a1b2…)`, or the fingerprint when nameless. */
export function personName(p: PersonRef): TemplateResult {
  const name = p.name ? cleanName(p.name) : ''
  const you = p.isMe ? html` <span class="you">(you)</span>` : nothing
  if (!name || p.nameSource === 'none') {
    return html`<span class="name"><span class="fp">${p.fingerprint}</span>${you}</span>`
  }
  if (p.nameSource === 'self' && !p.isMe) {
    return html`<span class="name"
      ><bdi>${name}</bdi> <span class="self-chosen">(self-chosen · <span class="fp">${p.fingerprint}</span>)</span></span
    >`
  }
  return html`<span class="name"><bdi>${name}</bdi>${you}</span>`
}

/** A link to a person's profile, with their picture. */
export function personLink(blobs: BlobImages, p: PersonRef): TemplateResult {
  return html`<a class="person" href=${href.profile(p.id)}>${avatar(blobs, p)}${personName(p)}</a>`
}

/** A list of people as links; `empty` is said when there is nobody. */
export function personList(
  blobs: BlobImages,
  people: readonly PersonRef[],
  empty: string,
  extra?: (p: PersonRef) => unknown,
): TemplateResult {
  if (people.length === 0) return html`<p class="muted">${empty}</p>`
  return html`<ul class="people">
    ${repeat(
      people,
      (p) => p.id,
      (p) => html`<li>${personLink(blobs, p)}${extra ? extra(p) : nothing}</li>`,
    )}
  </ul>`
}
