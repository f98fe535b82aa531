/**
 * Browser to browser over WebRTC: how long a post takes to reach another browser over their
 * direct link, with no always-on peer in between (issue 5: "a post in one appears in the other
 * within 2 seconds").
 *
 * The real app in the machine's Chromium (two contexts, two people who follow each other), served
 * by a real `murmur serve` that relays their WebRTC signalling. Once each browser's network page
 * shows the direct link live, the serving peer is stopped. Then, `posts` times: a post is written
 * in one browser (alternating), and the clock runs from the click on Post until the post is on the
 * other's timeline (checked every animation frame in that page, so the figure is not a polling
 * interval). Run by `npm run bench` in a network namespace of its own (scripts/bench.mjs).
 */
import { followByInvite, goto, post, SYNC_MS, seeDirectLinks, signUp } from '@murmur/e2e/app'
import { browser, openPerson, startPeer } from '@murmur/e2e/harness'
import type { Page } from 'playwright-core'

/** The figures of {@link benchWebRtc}. */
export interface WebRtcResult {
  readonly posts: number
  /** From the click on Post to the post shown in the other browser (ms). */
  readonly medianMs: number
  readonly maxMs: number
  /** From both people following each other to the direct link live in both browsers (ms). */
  readonly linkMs: number
}

/** Resolves (in the page) when a post with `text` is on the page; rejects after `ms`. */
function shown(page: Page, text: string, ms: number): Promise<number> {
  return page.evaluate(
    ([t, limit]) =>
      new Promise<number>((resolve, reject) => {
        const end = performance.now() + limit
        const look = () => {
          for (const a of document.querySelectorAll('article[data-post-id]')) {
            if (a.textContent?.includes(t)) return resolve(Date.now())
          }
          if (performance.now() > end) return reject(new Error(`not shown: ${t}`))
          requestAnimationFrame(look)
        }
        look()
      }),
    [text, ms] as const,
  )
}

/** Two browsers, a direct link, the serving peer stopped, `posts` posts timed across the link. */
export async function benchWebRtc(opts: { posts: number; log?: (line: string) => void }): Promise<WebRtcResult> {
  const peer = await startPeer()
  const chromium = await browser()
  try {
    const A = await openPerson(chromium, peer.url)
    const a = await signUp(A.page, 'Ada')
    const B = await openPerson(chromium, a.invite)
    const b = await signUp(B.page, 'Bo')
    await followByInvite(B.page, a.invite)
    await followByInvite(A.page, b.invite)
    const followed = Date.now()
    await seeDirectLinks([
      [A.page, b.id],
      [B.page, a.id],
    ])
    const linkMs = Date.now() - followed
    await peer.stop()
    await goto(A.page, '#/')
    await goto(B.page, '#/')
    const times: number[] = []
    for (let i = 0; i < opts.posts; i++) {
      const [from, to] = i % 2 === 0 ? [A.page, B.page] : [B.page, A.page]
      const text = `over the link ${i} ${Math.random().toString(36).slice(2, 8)}`
      const seen = shown(to, text, SYNC_MS)
      const started = Date.now()
      await post(from, text)
      times.push((await seen) - started)
      opts.log?.(`  post ${i + 1}/${opts.posts}: ${times[times.length - 1]} ms`)
    }
    times.sort((x, y) => x - y)
    return {
      posts: times.length,
      medianMs: times[Math.floor(times.length / 2)] ?? 0,
      maxMs: times[times.length - 1] ?? 0,
      linkMs,
    }
  } finally {
    await chromium.close()
    await peer.remove()
  }
}
