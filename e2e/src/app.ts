/**
 * What a person does in the app, as Playwright steps with role selectors (the names are listed
 * at the top of packages/web/src/ui/main.ts). Each step waits for the outcome it expects, with
 * a bound, instead of sleeping.
 */
import type { Locator, Page } from 'playwright-core'

/** Generous bounds: replication and IndexedDB on a loaded 2-core machine. */
export const STEP_MS = 20_000
export const SYNC_MS = 30_000

/** Who signed up: the id and invite link the app showed. */
export interface SignedUp {
  readonly id: string
  readonly invite: string
}

/** Onboarding: picks a display name (and description) and creates the identity. */
export async function signUp(page: Page, name: string, description?: string): Promise<SignedUp> {
  await page.getByRole('heading', { name: 'Welcome to Murmur' }).waitFor({ timeout: STEP_MS })
  await page.getByRole('textbox', { name: 'Display name' }).fill(name)
  if (description) await page.getByRole('textbox', { name: 'About you (optional)' }).fill(description)
  const from = page.url()
  await page.getByRole('button', { name: 'Create identity' }).click()
  // A plain first visit welcomes with the id and invite link; one that came through an invite
  // link goes on to the person who invited (the id is then on Settings).
  const welcome = page.getByRole('heading', { name: "You're in" })
  const invited = page.getByRole('heading', { name: /^Follow / })
  await welcome.or(invited).first().waitFor({ timeout: STEP_MS })
  if (await invited.count()) {
    await goto(page, '#/settings')
    await page.getByTestId('my-id').first().waitFor({ timeout: STEP_MS })
  }
  const id = (await page.getByTestId('my-id').first().textContent())?.trim() ?? ''
  const invite = (await page.getByTestId('invite-link').first().textContent())?.trim() ?? ''
  if (await welcome.count()) await page.getByRole('button', { name: 'Done' }).click()
  else await page.goto(from)
  return { id, invite }
}

/** Posts from the timeline's composer, optionally with one image file and its alt text. */
export async function post(page: Page, text: string, image?: { file: string; alt: string }): Promise<void> {
  await goto(page, '#/')
  await page.getByRole('textbox', { name: "What's happening?" }).fill(text)
  if (image) {
    await page.getByLabel('Add images').setInputFiles(image.file)
    await page.getByRole('textbox', { name: 'Description of image 1 (alt text)' }).fill(image.alt, { timeout: STEP_MS })
  }
  await page.getByRole('button', { name: 'Post', exact: true }).click()
  await page.getByText('Posted.').first().waitFor({ timeout: STEP_MS })
}

/** Goes to a route of the app (hash routes). */
export async function goto(page: Page, hash: string): Promise<void> {
  const url = new URL(page.url())
  if (url.hash === hash || (hash === '#/' && url.hash === '')) return
  await page.evaluate((h) => {
    location.hash = h
  }, hash)
  await page.getByRole('heading', { level: 1 }).first().waitFor({ timeout: STEP_MS })
}

/** The post article that contains `text`. */
export function postWith(page: Page, text: string): Locator {
  return page.locator('article[data-post-id]').filter({ hasText: text }).first()
}

/** Waits until a post with `text` is shown (the page refreshes on engine events). */
export async function seePost(page: Page, text: string, timeoutMs = SYNC_MS): Promise<Locator> {
  const p = postWith(page, text)
  await p.waitFor({ timeout: timeoutMs })
  return p
}

/** Follows whoever `invite` (an invite link) names: opens it and presses Follow. */
export async function followByInvite(page: Page, invite: string): Promise<void> {
  if (page.url() !== invite) await page.goto(invite)
  await page.getByRole('button', { name: 'Follow', exact: true }).click()
  await page.getByRole('button', { name: 'Unfollow' }).first().waitFor({ timeout: STEP_MS })
}

/** How the network page names a direct WebRTC link to the browser `id` (`@` and 8 characters). */
export const directLink = (id: string): string => `Browser ${id.slice(0, 9)} (direct, WebRTC)`

/** Waits until each page's network page shows a live direct link to the other's id. */
export async function seeDirectLinks(pairs: readonly (readonly [Page, string])[]): Promise<void> {
  for (const [page, other] of pairs) {
    await goto(page, '#/network')
    await page
      .locator('li.peer')
      .filter({ hasText: directLink(other) })
      .filter({ hasText: 'Live' })
      .waitFor({ timeout: SYNC_MS })
  }
}
