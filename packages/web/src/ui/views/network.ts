/**
 * The network: online or not, each connection and its sync progress, data dropped as invalid,
 * broken (forked) feeds, and the peers the person configured.
 */
import { html, nothing, type TemplateResult } from 'lit-html'
import { repeat } from 'lit-html/directives/repeat.js'
import type { NetworkView, PeerView } from '../../api.js'
import { shortId } from '../../lib/text.js'
import type { Ctx } from '../actions.js'
import { field, statusRegion } from '../components/common.js'
import { percent } from '../components/header.js'
import { personLink } from '../components/person.js'

const STATE_LABEL: Readonly<Record<PeerView['state'], string>> = {
  connecting: 'Connecting',
  handshake: 'Securing the connection',
  syncing: 'Syncing',
  live: 'Live',
  waiting: 'Waiting to retry',
  closed: 'Closed',
}

/** The URL of a peer to add, normalised, or undefined when it is not a ws:// or wss:// URL. */
export function peerUrl(text: string): string | undefined {
  try {
    const u = new URL(text.trim())
    return (u.protocol === 'ws:' || u.protocol === 'wss:') && u.hostname ? u.href : undefined
  } catch {
    return undefined
  }
}

function counts(rec: Readonly<Record<string, number>>): TemplateResult | undefined {
  const entries = Object.entries(rec).filter(([, n]) => n > 0)
  if (entries.length === 0) return undefined
  return html`<ul class="counts">
    ${entries.map(([reason, n]) => html`<li><span class="reason">${reason}</span>: ${n}</li>`)}
  </ul>`
}

function peer(ctx: Ctx, p: PeerView, i: number): TemplateResult {
  const now = ctx.store.get().now
  const rejected = counts(p.rejected)
  const name =
    p.url ??
    (p.kind === 'webrtc' && p.remote
      ? `Browser ${shortId(p.remote)} (direct, WebRTC)`
      : p.remote
        ? `Peer ${shortId(p.remote)}`
        : 'Incoming connection')
  return html`<li class="card peer">
    <p class="peer-head">
      <span class="peer-name mono">${name}</span>
      <span class="state ${p.state}">${STATE_LABEL[p.state]}</span>
    </p>
    ${p.remote && p.url ? html`<p class="small">Peer <span class="mono">${shortId(p.remote)}</span></p>` : nothing}
    ${
      p.expected && p.state === 'syncing'
        ? html`<label for="peer-progress-${i}">Synced ${p.held ?? p.received} of ${p.expected} messages</label>
          <progress id="peer-progress-${i}" max=${p.expected} .value=${Math.min(p.held ?? p.received, p.expected)}></progress>`
        : html`<p class="small">Received ${p.received} ${p.received === 1 ? 'message' : 'messages'}</p>`
    }
    ${rejected ? html`<div class="small warn-text">Dropped as invalid: ${rejected}</div>` : nothing}
    ${p.lastError ? html`<p class="small">Last error: ${p.lastError}</p>` : nothing}
    ${
      p.retryAt && p.retryAt > now
        ? html`<p class="small">Next try in about ${Math.max(1, Math.round((p.retryAt - now) / 1000))} s</p>`
        : nothing
    }
  </li>`
}

function status(n: NetworkView): TemplateResult {
  const connected = n.peers.filter((p) => p.state === 'live' || p.state === 'syncing').length
  return html`<section class="card" aria-labelledby="net-status-h">
    <h2 id="net-status-h">Status</h2>
    <p class="netline ${n.online ? 'online' : 'offline'}">
      <span class="dot" aria-hidden="true"></span>
      <strong>${n.online ? 'Online' : 'Offline'}</strong> ·
      ${connected} ${connected === 1 ? 'peer' : 'peers'} connected
    </p>
    ${
      n.sync && n.sync.expected > 0
        ? html`<label for="sync-progress">
            Syncing: received ${n.sync.received} of ${n.sync.expected} messages (${percent(n.sync.received, n.sync.expected)})
          </label>
          <progress id="sync-progress" max=${n.sync.expected} .value=${Math.min(n.sync.received, n.sync.expected)}></progress>`
        : html`<p>${connected > 0 ? 'Up to date with connected peers.' : 'Not syncing.'}</p>`
    }
    <p>This device holds ${n.messages} messages from ${n.feeds} feeds.</p>
  </section>`
}

