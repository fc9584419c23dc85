import t from 'tap'
import type { Page } from 'playwright-core'
import { build } from '../helpers/app.js'
import { chromiumAvailable, listen, openBrowser, signInWithBrowser } from '../helpers/browser.js'
import { PASSWORD } from '../helpers/agent.js'
import { addRecord } from '../helpers/history.js'
import { makePracticeGroup, makeUser, unique } from '../../src/seed/factories.js'

if (chromiumAvailable(t)) {
  const ctx = await build(t)
  ctx.clock.set('2026-11-25T03:00:00Z') // 14:00 in Sydney
  const em = ctx.em()
  const group = await makePracticeGroup(em, { name: unique('Keyboard') })
  const olivia = await makeUser(em, group, { name: 'Olivia Owner', accessLevel: 'Full Access', canViewHistory: true })
  const sam = await makeUser(em, group, { name: 'Dr Sam Lee', accessLevel: 'Practitioner' })
  // 110 records an hour apart, from 10.0.0.x: views, creates and updates in turn, Olivia's and Sam's in turn.
  const now = ctx.clock.now().getTime()
  for (let i = 0; i < 110; i++) {
    await addRecord(em, i % 2 ? sam : olivia, {
      at: new Date(now - i * 3_600_000), action: (['view', 'create', 'update'] as const)[i % 3], ip: `10.0.0.${i + 1}`, description: `Record ${i}`
    })
  }
  const baseUrl = await listen(ctx.app)
  const history = `${baseUrl}/settings/users/history`
  // The browser's own sign-in and page views come from 127.0.0.1; this filter keeps the counts to the records above.
  const seeded = `${history}?ip=10.0.0.0%2F8`

  const { page } = await openBrowser(t)
  await page.setViewportSize({ width: 1366, height: 800 })
  await signInWithBrowser(page, baseUrl, olivia.email, PASSWORD)
  const requests: string[] = []
  page.on('request', request => { if (request.url().startsWith(history) && !request.url().includes('/activity')) requests.push(request.url()) })

  /** The focused control as a screen reader names it: role, accessible name and state. */
  async function focused (): Promise<string> {
    if (await page.evaluate(() => document.activeElement === null || document.activeElement === document.body)) return 'nothing (the page itself)'
    const line = (await page.locator(':focus').ariaSnapshot()).split('\n')[0]!.replace(/^- /, '')
    // A line with a colon in it comes quoted as YAML; the control's own text may follow its name.
    const unquoted = line.startsWith("'") ? line.slice(1, line.lastIndexOf("'")).replace(/''/g, "'") : line
    return /^[\w-]+(?: "(?:[^"\\]|\\.)*")?(?: \[[^\]]*\])*/.exec(unquoted)![0]
  }

  /** What the polite live region last said. */
  const announced = async (): Promise<string> => (await page.locator('#history-status').textContent()) ?? ''

  /** Presses Tab (or Shift+Tab) until the named control has focus, as a person would. */
  async function tabTo (name: string, key = 'Tab'): Promise<void> {
    const passed: string[] = []
    for (let presses = 0; presses < 60; presses++) {
      passed.push(await focused())
      if (passed.at(-1) === name) return
      await page.keyboard.press(key)
    }
    throw new Error(`${key} never reached ${name}, only ${passed.join(', ')}`)
  }

  /** The URL shows the view and htmx has swapped and settled it (and loaded the chart after it). */
  async function waitForView (url: Parameters<Page['waitForURL']>[0]): Promise<void> {
    await page.waitForURL(url)
    await page.waitForFunction(() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling, .htmx-added'))
  }

  const sortedByUserDown = 'Sorted by User, descending.'
  const ipChip = 'IP Address: 10.0.0.0/8'

  t.test('when a person sorts, filters, removes a chip, pages and picks a date range with the keyboard alone, then focus stays where they were and each result is announced', async t => {
    await page.goto(seeded)
    t.equal(await page.locator('#history-status').getAttribute('role'), 'status', 'a polite live region')
    t.equal(await page.locator('#history-panel #history-status').count(), 0, 'outside the swapped panel, so it persists')
    t.equal(await announced(), '', 'silent until something changes')
    t.equal(await page.locator('th.col-date').getAttribute('aria-sort'), 'descending', 'the usual order is said to be by date, newest first')
    t.equal(await page.locator('th[aria-sort]:not([aria-sort="none"])').count(), 1, 'and no other column is said to be sorted')

    await tabTo('button "User, sort ascending"')
    await page.keyboard.press('Enter')
    await waitForView(/sort=user&dir=asc/)
    t.equal(await focused(), 'button "User, sort descending"', 'sorting keeps focus on the heading, which now says what it does next')
    t.equal(await announced(), `Sorted by User, ascending. Filtered by ${ipChip}. 1–50 of 110.`)
    t.equal(await page.locator('th.col-user').getAttribute('aria-sort'), 'ascending')

    const scrolled = await page.evaluate(() => window.scrollY)
    await page.keyboard.press('Space')
    await waitForView(/sort=user&dir=desc/)
    t.equal(await focused(), 'button "User, sort by date, newest first"', 'Space sorts too')
    t.equal(await page.evaluate(() => window.scrollY), scrolled, 'and does not scroll the page')
    t.equal(await announced(), `${sortedByUserDown} Filtered by ${ipChip}. 1–50 of 110.`)

    await tabTo('button "Filter Action"')
    await page.keyboard.press('Enter')
    await page.locator('#filter-action:popover-open').waitFor()
    await page.keyboard.press('Tab')
    t.equal(await focused(), 'checkbox "View"', 'Tab goes into the open filter')
    await page.keyboard.press('Space')
    await waitForView(/action=view/)
    t.equal(await focused(), 'checkbox "View" [checked]', 'the ticked box keeps focus')
    t.ok(await page.locator('#filter-action:popover-open').isVisible(), 'in the filter, still open')
    t.equal(await announced(), `${sortedByUserDown} Filtered by Action: View; ${ipChip}. 1–37 of 37.`)

    await page.keyboard.press('Tab')
    t.equal(await focused(), 'checkbox "Create"', 'so the next box is one Tab away')
    await page.keyboard.press('Space')
    await waitForView(/action=view&action=create/)
    t.equal(await focused(), 'checkbox "Create" [checked]')
    t.equal(await announced(), `${sortedByUserDown} Filtered by Action: View, Create; ${ipChip}. 1–50 of 74.`)

    await page.keyboard.press('Escape')
    t.equal(await page.locator('#filter-action:popover-open').count(), 0, 'Escape closes the filter')
    t.equal(await focused(), 'button "Filter Action"', 'and takes focus back to its button')

    await tabTo('link "Remove filter Action: View, Create"', 'Shift+Tab')
    await page.keyboard.press('Enter')
    await waitForView(url => !url.search.includes('action='))
    t.equal(await focused(), `link "Remove filter ${ipChip}"`, 'removing a chip puts focus on the next one')
    t.equal(await announced(), `${sortedByUserDown} Filtered by ${ipChip}. 1–50 of 110.`)

    await tabTo('link "Next page"')
    await page.keyboard.press('Enter')
    await waitForView(/page=2/)
    t.equal(await focused(), 'link "Next page"', 'paging keeps focus on Next')
    t.equal(await announced(), `${sortedByUserDown} Filtered by ${ipChip}. 51–100 of 110.`)
    await page.keyboard.press('Enter')
    await waitForView(/page=3/)
    t.equal(await focused(), 'link "Next page" [disabled]', 'on the last page, Next keeps focus and says it leads nowhere')
    t.equal(await announced(), `${sortedByUserDown} Filtered by ${ipChip}. 101–110 of 110.`)

    await tabTo('combobox "Date range"', 'Shift+Tab')
    const before = { url: page.url(), requests: requests.length, entries: await page.evaluate(() => history.length) }
    await page.keyboard.press('ArrowDown')
    await page.keyboard.press('ArrowDown')
    await page.waitForTimeout(800)
    t.equal(await page.locator('#range-choice').inputValue(), 'yesterday', 'arrow keys step through the choices')
    t.equal(page.url(), before.url, 'without changing the address')
    t.equal(requests.length, before.requests, 'or asking the server')
    t.equal(await page.evaluate(() => history.length), before.entries, 'or adding to the browser history')
    await page.keyboard.press('Enter')
    await waitForView(/range=yesterday/)
    t.equal(requests.length, before.requests + 1, 'Enter sends the choice once')
    t.equal(await page.evaluate(() => history.length), before.entries + 1, 'as one step of the browser history')
    t.equal(await focused(), 'combobox "Date range"', 'and focus stays on the dropdown')
    t.equal(await announced(), `${sortedByUserDown} Filtered by Date: Yesterday; ${ipChip}. 1–24 of 24.`, 'the page was reset to the first')

    await tabTo('combobox "Staff member"', 'Shift+Tab')
    const sent = requests.length
    await page.keyboard.press('ArrowDown')
    await page.waitForTimeout(500)
    t.equal(requests.length, sent, 'stepping to a staff member sends nothing')
    await page.keyboard.press('Tab')
    await waitForView(new RegExp(`user=${sam.id}`))
    t.equal(requests.length, sent + 1, 'leaving the dropdown sends the choice')
    t.equal(await focused(), 'combobox "Date range"', 'and focus is where Tab took it')
    t.equal(await announced(), `${sortedByUserDown} Filtered by Date: Yesterday; User: Dr Sam Lee; ${ipChip}. 1–12 of 12.`)
  })

  t.test('when the last chip and then Clear all are pressed from the keyboard, then focus moves on to Clear all and then to the table', async t => {
    await page.goto(`${seeded}&action=view`)
    await tabTo(`link "Remove filter ${ipChip}"`)
    await page.keyboard.press('Enter')
    await waitForView(url => !url.search.includes('ip='))
    t.equal(await focused(), 'link "Clear all"', 'the last chip gone, focus moves on to Clear all')
    await page.keyboard.press('Enter')
    await waitForView(history)
    t.equal(await page.locator('.chips').count(), 0, 'no chips left')
    t.equal(await focused(), 'button "Date, sort oldest first"', 'the filters gone, focus moves on to the table they filtered')
    t.match(await announced(), /^Sorted by date, newest first\. 1–50 of \d+\.$/, 'said without filters')
  })

  t.test('when the Export menu is opened from the keyboard, then Escape closes it with focus back on it, and a click elsewhere closes it too', async t => {
    await page.goto(seeded)
    const menu = page.locator('details.export-menu')
    await menu.locator('summary').focus()
    await page.keyboard.press('Enter')
    t.equal(await menu.getAttribute('open'), '', 'Enter opens the menu')
    await page.keyboard.press('Tab')
    t.equal(await page.evaluate(() => document.activeElement?.textContent), 'Export CSV', 'Tab goes into it, CSV first')
    await page.keyboard.press('Escape')
    t.equal(await menu.getAttribute('open'), null, 'Escape closes it')
    t.ok(await menu.locator('summary').evaluate(summary => summary === document.activeElement), 'and focus is back on its button')
    await page.keyboard.press('Enter')
    await page.locator('h1').click()
    t.equal(await menu.getAttribute('open'), null, 'a click outside closes it')
  })

  t.test('when a person tabs through the history page, then focus moves in reading order and its ring stands out', async t => {
    await page.goto(`${seeded}&action=view`)
    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur())
    const stops: { name: string, top: number, bottom: number, left: number, outline: string, width: string, background: string }[] = []
    for (let presses = 0; presses < 80; presses++) {
      await page.keyboard.press('Tab')
      const stop = await page.evaluate(() => {
        const el = document.activeElement as HTMLElement
        if (!el || el === document.body) return null
        const box = el.getBoundingClientRect()
        const style = getComputedStyle(el)
        let behind: Element | null = el.parentElement
        while (behind && getComputedStyle(behind).backgroundColor === 'rgba(0, 0, 0, 0)') behind = behind.parentElement
        return {
          name: el.id || el.textContent!.trim().slice(0, 30),
          top: box.top + window.scrollY,
          bottom: box.bottom + window.scrollY,
          left: box.left,
          outline: style.outlineColor,
          width: style.outlineWidth,
          background: getComputedStyle(behind ?? document.documentElement).backgroundColor
        }
      })
      if (!stop || stop.name === 'page-size') break
      stops.push(stop)
    }
    t.ok(stops.some(s => s.name === 'sort-ip'), 'Tab reached the end of the table')
    // The skip link shows over the top bar while it has focus, as skip links do.
    const reading = stops.filter(stop => stop.name !== 'Skip to content')
    const outOfOrder = reading.slice(1).filter((stop, i) => {
      const previous = reading[i]!
      const sameLine = stop.top < previous.bottom && stop.bottom > previous.top
      return sameLine ? stop.left <= previous.left : stop.top < previous.top
    }).map(stop => stop.name)
    t.same(outOfOrder, [], 'each stop is to the right on the same line, or further down')

    const contrast = (a: string, b: string): number => {
      const luminance = (rgb: string): number => {
        const [r, g, b] = rgb.match(/\d+(\.\d+)?/g)!.slice(0, 3).map(Number).map(v => v / 255).map(v => v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4)
        return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!
      }
      const [light, dark] = [luminance(a), luminance(b)].sort((x, y) => y - x)
      return (light! + 0.05) / (dark! + 0.05)
    }
    const faint = stops.filter(stop => parseFloat(stop.width) < 2 || contrast(stop.outline, stop.background) < 3)
      .map(stop => `${stop.name}: ${stop.width} ${stop.outline} on ${stop.background}`)
    t.same(faint, [], 'every focus ring is at least 2px and 3:1 against what is behind it')
    t.ok(stops.some(s => s.name === 'Patients') && stops.some(s => s.name === 'sort-user'), 'on the top bar as on the page')
  })
}
