import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type Page } from 'playwright-core'
import { ms, stats, type Stats } from './measure.js'

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const WARM_UP_RUNS = 5

/** When each step of one swap of the history panel happened, in milliseconds after the click. */
export interface SwapSteps {
  /** The response is in (htmx:beforeSwap). */
  response: number
  /** htmx is done with the page snapshot it takes before changing the address. */
  snapshotted: number
  /** The new rows are in the DOM (htmx:afterSwap). */
  swapped: number
  /** htmx has settled the new panel (htmx:afterSettle): where the timing stops. */
  settled: number
  /** The first frame after settling has been drawn. */
  painted: number
}

export interface InteractionTimes { runs: SwapSteps[], settled: Stats, painted: Stats }

/** One response as the browser received it (Resource Timing): bytes on the wire, and unpacked. */
export interface ReceivedSize { what: string, encoded: number, decoded: number }

export interface BrowserTimes { chromium: string, rows: number, sort: InteractionTimes, filter: InteractionTimes, sizes: ReceivedSize[] }

/**
 * Put in the page before each click; `window.nextSwap` then resolves with
 * the SwapSteps of the history panel's next swap. A string, so the page
 * gets it as written and not as compiled for Node.
 */
const WATCH_NEXT_SWAP = `(() => {
  window.nextSwap = new Promise(resolve => {
    const at = {}
    let clicked = null
    const forPanel = event => event.detail && event.detail.target && event.detail.target.id === 'history-panel'
    const mark = (type, name, test) => {
      const listener = event => {
        if (clicked === null || at[name] !== undefined || !test(event)) return
        at[name] = performance.now() - clicked
        if (name !== 'settled') return
        requestAnimationFrame(() => setTimeout(() => {
          at.painted = performance.now() - clicked
          for (const [t, n, l] of listeners) document.removeEventListener(t, l, true)
          resolve({ response: at.response, snapshotted: at.snapshotted ?? at.response, swapped: at.swapped, settled: at.settled, painted: at.painted })
        }))
      }
      return [type, name, listener]
    }
    const listeners = [
      mark('htmx:beforeSwap', 'response', forPanel),
      mark('htmx:beforeHistoryUpdate', 'snapshotted', forPanel),
      mark('htmx:afterSwap', 'swapped', forPanel),
      mark('htmx:afterSettle', 'settled', forPanel)
    ]
    for (const [type, , listener] of listeners) document.addEventListener(type, listener, true)
    window.addEventListener('click', event => { clicked = event.timeStamp }, { capture: true, once: true })
  })
})()`

/** The history page, the last history fragment, htmx and the stylesheet, as the page's Resource Timing saw them. */
const RECEIVED_SIZES = `(() => {
  const size = (what, entry) => entry && { what, encoded: entry.encodedBodySize, decoded: entry.decodedBodySize }
  const resources = performance.getEntriesByType('resource')
  const last = test => resources.filter(test).pop()
  return [
    size('the history page', performance.getEntriesByType('navigation')[0]),
    size('a history fragment', last(e => e.initiatorType === 'xmlhttprequest' && new URL(e.name).pathname === location.pathname)),
    size('htmx', last(e => e.name.endsWith('/htmx.min.js'))),
    size('the stylesheet', last(e => e.name.endsWith('/app.css')))
  ].filter(Boolean)
})()`

/** Clicks and times the history panel's swap that follows. */
async function timeSwap (page: Page, click: () => Promise<void>): Promise<SwapSteps> {
  await page.evaluate(WATCH_NEXT_SWAP)
  await click()
  return await page.evaluate('window.nextSwap') as SwapSteps
}

function summary (runs: SwapSteps[]): InteractionTimes {
  return { runs, settled: stats(runs.map(r => r.settled)), painted: stats(runs.map(r => r.painted)) }
}

/**
 * Signs in with a headless Chromium and times, `runs` times each after a
 * few unmeasured ones, a click on a column heading that sorts the history
 * and a click on an action in the Action column's filter: from the click
 * until the new rows are in the page and htmx has settled them.
 */
