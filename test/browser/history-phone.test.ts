import t, { type Test } from 'tap'
import type { Locator, Page } from 'playwright-core'
import { build } from '../helpers/app.js'
import { chromiumAvailable, listen, openBrowser, signInWithBrowser } from '../helpers/browser.js'
import { PASSWORD } from '../helpers/agent.js'
import { addRecord } from '../helpers/history.js'
import { makePracticeGroup, makeUser, unique } from '../../src/seed/factories.js'
import type { User } from '../../src/domain/users/user.entity.js'

const PHONE = { width: 390, height: 844 }
const DESKTOP = { width: 1366, height: 800 }

interface Box { left: number, top: number, right: number, bottom: number }

if (chromiumAvailable(t)) {
  const ctx = await build(t)
  ctx.clock.set('2026-11-25T03:00:00Z')
  const em = ctx.em()
  const group = await makePracticeGroup(em, { name: unique('Harbour') })
  const olivia = await makeUser(em, group, { name: 'Olivia Owner', accessLevel: 'Full Access', canViewHistory: true })
  const priya = await makeUser(em, group, { name: 'Dr Priya Nair', accessLevel: 'Practitioner' })

  const hour = 3_600_000
  const now = ctx.clock.now().getTime()
  const seed: [User, number, 'view' | 'update' | 'create', string, string][] = [
    [priya, 1, 'view', '10.1.0.5', '/patients/1'],
    [olivia, 2, 'update', '2001:db8:85a3::8a2e:370:7334', '/invoices/20/payments?from=2026-11-01T00:00&to=2026-11-30T23:59&status=paid&method=card'],
    [priya, 3, 'create', '172.16.0.1', '/appointments/new?patient=3&practitioner=12&start=2026-11-24T09:00'],
    [olivia, 4, 'view', '192.168.1.9', '/patients/4']
  ]
  for (const [user, hoursAgo, action, ip, url] of seed) {
    await addRecord(em, user, {
      at: new Date(now - hoursAgo * hour), action, page: 'Patient profile', recordType: 'patient', recordId: String(hoursAgo),
      description: `${action} of Bartholomew Wolfeschlegelsteinhausen's profile, Medicare number 2953184071, appointment on 24/11/2026 09:00`, url, ip
    })
  }
  const baseUrl = await listen(ctx.app)
  const history = `${baseUrl}/settings/users/history`

  async function openHistory (t: Test, size = PHONE, javaScriptEnabled = true): Promise<Page> {
    const { page } = await openBrowser(t, { javaScriptEnabled })
    await page.setViewportSize(size)
    await signInWithBrowser(page, baseUrl, olivia.email, PASSWORD)
    await page.goto(history)
    return page
  }

  /** The URL shows the view and htmx has finished swapping and settling it. */
  async function waitForView (page: Page, url: Parameters<Page['waitForURL']>[0]): Promise<void> {
    await page.waitForURL(url)
    await page.waitForFunction(() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling, .htmx-added'))
  }

  /** Elements that reach past the window's right edge, leaving out what is clipped away for screen readers only. */
  function pastTheRightEdge (page: Page): Promise<string[]> {
    return page.evaluate(() => {
      const past: string[] = []
      for (const element of document.body.querySelectorAll('*')) {
        if (element.getBoundingClientRect().right <= window.innerWidth + 1 || !element.checkVisibility()) continue
        let clippedAway = false
        for (let e: Element | null = element; e && !clippedAway; e = e.parentElement) {
          const style = getComputedStyle(e)
          clippedAway = style.clip !== 'auto' || style.clipPath !== 'none'
        }
        if (!clippedAway) past.push(`${element.tagName.toLowerCase()}.${element.getAttribute('class') ?? ''} "${(element.textContent ?? '').trim().slice(0, 40)}"`)
      }
      return past
    })
  }

  function box (locator: Locator): Promise<Box> {
    return locator.evaluate(e => {
      const { left, top, right, bottom } = e.getBoundingClientRect()
      return { left, top, right, bottom }
    })
  }

  async function assertInWindow (t: Test, page: Page, locator: Locator, what: string): Promise<Box> {
    const b = await box(locator)
    const view = page.viewportSize()!
    t.ok(b.left >= -1 && b.top >= -1 && b.right <= view.width + 1 && b.bottom <= view.height + 1,
      `${what} is inside the ${view.width}×${view.height} window (${Math.round(b.left)},${Math.round(b.top)} to ${Math.round(b.right)},${Math.round(b.bottom)})`)
    return b
  }

  /** The words of these cells that are split over two lines: a word wraps whole or not at all. */
  function brokenWords (cells: Locator): Promise<string[]> {
    return cells.evaluateAll(elements => {
      const broken: string[] = []
      for (const element of elements) {
        const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT)
        for (let node = walker.nextNode(); node; node = walker.nextNode()) {
          const text = node.textContent ?? ''
          for (const word of text.matchAll(/\S+/g)) {
            const range = document.createRange()
            range.setStart(node, word.index)
            range.setEnd(node, word.index + word[0].length)
            if (range.getClientRects().length > 1) broken.push(word[0])
          }
        }
      }
      return broken
    })
  }

  const seededRows = (page: Page): Locator => page.locator('#history-panel tbody tr[data-record-id]', { hasText: 'Wolfeschlegelsteinhausen' })

  t.test('on a phone, every record is a card with when and who on one line and what below, and nothing is wider than the screen', async t => {
    const page = await openHistory(t)
    t.ok(await page.evaluate(() => document.documentElement.scrollWidth) <= PHONE.width, 'the page does not scroll sideways')
    t.same(await pastTheRightEdge(page), [], 'no element reaches past the right edge')
    for (const menu of await page.locator('#main details.menu').all()) {
      await menu.locator('summary').click()
      await assertInWindow(t, page, menu.locator('.menu-panel'), `the ${await menu.locator('summary').textContent()} menu`)
      await menu.locator('summary').click()
    }

    const rows = seededRows(page)
    t.equal(await rows.count(), seed.length)
    for (const row of await rows.all()) {
      const date = await box(row.locator('td.col-date'))
      const user = await box(row.locator('td.col-user'))
      const action = await box(row.locator('td.col-action'))
      const card = await box(row)
      t.ok(await row.locator('td.col-date').isVisible() && await row.locator('td.col-user').isVisible() && await row.locator('td.col-action').isVisible(), 'date, user and action are shown')
      t.ok(card.right - card.left <= PHONE.width, 'the card fits the screen')
      t.ok(user.left > date.right && user.top < date.bottom, 'the user is beside the date')
      t.ok(action.top >= date.bottom - 1, 'the action starts the next line')
    }
    t.equal(await page.getByRole('table', { name: 'User Action History' }).getByRole('columnheader', { name: /Action/ }).count(), 1, 'screen readers still find the headings')
    t.equal(await rows.first().getByRole('cell').count(), 8, 'and each card\'s cells')

    const unseenStops: string[] = []
    await page.locator('.filters-button').focus()
    for (let i = 0; i < 20; i++) {
      await page.keyboard.press('Tab')
      const stop = await page.evaluate(() => {
        const active = document.activeElement
        if (!active || active === document.body) return null
        const { left, top, width, height } = active.getBoundingClientRect()
        const there = document.elementFromPoint(left + width / 2, top + height / 2)
        return { seen: there !== null && (there === active || active.contains(there)), name: `${active.tagName.toLowerCase()}#${active.id}` }
      })
      if (!stop) break
      if (!stop.seen) unseenStops.push(stop.name)
    }
    t.same(unseenStops, [], 'Tab never stops on a control that is out of sight (the headings\' buttons)')
  })

  for (const size of [PHONE, { width: 700, height: 800 }, DESKTOP]) {
    t.test(`at ${size.width} pixels no word, name or date is split over two lines`, async t => {
      const page = await openHistory(t, size)
      const rows = seededRows(page)
      t.same(await brokenWords(rows.locator('td:not(.col-url)')), [], 'every word of every cell but the address is whole')
      for (const date of await rows.locator('td.col-date time').all()) {
        t.equal(await date.evaluate(e => e.getClientRects().length), 1, `${await date.textContent()} is on one line`)
      }
      t.ok(await page.evaluate(() => document.documentElement.scrollWidth) <= size.width, 'the page does not scroll sideways')
    })
  }

  t.test('on a phone, the Filters sheet sorts, filters, and every filter opened from it fits the screen', async t => {
    const page = await openHistory(t)
    await page.getByRole('button', { name: 'Filters', exact: true }).click()
    const sheet = page.getByRole('dialog', { name: 'Filters and sort' })
    await assertInWindow(t, page, sheet, 'the sheet')

    await sheet.getByLabel('Sort by').selectOption({ label: 'User' })
    await waitForView(page, /sort=user/)
    t.same(await seededRows(page).locator('td.col-user').allTextContents(), ['Dr Priya Nair', 'Dr Priya Nair', 'Olivia Owner', 'Olivia Owner'], 'sorted by user')
    await sheet.getByRole('link', { name: 'Descending' }).click()
    await waitForView(page, /sort=user&dir=desc/)
    t.equal(await seededRows(page).locator('td.col-user').first().textContent(), 'Olivia Owner', 'then the other way')

    for (const name of ['Date', 'User', 'Action', 'Page', 'ID', 'Description', 'URL', 'IP Address']) {
      await sheet.getByRole('button', { name: `${name} Any`, exact: true }).click()
      const filter = page.locator('.filter-popover:popover-open')
      await assertInWindow(t, page, filter, `the ${name} filter`)
      await page.keyboard.press('Escape')
      await filter.waitFor({ state: 'detached' })
      t.ok(await sheet.isVisible(), 'closing a filter goes back to the sheet')
    }

    await sheet.getByRole('button', { name: 'Action Any', exact: true }).click()
    await page.getByLabel('Create', { exact: true }).check()
    await waitForView(page, /action=create/)
    t.same(await seededRows(page).locator('td.col-action').allTextContents(), ['Create'], 'only the record created')
    await page.keyboard.press('Escape')
    t.same(await page.getByRole('list', { name: 'Active filters' }).getByRole('listitem').allTextContents().then(chips => chips.map(c => c.replace('×', '').trim())), ['Action: Create'])
    await page.getByRole('button', { name: 'Filters (1)', exact: true }).click()
    t.ok(await sheet.getByRole('button', { name: 'Action Create', exact: true }).isVisible(), 'the sheet says what the filter holds')
    t.same(await pastTheRightEdge(page), [], 'no element reaches past the right edge')
  })

  t.test('on a phone without JavaScript, the Filters sheet still sorts and filters', async t => {
    const page = await openHistory(t, PHONE, false)
    await page.getByRole('button', { name: 'Filters', exact: true }).click()
    const sheet = page.getByRole('dialog', { name: 'Filters and sort' })
    await sheet.getByLabel('Sort by').selectOption({ label: 'User' })
    await sheet.getByRole('button', { name: 'Sort', exact: true }).click()
    await page.waitForURL(/sort=user/)
    t.same(await seededRows(page).locator('td.col-user').allTextContents(), ['Dr Priya Nair', 'Dr Priya Nair', 'Olivia Owner', 'Olivia Owner'], 'sorted by user')

    await page.getByRole('button', { name: 'Filters', exact: true }).click()
    await sheet.getByRole('button', { name: 'Action Any', exact: true }).click()
    const filter = page.locator('#filter-action')
    await assertInWindow(t, page, filter, 'the Action filter')
    await filter.getByLabel('Update', { exact: true }).check()
    await filter.getByRole('button', { name: 'Apply' }).click()
    await page.waitForURL(/action=update/)
    t.same(await seededRows(page).locator('td.col-action').allTextContents(), ['Update'], 'only the record updated')
    t.match(page.url(), /sort=user/, 'the sort is kept')
  })

  t.test('on a wide screen, filter icons show without hovering, and a filter near the bottom right opens above its icon, inside the window', async t => {
    const page = await openHistory(t, DESKTOP)
    await page.mouse.move(0, 0)
    t.same(await page.locator('.filter-toggle').evaluateAll(toggles => toggles.map(e => getComputedStyle(e).opacity)), Array(8).fill('1'), 'every filter icon is shown')

    // The headings sit 120 pixels above the bottom of the window, whatever comes before the table.
    await page.evaluate(room => {
      const heading = document.querySelector('.history-table thead')!.getBoundingClientRect()
      document.querySelector('main')!.style.paddingTop = `${Math.max(0, window.innerHeight - room - heading.top)}px`
      window.scrollBy(0, document.querySelector('.history-table thead')!.getBoundingClientRect().top - (window.innerHeight - room))
    }, 120)
    for (const name of ['IP Address', 'Action', 'Date']) {
      const toggle = page.getByRole('button', { name: `Filter ${name}` })
      await toggle.click()
      const filter = page.locator('.filter-popover:popover-open')
      const placed = await assertInWindow(t, page, filter, `the ${name} filter`)
      const icon = await box(toggle)
      t.ok(icon.top - placed.bottom >= 0 && icon.top - placed.bottom < 8, `the ${name} filter opens just above its icon`)
      const edge = DESKTOP.width - 9
      t.ok([placed.left - icon.left, placed.right - icon.right].some(d => Math.abs(d) < 1) || placed.left <= 9 || placed.right >= edge, `the ${name} filter lines up with its icon or the window's edge`)
      await page.keyboard.press('Escape')
    }

    await page.evaluate(() => window.scrollBy(0, document.querySelector('.history-table thead')!.getBoundingClientRect().top - 40))
    const toggle = page.getByRole('button', { name: 'Filter IP Address' })
    await toggle.click()
    const filter = page.locator('.filter-popover:popover-open')
    const placed = await assertInWindow(t, page, filter, 'the IP Address filter near the top')
    const gap = placed.top - (await box(toggle)).bottom
    t.ok(gap >= 0 && gap < 8, 'with room below, it opens just below its icon')
  })
}
