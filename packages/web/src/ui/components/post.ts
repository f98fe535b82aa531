/**
 * A post as a card, and a paged list of them. A list loads its next page when its "Load more"
 * button scrolls near the screen (IntersectionObserver); the button also works by hand.
 */
import { html, nothing, type TemplateResult } from 'lit-html'
import { ref } from 'lit-html/directives/ref.js'
import { repeat } from 'lit-html/directives/repeat.js'
import type { ImageRef, PostView } from '../../api.js'
import { fullTime, isoTime, linkify, relativeTime } from '../../lib/text.js'
import type { Ctx } from '../actions.js'
import { href } from '../router.js'
import { statusRegion } from './common.js'
import { avatar, blobImage } from './media.js'
import { personList, personName, personText } from './person.js'

/** Text with its web links as links (only http/https; they open in a new tab, no referrer). */
export function richText(text: string): TemplateResult {
  return html`${linkify(text).map((piece) =>
    piece.kind === 'link' && /^https?:\/\//i.test(piece.href)
      ? html`<a href=${piece.href} rel="noopener noreferrer nofollow" target="_blank">${piece.text}</a>`
      : piece.text,
  )}`
}

function images(ctx: Ctx, imgs: readonly ImageRef[]): TemplateResult | typeof nothing {
  if (imgs.length === 0) return nothing
  return html`<div class="images count${Math.min(imgs.length, 4)}">
    ${imgs.map((img) => blobImage(ctx.blobs, img.blob, img.alt?.trim() || 'Image without a description', 'post-image'))}
  </div>`
}

function likers(ctx: Ctx, post: PostView): TemplateResult | typeof nothing {
  const people = ctx.store.get().likers[post.id]
  if (!people) return nothing
  // A named group, not a heading: a post sits at different heading depths (under the page's
  // h1 on a thread, under an h2 elsewhere), and a fixed level would skip one somewhere.
  return html`<div class="likers" id="likers-${post.id}" role="group" aria-label="Liked by">
    ${
      people.length === 0 && ctx.store.get().busy[`post:${post.id}`]
        ? html`<p class="muted">Loading…</p>`
        : personList(ctx.blobs, people, 'Nobody you can see yet.')
    }
  </div>`
}

/** Already on this thread's reply page: the hash would not change, so focus the composer here. */
function replyHere(ctx: Ctx, e: Event, threadId: string): void {
  if (location.hash !== href.reply(threadId)) return
  e.preventDefault()
  ctx.focusAfterRender('main .composer textarea')
}

/** One post. `inThread` leaves out the link to the thread (it is the page). */
export function postCard(ctx: Ctx, post: PostView, opts: { inThread?: boolean } = {}): TemplateResult {
  const s = ctx.store.get()
  const threadId = post.root ?? post.id
  const open = s.likers[post.id] !== undefined
  const body = html`<p class="text">${richText(post.text)}</p>
    ${images(ctx, post.images)}`
  return html`<article class="post card" data-post-id=${post.id} aria-label=${`Post by ${personText(post.author)}`}>
    <header class="post-head">
      ${avatar(ctx.blobs, post.author)}
      <div class="who">
        <a class="author" href=${href.profile(post.author.id)}>${personName(post.author)}</a>
        <time datetime=${isoTime(post.ts) ?? nothing} title=${fullTime(post.ts)}>${relativeTime(post.ts, s.now)}</time>
      </div>
    </header>
    ${post.root && !opts.inThread ? html`<p class="reply-note muted">Reply in a thread</p>` : nothing}
    ${
      post.cw
        ? html`<details class="cw">
          <summary>Content warning: <bdi>${post.cw}</bdi></summary>
          ${body}
        </details>`
        : body
    }
    <footer class="post-actions">
      <button type="button" class="like" aria-pressed=${post.likedByMe ? 'true' : 'false'} @click=${() => ctx.like(post)}>
        <span class="heart" aria-hidden="true">${post.likedByMe ? '♥' : '♡'}</span> Like
      </button>
      ${
        post.likes > 0
          ? html`<button
            type="button"
            class="link-button"
            aria-expanded=${open ? 'true' : 'false'}
            aria-controls="likers-${post.id}"
            @click=${() => ctx.toggleLikers(post.id)}
          >
            Liked by ${post.likes}
          </button>`
          : nothing
      }
      <a class="action" href=${href.reply(threadId)} @click=${(e: Event) => replyHere(ctx, e, threadId)}>Reply</a>
      ${opts.inThread ? nothing : html`<a class="action" href=${href.thread(threadId)}>Open thread</a>`}
    </footer>
    ${likers(ctx, post)} ${statusRegion(ctx, `post:${post.id}`)}
  </article>`
}

/** A paged list of posts (`list` is `timeline` or `posts:<feedId>`). */
export function postList(ctx: Ctx, list: string, empty: TemplateResult | string): TemplateResult {
  const l = ctx.store.get().lists[list]
  const items = l?.items ?? []
  return html`<div class="post-list" aria-busy=${l?.loading ? 'true' : 'false'}>
    ${
      l?.loaded && items.length === 0
        ? html`<div class="empty card">${empty}</div>`
        : repeat(
            items,
            (p) => p.id,
            (p) => postCard(ctx, p),
          )
    }
    ${
      l?.next
        ? html`<button
          type="button"
          class="secondary load-more"
          aria-disabled=${l.loading ? 'true' : 'false'}
          ${ref(ctx.sentinel(list))}
          @click=${() => ctx.loadMore(list)}
        >
          ${l.loading ? 'Loading…' : 'Load more'}
        </button>`
        : l?.loaded && items.length > 0
          ? html`<p class="end muted">That's all for now.</p>`
          : nothing
    }
    ${!l?.loaded ? html`<p class="muted">Loading posts…</p>` : nothing} ${statusRegion(ctx, `list:${list}`)}
  </div>`
}
