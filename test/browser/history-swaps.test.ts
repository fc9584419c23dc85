import t from 'tap'
import { build } from '../helpers/app.js'
import { chromiumAvailable, listen, openBrowser, signInWithBrowser } from '../helpers/browser.js'
import { PASSWORD } from '../helpers/agent.js'
import { addRecord } from '../helpers/history.js'
import { makePracticeGroup, makeUser, unique } from '../../src/seed/factories.js'

if (chromiumAvailable(t)) {
  const ctx = await build(t)
  ctx.clock.set('2026-11-25T03:00:00Z')
  const baseUrl = await listen(ctx.app)
  const group = await makePracticeGroup(ctx.em(), { name: unique('Harbour') })
  const olivia = await makeUser(ctx.em(), group, { name: unique('Olivia'), accessLevel: 'Full Access', canViewHistory: true })
  for (let i = 0; i < 30; i++) {
    await addRecord(ctx.em(), olivia, { at: new Date(Date.parse('2026-11-20T00:00:00Z') + i * 3_600_000), action: i % 4 === 0 ? 'update' : 'view', description: `Swap record ${i}` })
  }

  const { page } = await openBrowser(t)
  await signInWithBrowser(page, baseUrl, olivia.email, PASSWORD)
  const chartRequests: string[] = []
  page.on('request', request => { if (new URL(request.url()).pathname.endsWith('/history/activity')) chartRequests.push(request.url()) })
  await page.goto(`${baseUrl}/settings/users/history`)
  const summary = page.locator('#activity-chart-summary')
  await summary.waitFor()
  const snapshots = (): Promise<number> => page.evaluate(() => (window as unknown as { snapshots: number }).snapshots)
  await page.evaluate(() => {
    const counted = window as unknown as { snapshots: number }
    counted.snapshots = 0
    document.addEventListener('htmx:beforeHistorySave', () => { counted.snapshots++ })
  })

  t.test('when Olivia sorts, the chart stays as it was drawn and is not asked for again; when she filters, it is drawn for the filter', async t => {
    t.equal(chartRequests.length, 1, 'the page asked for its chart once')
    const drawn = await summary.textContent()
    for (const dir of ['asc', 'desc']) {
      await page.locator('th.col-user button.sort-button').click()
      await page.waitForURL(new RegExp(`sort=user&dir=${dir}$`))
      await page.locator('th.col-user[aria-sort]:not([aria-sort="none"])').waitFor()
    }
    await page.waitForTimeout(300)
    t.equal(chartRequests.length, 1, 'two sorts later, still the one request')
    t.equal(await summary.textContent(), drawn, 'and the same chart')

    await page.getByRole('button', { name: 'Filter Action' }).click()
    await page.locator('#filter-action input[value="update"]').check()
    await page.waitForURL(/action=update/)
    await page.waitForFunction(before => document.querySelector('#activity-chart-summary')?.textContent !== before, drawn)
    t.equal(chartRequests.length, 2, 'a filter asks for the chart of the filtered records')
    t.match(await summary.textContent(), /^8 records from/, 'the eight updates')
  })

  t.test('a swap takes no copy of the page for htmx\'s history cache, which keeps none', async t => {
    t.equal(await snapshots(), 0, 'no snapshot in all the sorts and filters above')
  })
}
