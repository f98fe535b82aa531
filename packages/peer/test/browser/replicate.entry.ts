/**
 * Murmur's replication inside a real page, bundled by esbuild: a WebCrypto identity, a store in
 * IndexedDB (browser-level), the same `Replicator` the Node peer runs, and the browser's own
 * WebSocket through `dial` from @murmur/net. The test calls {@link replicateWith} with a serving
 * peer's id and ws:// URL, then {@link stop} before it closes the browser.
 *
 * Nothing here is browser-specific beyond the defaults wired in: the packages' browser paths
 * bundle as they are, except noise-curve-ed, which the test swaps for noise-curve-noble.ts (see
 * there why).
 */
import {
  createWebCryptoEd25519,
  equalBytes,
  type FeedId,
  formatFeedId,
  generateKeypair,
  parseFeedId,
} from '@murmur/core'
import { dial } from '@murmur/net'
import { type CloseInfo, Replicator } from '@murmur/replicate'
import { Store } from '@murmur/store'
import { BrowserLevel } from 'browser-level'

/** What the test passes in. */
export interface ReplicateInput {
  /** The serving peer's feed id (`@…`), as `murmur init` printed it. */
  readonly peerId: string
  /** Its `ws://` URL. */
  readonly url: string
  /** How many of its messages to wait for before posting. */
  readonly expect: number
  /** The text the page posts once it has them. */
  readonly text: string
  /** How long to wait for them (ms). */
  readonly timeoutMs: number
}

/** What the page reports back. */
export interface ReplicateResult {
  /** The page's own feed id. */
  readonly myId: string
  /** The serving peer's messages this store holds (its feed's head seq). */
  readonly got: number
  /** The page's timeline (itself and whom it follows), newest first. */
  readonly timeline: string[]
  /** The ed25519 backend that signed and verified. */
  readonly backend: string
}

// One run per page: what stop() closes. A page is one test, so this is the page's state.
let running: { replicator: Replicator; store: Store } | undefined

/**
 * Follows `peerId`, dials `url`, waits until `expect` of its messages are held, posts `text`
 * and reports. The connection stays open (so the post reaches the peer) until {@link stop}.
 * @throws when the dial fails or the messages do not arrive within `timeoutMs`.
 */
export async function replicateWith(input: ReplicateInput): Promise<ReplicateResult> {
  if (running) throw new Error('replicateWith runs once per page')
  const ed = createWebCryptoEd25519(globalThis.crypto.subtle)
  const keys = await generateKeypair(ed)
  const peer = parseFeedId(input.peerId)
  const db = new BrowserLevel<Uint8Array, Uint8Array>('murmur-test', { keyEncoding: 'view', valueEncoding: 'view' })
  const store = await Store.open(db, { me: keys.publicKey })
  const replicator = new Replicator({ store, ed, keys })
  running = { replicator, store }

  await store.publish(ed, keys, { type: 'contact', content: { target: peer, following: true } })
  const channel = await dial(input.url, { timeoutMs: input.timeoutMs })
  const connection = replicator.connect(channel, { initiator: true, expectedRemote: peer })
  await waitForSeq(store, peer, input.expect, { timeoutMs: input.timeoutMs, closed: connection.closed })

  await store.publish(ed, keys, { type: 'post', content: { text: input.text } })
  const page = await store.views.timeline.page({ limit: 50 })
  return {
    myId: formatFeedId(keys.publicKey),
    got: (await store.feedState(peer))?.seq ?? 0,
    timeline: page.items.map((i) => String((i.msg.value.content as { text?: unknown }).text)),
    backend: ed.name,
  }
}

/** Closes the replicator (and its connection) and the store. */
export async function stop(): Promise<void> {
  const r = running
  running = undefined
  if (!r) return
  try {
    await r.replicator.close()
  } finally {
    await r.store.close()
  }
}

/**
 * Resolves once `author`'s feed reaches `seq` in `store`; rejects after `timeoutMs`, or at once
 * (with the reason) when the connection closes first.
 */
function waitForSeq(
  store: Store,
  author: FeedId,
  seq: number,
  { timeoutMs, closed }: { timeoutMs: number; closed: Promise<CloseInfo> },
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let done = false
    const finish = (err?: Error) => {
      if (done) return
      done = true
      off()
      clearTimeout(timer)
      if (err) reject(err)
      else resolve()
    }
    const check = () => {
      store.feedState(author).then((s) => {
        if ((s?.seq ?? 0) >= seq) finish()
      }, finish)
    }
    const timer = setTimeout(async () => {
      const s = await store.feedState(author).catch(() => undefined)
      finish(new Error(`held ${s?.seq ?? 0} of ${seq} messages of ${formatFeedId(author)} after ${timeoutMs} ms`))
    }, timeoutMs)
    const off = store.onAppend((msg) => {
      if (equalBytes(msg.value.author, author)) check()
    })
    void closed.then((info) => finish(new Error(`the connection closed (${info.code}): ${info.reason}`)))
    check()
  })
}
