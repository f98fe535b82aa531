/**
 * Accessibility checks of whole pages with axe-core (through @axe-core/playwright), and what a
 * keyboard user sees of focus. axe runs every WCAG 2.x A/AA rule and its best practices on the
 * page as rendered, in the colour scheme and width the page is emulating at that moment.
 */
import { AxeBuilder } from '@axe-core/playwright'
import type { Result } from 'axe-core'
import type { Page } from 'playwright-core'

/** What one axe run found: every violation, and those that block people (serious or critical). */
export interface AxeReport {
  readonly label: string
  readonly violations: readonly Result[]
  readonly blocking: readonly Result[]
  /** How long the run took (ms). */
  readonly ms: number
}

/** The impacts that fail a check: they keep some people from using the page at all. */
const BLOCKING = new Set(['serious', 'critical'])

/**
 * The rules whose outcome depends on colours: all that changes between the light and the dark
 * colour scheme (the page's structure, names and roles are the same in both).
 */
export const COLOUR_RULES: readonly string[] = ['color-contrast', 'link-in-text-block']

/**
 * Runs axe on the page as it is now: every rule, or only `rules`. `label` names the view in the
 * report. Legacy mode runs axe in the page itself (there are no frames to combine), and only
 * violations are collected in full: both spare a loaded machine seconds per run.
 */
export async function axe(page: Page, label: string, rules?: readonly string[]): Promise<AxeReport> {
  const builder = new AxeBuilder({ page }).setLegacyMode(true).options({ resultTypes: ['violations'] })
  if (rules) builder.withRules([...rules])
  const started = Date.now()
  const { violations } = await builder.analyze()
  const blocking = violations.filter((v) => BLOCKING.has(v.impact ?? ''))
  return { label, violations, blocking, ms: Date.now() - started }
}

/** One line per violation and one per element it found, with axe's summary of what is wrong. */
export function describeViolations(report: AxeReport): string[] {
  return report.violations.flatMap((v) => [
    `${report.label}: [${v.impact}] ${v.id}: ${v.help} (${v.nodes.length} element${v.nodes.length === 1 ? '' : 's'})`,
    ...v.nodes.map(
      (n) => `    ${n.target.join(' ')}${n.failureSummary ? ` — ${n.failureSummary.replace(/\s*\n\s*/g, ' ')}` : ''}`,
    ),
  ])
}

/** How the focused element shows its focus (outline or box shadow), or undefined when nothing shows it. */
export async function focusIndicator(page: Page): Promise<string | undefined> {
  return page.evaluate(() => {
    const el = document.activeElement
    if (!el || el === document.body) return undefined
    const s = getComputedStyle(el)
    const outline = s.outlineStyle !== 'none' && Number.parseFloat(s.outlineWidth) > 0
    if (outline) return `outline ${s.outlineWidth} ${s.outlineStyle} ${s.outlineColor}`
    if (s.boxShadow && s.boxShadow !== 'none') return `box-shadow ${s.boxShadow}`
    return undefined
  })
}

/**
 * The focused element: its tag and a plain approximation of its accessible name (aria-label,
 * else its label, else its text without the parts hidden from assistive technology).
 */
export async function focused(page: Page): Promise<{ tag: string; name: string }> {
  return page.evaluate(() => {
    const el = document.activeElement as HTMLElement | null
    if (!el || el === document.body) return { tag: el ? 'body' : '', name: '' }
    const text = (node: Element) => {
      const copy = node.cloneNode(true) as Element
      for (const hidden of copy.querySelectorAll('[aria-hidden="true"]')) hidden.remove()
      return (copy.textContent ?? '').replace(/\s+/g, ' ').trim()
    }
    const label = (el as HTMLInputElement).labels?.[0]
    const name = el.getAttribute('aria-label') ?? (label ? text(label) : text(el))
    return { tag: el.tagName.toLowerCase(), name }
  })
}
