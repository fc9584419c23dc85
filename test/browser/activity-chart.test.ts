import t from 'tap'
import { build } from '../helpers/app.js'
import { chromiumAvailable, listen, openBrowser, signInWithBrowser } from '../helpers/browser.js'
import { PASSWORD } from '../helpers/agent.js'
import { addRecord } from '../helpers/history.js'
import { makePracticeGroup, makeUser, unique } from '../../src/seed/factories.js'

if (chromiumAvailable(t)) {
  const ctx = await build(t)
  ctx.clock.set('2026-11-25T03:00:00Z') // 14:00 in Sydney
  const baseUrl = await listen(ctx.app)

  async function olivia () {
    const em = ctx.em()
    const group = await makePracticeGroup(em, { name: unique('Harbour') })
    const user = await makeUser(em, group, { name: 'Olivia Owner', accessLevel: 'Full Access', canViewHistory: true })
    for (let i = 0; i < 3; i++) await addRecord(em, user, { at: '2026-11-21T05:00:00Z', page: 'Patient profile', description: `Opened chart ${i}` })
    await addRecord(em, user, { at: '2026-11-23T05:00:00Z', page: 'Invoice', description: 'Voided an invoice' })
    return user
  }

  t.test('the chart sits above the table and follows its filters as they change', async t => {
    const user = await olivia()
    const { page } = await openBrowser(t)
    await signInWithBrowser(page, baseUrl, user.email, PASSWORD)
    await page.goto(`${baseUrl}/settings/users/history?pageName=${encodeURIComponent('Patient profile')}`)
    const chart = page.getByRole('img', { name: /Records per day in this view/ })
    await chart.waitFor()
    t.match(await page.locator('#activity-chart-summary').textContent(), '3 records from 18/11/2026 to 25/11/2026; the busiest day was 21/11/2026 with 3 records.')
    t.ok(await page.evaluate(() => {
      const chartBox = document.querySelector('#activity-chart')!.getBoundingClientRect()
      const tableBox = document.querySelector('.history-table')!.getBoundingClientRect()
      return chartBox.bottom <= tableBox.top
    }), 'above the table')

    await page.getByRole('link', { name: /Remove filter/ }).click()
    await page.waitForFunction(() => !document.querySelector('#activity-chart-summary')?.textContent?.startsWith('3 records'))
    t.match(await page.locator('#activity-chart-summary').textContent(), /^\d+ records from 18\/11\/2026 to 25\/11\/2026/, 'the whole history now, sign-ins and views included')
    t.equal(new URL(page.url()).search, '', 'the table and its URL changed with it')

    await page.getByText('Show the days as a table').click()
    t.equal(await page.locator('.chart-table').getByRole('row', { name: '23/11/2026 1', exact: true }).count(), 1, 'the numbers are there as a table too')
  })

  t.test('without JavaScript a link leads to the chart for the same view', async t => {
    const user = await olivia()
    const { page } = await openBrowser(t, { javaScriptEnabled: false })
    await signInWithBrowser(page, baseUrl, user.email, PASSWORD)
    await page.goto(`${baseUrl}/settings/users/history?pageName=Invoice`)
    await page.getByRole('link', { name: 'Activity per day (chart)' }).click()
    await page.waitForURL(/\/settings\/users\/history\/activity\?pageName=Invoice$/)
    t.match(await page.locator('#activity-chart-summary').textContent(), '1 record from 18/11/2026 to 25/11/2026; the busiest day was 23/11/2026 with 1 record.')
    await page.getByRole('link', { name: '‹ User Action History' }).click()
    await page.waitForURL(/\/settings\/users\/history\?pageName=Invoice$/)
    t.pass('and back to the same view')
  })
}
