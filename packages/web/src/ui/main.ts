/**
 * Murmur's page: starts the engine worker (rpc.ts), keeps one state object (state.ts), and
 * renders the whole page with lit-html whenever it changes. Engine events refresh what is shown:
 * `changed` the page's data (lists keep their loaded pages, so the scroll position and the
 * composer's text stay), `network` the header and the network page, `identity` the identity.
 *
 * Routes (hash router, router.ts):
 *   #/                  timeline (composer, then posts newest first)
 *   #/thread/<msgId>    a thread with a reply composer; #/thread/<msgId>/reply focuses it
 *   #/profile/<feedId>  a person
 *   #/follow/<feedId>   an invite link: that person with a Follow button (before sign-up, onboarding
 *                       says who invited; the same link shows the Follow button afterwards)
 *   #/people            open an id or invite link; suggestions; who I follow
 *   #/network           connections, sync progress, rejected data, forks, configured peers
 *   #/settings          id and invite (QR), profile, backup, storage persistence
 * With no identity yet, every route shows onboarding.
 *
 * Names tests can rely on (Playwright role selectors; names match exactly unless noted):
 *   every page: heading level 1 (focused on page change); nav "Main" with links "Timeline",
 *     "People", "My profile", "Network", "Settings" (aria-current="page" on the current one);
 *     link "Skip to content".
 *   onboarding: heading "Welcome to Murmur"; textbox "Display name", "About you (optional)";
 *     "Picture (optional)" file input; button "Create identity"; textbox "Backup text"; button
 *     "Restore".
 *   restore banner: text "Looking for your latest post on the network…"; button "Post anyway…",
 *     then "Yes, post anyway" / "Keep waiting".
 *   backup reminder: link "Back up now"; button "Remind me later".
 *   after sign-up (timeline): heading "You're in"; buttons "Copy id", "Copy invite link", "Done";
 *     img "QR code of your invite link"; data-testid="my-id" (the id text) and
 *     data-testid="invite-link" (the link text), also on Settings.
 *   composer: textbox "What's happening?" (timeline) or "Write a reply" (thread); button "Post"
 *     (timeline) or "Reply" (thread); textbox "Content warning" (inside "Add a content warning");
 *     file input "Add images"; per image textbox "Description of image N (alt text)" and button
 *     "Remove image N". Outcome in its live region: "Posted." / "Reply posted.".
 *   post: article[data-post-id="<msgId>"] (aria-label "Post by <name>"); button "Like"
 *     (aria-pressed); button "Liked by N" (aria-expanded) opens the likers list; links "Reply"
 *     and "Open thread" (not inside the thread page); a cw is a <details> "Content warning: …".
 *   post lists: button "Load more" (also auto-loads when scrolled into view).
 *   profile: buttons "Follow"/"Unfollow", "Block"/"Unblock" (then "Yes, block"/"Yes, unblock" /
 *     "Cancel"); textbox "Your name for them" + button "Save name"; button "Copy id";
 *     headings "Posts", "Follows", "Followers".
 *   invite (#/follow): heading "Follow <name>?" (or "Your invite link"); button "Follow";
 *     link "View profile".
 *   people: textbox "Id or invite link"; button "Open profile"; heading "Suggestions" with a
 *     "Follow" button per person; heading "You follow".
 *   network: progress bar with label "Syncing: received X of Y messages (…)" while syncing;
 *     header progress "Sync progress"; textbox "Peer address"; button "Add peer"; buttons
 *     "Remove <url>" (name starts with "Remove"); checkbox "Connect directly to other people's
 *     browsers (WebRTC)"; a direct link is listed as "Browser @xxxxxxxx (direct, WebRTC)".
 *   settings: button "Show backup text"; textbox "Your backup text"; buttons "Copy backup text",
 *     "Download as a file", "Hide backup text", "I saved it"; textbox "Display name" + button
 *     "Save profile"; button "Ask the browser to keep it" (when storage is not persistent).
 *   Outcomes and errors appear in live regions (p.status[aria-live=polite]) next to the action;
 *   errors have the class `error`.
 */
