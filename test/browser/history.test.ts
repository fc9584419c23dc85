import t, { type Test } from 'tap'
import type { Page } from 'playwright-core'
import { build } from '../helpers/app.js'
import { chromiumAvailable, listen, openBrowser, signInWithBrowser } from '../helpers/browser.js'
import { PASSWORD } from '../helpers/agent.js'
import { addRecord } from '../helpers/history.js'
import { makePracticeGroup, makeUser, unique } from '../../src/seed/factories.js'
import type { User } from '../../src/domain/users/user.entity.js'

if (chromiumAvailable(t)) {
  const ctx = await build(t)
  ctx.clock.set('2026-11-25T03:00:00Z') // 14:00 in Sydney
  const em = ctx.em()
  const group = await makePracticeGroup(em, { name: unique('Harbour') })
  const olivia = await makeUser(em, group, { name: 'Olivia Owner', accessLevel: 'Full Access', canViewHistory: true })
  const sam = await makeUser(em, group, { name: 'Dr Sam Lee', accessLevel: 'Practitioner', canViewHistory: true })
  const riley = await makeUser(em, group, { name: 'Riley Reception', accessLevel: 'Reception' })

  const hour = 3_600_000
  const now = ctx.clock.now().getTime()
  const seed: [User, number, 'view' | 'update' | 'create', string][] = [
    [sam, 1, 'view', '10.1.0.5'], [riley, 2, 'view', '10.1.0.6'], [sam, 3, 'update', '10.1.0.7'], [olivia, 4, 'view', '172.16.0.1'],
    [sam, 5, 'view', '192.168.1.9'], [riley, 30, 'create', '10.1.0.8'], [sam, 40, 'view', '10.1.0.9'], [olivia, 50, 'update', '10.2.0.1']
  ]
  for (const [user, hoursAgo, action, ip] of seed) {
    await addRecord(em, user, {
      at: new Date(now - hoursAgo * hour), action, page: 'Patient profile', recordType: 'patient', recordId: String(hoursAgo),
      description: `${action} by ${user.name} ${hoursAgo}h ago`, url: `/patients/${hoursAgo}`, ip
    })
  }
  const baseUrl = await listen(ctx.app)
  const history = `${baseUrl}/settings/users/history`

  /**
   * A column of the records seeded above, top to bottom. Signing in and
   * opening pages in the browser adds records from 127.0.0.1; they are real
   * but not what these tests are about.
   */
  async function column (page: Page, index: number): Promise<string[]> {
    const rows = await page.locator('#history-panel tbody tr[data-record-id]').evaluateAll(trs =>
      trs.map(tr => [...tr.children].map(td => (td.textContent ?? '').trim())))
    return rows.filter(cells => cells[7] !== '127.0.0.1').map(cells => cells[index - 1]!)
  }
  const users = (page: Page): Promise<string[]> => column(page, 2)
  /** A column's sort button, whose name goes on to say what pressing it does ("User, sort ascending"). */
  const sortButton = (page: Page, name: string) => page.getByRole('button', { name: new RegExp(`^${name}, sort `) })
  const header = (page: Page, name: string) => page.locator('th', { has: sortButton(page, name) })

  /** The URL shows the view and htmx has finished swapping and settling it, so the next control touched is the new one. */
  async function waitForView (page: Page, url: Parameters<Page['waitForURL']>[0]): Promise<void> {
    await page.waitForURL(url)
    await page.waitForFunction(() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling, .htmx-added'))
  }

  /** A page that remembers it was not reloaded: htmx swaps keep the marker, a full load loses it. */
  async function markPage (page: Page): Promise<() => Promise<boolean>> {
    await page.evaluate(() => { (window as unknown as { notReloaded: boolean }).notReloaded = true })
    return () => page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded === true)
  }

  const violations: string[] = []

  async function signedInPage (t: Test, user: User, javaScriptEnabled = true): Promise<Page> {
    const { page } = await openBrowser(t, { javaScriptEnabled })
    page.on('console', message => { if (/Content Security Policy/.test(message.text())) violations.push(message.text()) })
    await signInWithBrowser(page, baseUrl, user.email, PASSWORD)
    return page
  }

  t.test('Olivia opens the group history from Settings > Users and sorts three columns through ascending, descending and back to newest first', async t => {
    const page = await signedInPage(t, olivia)
    await page.goto(`${baseUrl}/settings/users`)
    await page.getByRole('link', { name: 'History' }).click()
    await waitForView(page, history)
    t.same(await users(page), ['Dr Sam Lee', 'Riley Reception', 'Dr Sam Lee', 'Olivia Owner', 'Dr Sam Lee', 'Riley Reception', 'Dr Sam Lee', 'Olivia Owner'], 'newest first')
    const notReloaded = await markPage(page)

    for (const [name, param, firstAscending, firstDescending] of [
      ['User', 'user', 'Dr Sam Lee', 'Riley Reception'],
      ['Action', 'action', 'create', 'view'],
      ['IP Address', 'ip', '10.1.0.5', '192.168.1.9']
    ] as const) {
      const index = { user: 2, action: 3, ip: 8 }[param]
      await sortButton(page, name).click()
      await waitForView(page, new RegExp(`sort=${param}&dir=asc`))
      await t.resolveMatch(header(page, name).getAttribute('aria-sort'), 'ascending', `${name}: ascending`)
      t.equal(await header(page, name).locator('svg[data-arrow="up"]').count(), 1, `${name}: up arrow`)
      t.equal((await column(page, index))[0]?.toLowerCase(), firstAscending.toLowerCase())

      await sortButton(page, name).click()
      await waitForView(page, new RegExp(`sort=${param}&dir=desc`))
      await t.resolveMatch(header(page, name).getAttribute('aria-sort'), 'descending', `${name}: descending`)
      t.equal(await header(page, name).locator('svg[data-arrow="down"]').count(), 1, `${name}: down arrow`)
      t.equal((await column(page, index))[0]?.toLowerCase(), firstDescending.toLowerCase())

      await sortButton(page, name).click()
      await waitForView(page, history)
      await t.resolveMatch(header(page, name).getAttribute('aria-sort'), 'none', `${name}: no longer sorted by it`)
      t.equal(await header(page, name).locator('svg.sort-arrow').count(), 0, `${name}: no arrow`)
      await t.resolveMatch(header(page, 'Date').getAttribute('aria-sort'), 'descending', 'said to be by date, newest first')
      t.equal((await users(page))[0], 'Dr Sam Lee', 'newest first again')
    }
    t.ok(await notReloaded(), 'only the table was swapped, never the page')
  })

  t.test('three column filters combine into chips, and removing one chip widens the list', async t => {
    const page = await signedInPage(t, olivia)
    await page.goto(history)
    const notReloaded = await markPage(page)

    await page.getByRole('columnheader', { name: /Action/ }).hover()
    await page.getByRole('button', { name: 'Filter Action' }).click()
    await page.getByLabel('View', { exact: true }).check()
    await waitForView(page, /action=view/)
    await page.locator('#filter-action input[value="view"]:checked').waitFor()
    t.ok(await page.getByLabel('View', { exact: true }).isVisible(), 'the filter stays open while it is used')
    await page.keyboard.press('Escape')

    await page.getByRole('button', { name: 'Filter User' }).click()
    // Exact: once the table swaps, the chip's "Remove filter User: Dr Sam Lee" carries the name too.
    await page.getByLabel('Dr Sam Lee', { exact: true }).check()
    await waitForView(page, new RegExp(`user=${sam.id}`))
    await page.keyboard.press('Escape')

    await page.getByRole('button', { name: 'Filter IP Address' }).click()
    const ip = page.getByRole('textbox', { name: 'IP Address' })
    await ip.pressSequentially('10.1.0.0/16', { delay: 30 })
    await waitForView(page, /ip=10\.1\.0\.0%2F16/)
    await page.waitForFunction(() => document.activeElement?.id === 'filter-ip-input')
    t.equal(await page.evaluate(() => (document.activeElement as HTMLInputElement).value), '10.1.0.0/16', 'typing was not interrupted')
    await page.keyboard.press('Escape')

    const chips = page.getByRole('list', { name: 'Active filters' }).getByRole('listitem')
    t.same((await chips.allTextContents()).map(c => c.replace('×', '').trim()), ['User: Dr Sam Lee', 'Action: View', 'IP Address: 10.1.0.0/16'])
    t.same(await column(page, 8), ['10.1.0.5', '10.1.0.9'], 'Sam, viewing, from 10.1.x.x')

    await page.getByRole('link', { name: 'Remove filter IP Address: 10.1.0.0/16' }).click()
    await waitForView(page, url => !url.search.includes('ip='))
    t.equal(await chips.count(), 2)
    t.same(await column(page, 8), ['10.1.0.5', '192.168.1.9', '10.1.0.9'], 'every view by Sam')

    await page.getByRole('link', { name: 'Clear all', exact: true }).click()
    await waitForView(page, history)
    t.equal(await page.getByRole('list', { name: 'Active filters' }).count(), 0)
    t.equal((await users(page)).length, 8)
    t.ok(await notReloaded(), 'no full page load')
  })

  t.test('the staff member and date range dropdowns narrow the list', async t => {
    const page = await signedInPage(t, olivia)
    await page.goto(history)
    await page.getByLabel('Staff member').selectOption({ label: 'Dr Sam Lee' })
    await waitForView(page, new RegExp(`user=${sam.id}`))
    t.same([...new Set(await users(page))], ['Dr Sam Lee'])
    await page.getByLabel('Date range').selectOption({ label: 'Today' })
    await waitForView(page, /range=today/)
    t.same(await column(page, 8), ['10.1.0.5', '10.1.0.7', '192.168.1.9'], "Sam's records since midnight in Sydney")
    await page.getByLabel('Date range').selectOption({ label: 'Custom range' })
    await waitForView(page, /range=custom/)
    await page.locator('#custom-from').fill('2026-11-23T00:00')
    await waitForView(page, /from=2026-11-23T00%3A00/)
    await page.locator('#custom-to').fill('2026-11-24T23:59')
    await waitForView(page, /to=2026-11-24T23%3A59/)
    t.same(await column(page, 8), ['10.1.0.9'], '23 and 24 November in Sydney: only his record of 40 hours ago')
  })

  t.test('back, forward and reload show the same view', async t => {
    const page = await signedInPage(t, olivia)
    await page.goto(history)
    await sortButton(page, 'User').click()
    await waitForView(page, /sort=user&dir=asc/)
    const sortedUsers = await users(page)
    await page.getByRole('button', { name: 'Filter Action' }).click()
    await page.getByLabel('Update', { exact: true }).check()
    await waitForView(page, /action=update/)
    await page.keyboard.press('Escape')
    const filtered = await users(page)
    t.same(filtered, ['Dr Sam Lee', 'Olivia Owner'])

    await page.goBack()
    await waitForView(page, /sort=user&dir=asc$/)
    await page.locator('#filter-action input[value="update"]:not(:checked)').waitFor({ state: 'attached' })
    t.same(await users(page), sortedUsers, 'back shows the sorted list')
    await t.resolveMatch(header(page, 'User').getAttribute('aria-sort'), 'ascending')

    await page.goForward()
    await waitForView(page, /action=update/)
    await page.locator('#filter-action input[value="update"]:checked').waitFor({ state: 'attached' })
    t.same(await users(page), filtered, 'forward shows the filtered list')

    await page.reload()
    t.same(await users(page), filtered, 'reload shows the same view')
    t.equal(await page.getByRole('list', { name: 'Active filters' }).getByRole('listitem').count(), 1)
  })

  t.test('Dr Sam Lee sees only his own records while Olivia sees everyone', async t => {
    const page = await signedInPage(t, sam)
    await page.goto(`${baseUrl}/settings/users`)
    await page.getByRole('link', { name: 'History' }).click()
    await waitForView(page, history)
    t.same([...new Set(await users(page))], ['Dr Sam Lee'])
    t.match(await page.locator('.window-note').textContent(), 'You see only your own activity.')
    t.equal(await page.getByRole('button', { name: 'Filter User' }).count(), 0, 'no user filter to offer')
    const everyone = await signedInPage(t, olivia)
    await everyone.goto(history)
    t.same(new Set(await users(everyone)), new Set(['Dr Sam Lee', 'Riley Reception', 'Olivia Owner']))
  })

  for (const javaScriptEnabled of [true, false]) {
    t.test(`an update row expands in place to show before and after${javaScriptEnabled ? '' : ' (without JavaScript)'}`, async t => {
      await addRecord(em, sam, {
        at: new Date(now - 6 * hour), action: 'update', page: 'Appointment', recordType: 'appointment', recordId: '77',
        description: `Changed appointment 77 ${javaScriptEnabled}`, ip: '127.0.0.1',
        changes: [{ field: 'status', label: 'Status', before: 'Booked', after: 'Arrived', beforeText: 'Booked', afterText: 'Arrived' }]
      })
      const page = await signedInPage(t, olivia, javaScriptEnabled)
      await page.goto(`${history}?id=77`)
      const row = page.locator('tr', { hasText: `Changed appointment 77 ${javaScriptEnabled}` })
      const change = row.getByRole('row', { name: /Status/ })
      t.equal(await change.isVisible(), false, 'folded at first')
      await row.getByText('Changes (1)').click()
      t.equal(await change.isVisible(), true, 'open in place')
      t.match(await change.textContent(), /Status\s*Booked\s*Arrived/)
    })
  }

  t.test('Riley sees no History icon and is refused at the URL', async t => {
    const page = await signedInPage(t, riley)
    await page.goto(`${baseUrl}/settings/users`)
    t.equal(await page.getByRole('link', { name: 'History' }).count(), 0)
    const response = await page.goto(history)
    t.equal(response?.status(), 403)
    t.match(await page.locator('main').textContent(), 'User Action History permission')
  })

  t.test('without JavaScript, sorting and filtering still work as links and forms', async t => {
    const page = await signedInPage(t, olivia, false)
    await page.goto(history)
    await sortButton(page, 'User').click()
    await waitForView(page, /sort=user&dir=asc/)
    t.equal((await users(page))[0], 'Dr Sam Lee')
    await t.resolveMatch(header(page, 'User').getAttribute('aria-sort'), 'ascending')

    await page.getByRole('button', { name: 'Filter Action' }).click()
    await page.getByLabel('Create', { exact: true }).check()
    // From the keyboard, as a pointer click can land outside a popover that overflows the window and dismiss it.
    await page.locator('#filter-action').getByRole('button', { name: 'Apply' }).focus()
    await page.keyboard.press('Enter')
    await waitForView(page, /action=create/)
    t.same(await users(page), ['Riley Reception'])
    t.match(page.url(), /sort=user&dir=asc/, 'the sort is kept')

    await page.getByLabel('Staff member').selectOption({ label: 'Olivia Owner' })
    await page.locator('form', { has: page.getByLabel('Staff member') }).getByRole('button', { name: 'Show' }).click()
    await waitForView(page, new RegExp(`user=${olivia.id}`))
    t.match(await page.locator('.empty-row').textContent(), 'No activity matches these filters.')
    await page.getByRole('link', { name: 'Clear all filters' }).click()
    await waitForView(page, /\?sort=user&dir=asc$/)
    t.equal((await users(page)).length, 8)
  })

  t.test('no page broke its content security policy', async t => {
    t.same(violations, [])
  })
}