function configured(ctx: Ctx, n: NetworkView): TemplateResult {
  const add = (e: Event) => {
    e.preventDefault()
    const form = e.target as HTMLFormElement
    const url = peerUrl(field(form, 'url'))
    if (!url) {
      ctx.setStatus('peers', {
        kind: 'error',
        text: 'Enter a ws:// or wss:// address, for example wss://peer.example.org/murmur',
      })
      ctx.focusAfterRender('#peer-url')
      return
    }
    void ctx
      .run('peers', () => ctx.api.addPeer(url), `Added ${url}.`)
      .then((ok) => {
        if (ok) form.reset()
        void ctx.refreshNetwork()
      })
  }
  const remove = (url: string) =>
    ctx
      .run('peers', () => ctx.api.removePeer(url), `Removed ${url}.`)
      .then(() => {
        ctx.focusAfterRender('#peer-url')
        return ctx.refreshNetwork()
      })
  return html`<section class="card" aria-labelledby="peers-h">
    <h2 id="peers-h">Your peers</h2>
    <p class="muted">Always-on peers this device connects to. The peer that served this page comes first.</p>
    ${
      n.configured.length
        ? html`<ul class="configured">
          ${repeat(
            n.configured,
            (url) => url,
            (url) => html`<li>
              <span class="mono url">${url}</span>
              <button type="button" class="secondary small" @click=${() => remove(url)}>
                Remove<span class="visually-hidden"> ${url}</span>
              </button>
            </li>`,
          )}
        </ul>`
        : html`<p>None.</p>`
    }
    <form @submit=${add} novalidate>
      <label for="peer-url">Peer address</label>
      <div class="row">
        <input
          id="peer-url"
          name="url"
          type="url"
          inputmode="url"
          autocomplete="off"
          spellcheck="false"
          placeholder="wss://peer.example.org/murmur"
          aria-describedby="peer-url-hint"
          class="mono"
        />
        <button type="submit" class="primary">Add peer</button>
      </div>
      <p class="hint" id="peer-url-hint">A ws:// or wss:// address of an always-on Murmur peer.</p>
      ${statusRegion(ctx, 'peers')}
    </form>
  </section>`
}

function directLinks(ctx: Ctx, n: NetworkView): TemplateResult {
  const lines = (form: HTMLFormElement, name: string) =>
    field(form, name)
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l.length > 0)
  const saveConnectivity = (e: Event) => {
    e.preventDefault()
    const form = e.target as HTMLFormElement
    const c = { stun: lines(form, 'stun'), trackers: lines(form, 'trackers') }
    void ctx.run('connectivity', () => ctx.api.setConnectivity(c), 'Saved.').then(() => ctx.refreshNetwork())
  }
  const toggle = (e: Event) => {
    const on = (e.target as HTMLInputElement).checked
    void ctx
      .run('direct', () => ctx.api.setDirectLinks(on), on ? 'Direct links are on.' : 'Direct links are off.')
      .then(() => ctx.refreshNetwork())
  }
  return html`<section class="card" aria-labelledby="direct-h">
    <h2 id="direct-h">Direct links</h2>
    <label class="check">
      <input type="checkbox" id="direct-links" .checked=${n.directLinks} @change=${toggle} aria-describedby="direct-hint" />
      Connect directly to other people's browsers (WebRTC)
    </label>
    <p class="hint" id="direct-hint">
      Posts then keep flowing between you and people you follow when no always-on peer is reachable. A direct link
      shows the other browser your IP address.
    </p>
    ${statusRegion(ctx, 'direct')}
    <form @submit=${saveConnectivity} novalidate>
      <label for="stun-servers">STUN servers (one per line)</label>
      <textarea id="stun-servers" name="stun" rows="2" class="mono" spellcheck="false" aria-describedby="stun-hint"
        .value=${n.stun.join('\n')}></textarea>
      <p class="hint" id="stun-hint">
        Help two browsers behind home routers find each other, e.g. stun:stun.example.org:3478. None is used unless
        you add one here or the peer that served this page runs one.
      </p>
      <label for="trackers">Trackers (one per line)</label>
      <textarea id="trackers" name="trackers" rows="2" class="mono" spellcheck="false" aria-describedby="trackers-hint"
        .value=${n.trackers.join('\n')}></textarea>
      <p class="hint" id="trackers-hint">
        WebTorrent trackers (wss://…) where browsers of Murmur meet each other with no Murmur peer between them.
      </p>
      <button type="submit" class="secondary">Save servers</button>
      ${statusRegion(ctx, 'connectivity')}
    </form>
  </section>`
}

export function networkView(ctx: Ctx): TemplateResult {
  const n = ctx.store.get().net
  const rejected = n && counts(n.rejected)
  return html`<h1 tabindex="-1">Network</h1>
    ${statusRegion(ctx, 'net')}
    ${
      !n
        ? html`<p class="muted">Loading…</p>`
        : html`${status(n)}
          ${
            n.forks.length
              ? html`<section class="card alert" aria-labelledby="forks-h">
                <h2 id="forks-h">Broken feeds</h2>
                <p>
                  These authors signed two different messages at the same place in their feed (a fork), so their feeds
                  stop there. Their key may be used on two devices at once, or stolen.
                </p>
                <ul class="people">
                  ${n.forks.map((f) => html`<li>${personLink(ctx.blobs, f.author)}: forked at message ${f.seq}</li>`)}
                </ul>
              </section>`
              : nothing
          }
          <section aria-labelledby="conn-h">
            <h2 id="conn-h">Connections</h2>
            ${
              n.peers.length
                ? html`<ul class="peers">
                  ${n.peers.map((p, i) => peer(ctx, p, i))}
                </ul>`
                : html`<p class="muted">No connections right now.</p>`
            }
          </section>
          ${configured(ctx, n)}
          ${directLinks(ctx, n)}
          <section class="card" aria-labelledby="rejected-h">
            <h2 id="rejected-h">Rejected data</h2>
            <p class="muted">Data that failed verification is dropped and counted against the peer that sent it.</p>
            ${rejected ?? html`<p>Nothing was rejected.</p>`}
          </section>`
    }`
}