export async function measureBrowser (baseUrl: string, email: string, password: string, runs: number): Promise<BrowserTimes> {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: install it (apt-get install chromium) or set CHROMIUM_PATH`)
  const profile = mkdtempSync(join(tmpdir(), 'practice-audit-bench-chromium-'))
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1440, height: 900 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']
  })
  try {
    const page = context.pages()[0] ?? await context.newPage()
    page.setDefaultTimeout(30_000)
    // Between clicks, as between a person's, whatever the swap started (such as loading the chart) finishes.
    const settleDown = async (): Promise<void> => {
      await page.waitForFunction(() => !document.querySelector('.htmx-request, .chart-loading'))
      await page.waitForTimeout(100)
    }
    await page.goto(`${baseUrl}/login`)
    await page.getByLabel('Email').fill(email)
    await page.getByLabel('Password').fill(password)
    await Promise.all([page.waitForURL(url => !url.pathname.startsWith('/login')), page.getByRole('button', { name: 'Sign in' }).click()])
    await page.goto(`${baseUrl}/settings/users/history`)
    await settleDown()
    const rows = await page.locator('#history-panel tr[data-record-id]').count()

    // Each click moves the User column on through ascending, descending and unsorted.
    const sortOnce = (): Promise<SwapSteps> => timeSwap(page, () => page.locator('#history-panel th.col-user button.sort-button').click())
    // Each click adds or removes Update from the actions shown; the filter stays open across swaps.
    const filterOnce = async (): Promise<SwapSteps> => {
      const popover = page.locator('#filter-action')
      if (!await popover.evaluate(el => el.matches(':popover-open'))) await page.locator('#history-panel th.col-action button.filter-toggle').click()
      return await timeSwap(page, () => popover.locator('input[value="update"]').click())
    }
    const measure = async (once: () => Promise<SwapSteps>): Promise<InteractionTimes> => {
      const times: SwapSteps[] = []
      for (let i = 0; i < WARM_UP_RUNS + runs; i++) {
        const steps = await once()
        if (i >= WARM_UP_RUNS) times.push(steps)
        await settleDown()
      }
      return summary(times)
    }
    const sort = await measure(sortOnce)
    const sizes = await page.evaluate(RECEIVED_SIZES) as ReceivedSize[]
    await page.goto(`${baseUrl}/settings/users/history`)
    await settleDown()
    const filter = await measure(filterOnce)
    return { chromium: context.browser()?.version() ?? await page.evaluate('navigator.userAgent') as string, rows, sort, filter, sizes }
  } finally {
    await context.close()
    rmSync(profile, { recursive: true, force: true })
  }
}

const median = (values: number[]): number => stats(values).p50
const kb = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KB`

/** The Browser section of docs/BENCHMARKS.md. */
export function browserSection (b: BrowserTimes, when: Date, machine: string, note: string, command = 'npm run bench -- --browser-only'): string {
  const line = (name: string, t: InteractionTimes): string => {
    const r = t.runs
    return `| ${name} | ${ms(t.settled.p50)} | ${ms(t.settled.p95)} | ${ms(t.settled.max)} | ${ms(t.painted.p50)} | ${ms(median(r.map(x => x.response)))} | ${ms(median(r.map(x => x.snapshotted - x.response)))} | ${ms(median(r.map(x => x.swapped - x.snapshotted)))} | ${ms(median(r.map(x => x.settled - x.swapped)))} | ${t.settled.p50 <= 100 ? 'yes' : '**no**'} |`
  }
  return `## Browser
Measured by \`${command}\` on ${when.toISOString().slice(0, 10)} (${when.toISOString()}), ${machine}. ${note}

Headless Chromium ${b.chromium} (playwright-core), 1440 × 900, signed in as the largest practice's Full Access user, on the group history (${b.rows} records a page). Each click is timed in the page from the click event until htmx has settled the new history panel (the new rows are in the DOM), ${b.sort.runs.length} runs each after ${WARM_UP_RUNS} unmeasured ones, waiting between clicks until htmx has no request in flight and the activity chart is drawn, and 100 ms more. The steps are medians, in milliseconds after the click or between two moments.

| Interaction | Settled p50 | p95 | max | Drawn p50 | Response in | Page snapshot | Swap | Settle | p50 ≤ 100 ms |
|---|---|---|---|---|---|---|---|---|---|
${line('Sort: click the User heading', b.sort)}
${line('Filter: tick or untick Update in the Action filter', b.filter)}

As received (Resource Timing, compressed by the app when the browser accepts it): ${b.sizes.map(x => `${x.what} ${kb(x.encoded)}${x.encoded < x.decoded ? ` (${kb(x.decoded)} unpacked)` : ''}`).join(', ')}.
`
}