import './styles.css'
import { render } from 'lit-html'
import { connectEngine } from '../rpc.js'
import { createCtx } from './actions.js'
import { app } from './app.js'
import { REMINDER_KEY } from './components/banners.js'
import { parseRoute, type Route, routeKey } from './router.js'
import { type AppState, createStore, errorText } from './state.js'
import { refreshUpdates } from './views/updates.js'

function reminderHidden(): boolean {
  try {
    return sessionStorage.getItem(REMINDER_KEY) === '1'
  } catch {
    return false
  }
}

function start(root: HTMLElement): void {
  const store = createStore<AppState>({
    route: parseRoute(location.hash),
    boot: { kind: 'loading' },
    now: Date.now(),
    status: {},
    busy: {},
    lists: {},
    threads: {},
    profiles: {},
    likers: {},
    drafts: {},
    welcome: false,
    reminderHidden: reminderHidden(),
  })
  const engine = connectEngine()
  const ctx = createCtx(engine.api, store)

  store.subscribe(() => {
    render(app(ctx), root)
    const selector = ctx.takeFocus()
    if (selector) {
      // Headings take focus without scrolling (the scroll position is restored separately).
      document.querySelector<HTMLElement>(selector)?.focus({ preventScroll: selector === 'main h1' })
    }
  })

  engine.on((e) => {
    if (e.type === 'changed') {
      ctx.blobs.retryMissing()
      void ctx.refresh()
    } else if (e.type === 'network') {
      void ctx.refreshNetwork()
    } else if (e.type === 'identity') {
      void ctx.refreshIdentity()
    } else if (e.type === 'releases') {
      void refreshUpdates(ctx)
    }
  })

  // The hash router: remember where each page was scrolled, show the new one, load its data.
  history.scrollRestoration = 'manual'
  const scrolls = new Map<string, number>()
  const show = (route: Route) => {
    if (route.name === 'thread' && route.reply) ctx.focusAfterRender('main .composer textarea')
    else ctx.focusAfterRender('main h1')
  }
  window.addEventListener('hashchange', () => {
    const s = store.get()
    const route = parseRoute(location.hash)
    const samePage = routeKey(route) === routeKey(s.route)
    if (!samePage) scrolls.set(routeKey(s.route), scrollY)
    store.set({
      route,
      confirm: undefined,
      backup: undefined, // the secret leaves the page with the settings page
      status: s.status.global ? { global: s.status.global } : {},
    })
    show(route)
    if (!samePage) requestAnimationFrame(() => scrollTo(0, scrolls.get(routeKey(route)) ?? 0))
    void ctx.refresh().then(() => {
      // A reply link focuses the composer, which exists once the thread is loaded.
      if (route.name === 'thread' && route.reply && routeKey(store.get().route) === routeKey(route)) show(route)
    })
  })

  addEventListener('online', () => void ctx.refreshNetwork())
  addEventListener('offline', () => void ctx.refreshNetwork())
  setInterval(() => store.set({ now: Date.now() }), 30_000)

  store.set({}) // first render: "Starting…"
  engine.api.identity().then(
    async (identity) => {
      store.set({ identity, boot: { kind: 'ready' } })
      await Promise.all([ctx.refresh(), ctx.refreshNetwork(), refreshUpdates(ctx)])
    },
    (e) => store.set({ boot: { kind: 'failed', text: errorText(e) } }),
  )

  if ('serviceWorker' in navigator) {
    navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch((e) =>
      ctx.setStatus('global', {
        kind: 'error',
        text: `Murmur will not work offline: its service worker could not be installed (${errorText(e)}).`,
      }),
    )
  }
}

start(document.getElementById('app') ?? document.body)
