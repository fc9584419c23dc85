import t, { type Test } from 'tap'
import type { Page } from 'playwright-core'
import { build } from '../helpers/app.js'
import { chromiumAvailable, listen, openBrowser, signInWithBrowser, type BrowserOptions } from '../helpers/browser.js'
import { PASSWORD } from '../helpers/agent.js'
import { addRecord } from '../helpers/history.js'
import { actorAt, subscribeAt } from '../helpers/subscriptions.js'
import { makePracticeGroup, makeUser, unique } from '../../src/seed/factories.js'
import { setAutoRenew } from '../../src/domain/subscriptions/subscription.service.js'
import { sealPracticeBefore } from '../../src/domain/chain/sealer.js'
import { formatDateTime } from '../../src/domain/time/zoned.js'
import type { User } from '../../src/domain/users/user.entity.js'

if (chromiumAvailable(t)) {
  const ctx = await build(t)
  ctx.clock.set('2026-11-25T03:00:00Z') // 14:00 in Sydney
  const now = ctx.clock.now().getTime()
  const MINUTE = 60_000
  const DAY = 86_400_000
  const baseUrl = await listen(ctx.app)
  const history = `${baseUrl}/settings/users/history`

  /**
   * A practice on the add-on with auto-renew turned off yesterday, so the
   * expiry banner is up, and a working day's history: mostly patients
   * opened and sign-ins, with a few changes among them, as the front desk
   * and the practitioners leave it. One record is old enough to be deleted
   * when the subscription ends.
   */
  async function practice () {
    const em = ctx.em()
    const group = await makePracticeGroup(em, { name: unique('Harbour'), creditBalance: 100 })
    const olivia = await makeUser(em, group, { name: 'Olivia Owner', accessLevel: 'Full Access', canViewHistory: true })
    const oscar = await makeUser(em, group, { name: 'Oscar Owner', accessLevel: 'Full Access', canViewHistory: true })
    const sam = await makeUser(em, group, { name: 'Dr Sam Lee', accessLevel: 'Practitioner', canViewHistory: true })
    const riley = await makeUser(em, group, { name: 'Riley Reception', accessLevel: 'Reception', canViewHistory: true })
    await subscribeAt(em, olivia, new Date(now - 27 * DAY))
    await setAutoRenew(em, actorAt(olivia, new Date(now - DAY)), false)
    const oldest = new Date(now - 40 * DAY)
    await addRecord(em, sam, { at: oldest, page: 'Patient profile', recordType: 'patient', recordId: '3', description: 'Viewed patient Ava Nguyen', url: '/patients/3' })
    const names = ['Ava Nguyen', 'Marcus Nair', 'Ruby Chen', 'Oscar Haddad', 'Mia Williams', 'Leo Brown']
    for (let i = 0; i < 24; i++) {
      const at = new Date(now - (i + 1) * 7 * MINUTE)
      const user = [sam, riley, olivia][i % 3]!
      const id = 3 + (i % names.length)
      if (i === 4) {
        await addRecord(em, riley, {
          at, action: 'update', page: 'Appointment', recordType: 'appointment', recordId: '41', description: 'Updated appointment #41 for Ruby Chen: Status: Booked → Arrived',
          url: '/appointments/41', changes: [{ field: 'status', label: 'Status', before: 'Booked', after: 'Arrived', beforeText: 'Booked', afterText: 'Arrived' }]
        })
      } else if (i === 9) {
        await addRecord(em, riley, {
          at, action: 'update', page: 'Invoice', recordType: 'invoice', recordId: '45', description: 'Updated invoice #45 for Mateo Brown: Status: Issued → Paid',
          url: '/invoices/45', changes: [{ field: 'status', label: 'Status', before: 'Issued', after: 'Paid', beforeText: 'Issued', afterText: 'Paid' }]
        })
      } else if (i % 5 === 2) {
        await addRecord(em, user, { at, action: 'login', page: 'Sign in', recordType: 'user', recordId: String(user.id), description: `${user.name} signed in`, url: '/login' })
      } else {
        await addRecord(em, user, {
          at, page: 'Patient profile', recordType: 'patient', recordId: String(id), description: `Viewed patient ${names[i % names.length]}`, url: `/patients/${id}`, ip: '203.0.113.24'
        })
      }
    }
    return { group, olivia, oscar, sam, riley, oldest }
  }

  /** A browser window of a common laptop's size, signed in as `user`. */
  async function signedIn (t: Test, user: User, options: BrowserOptions = {}): Promise<Page> {
    const { page } = await openBrowser(t, options)
    await page.setViewportSize({ width: 1366, height: 800 })
    await signInWithBrowser(page, baseUrl, user.email, PASSWORD)
    return page
  }

  /** History rows whose whole box lies inside the window as it opens, without scrolling. */
  async function rowsInView (page: Page): Promise<number> {
    return page.evaluate(() => [...document.querySelectorAll('.history-table > tbody > tr[data-record-id]')].filter(row => {
      const box = row.getBoundingClientRect()
      return box.top >= 0 && box.bottom <= window.innerHeight
    }).length)
  }

  const chartLoaded = (page: Page) => page.locator('#activity-chart-summary').waitFor()

  t.test('at 1366×800, with the expiry banner up, ten rows or more are in view with the chart shown and with it hidden', async t => {
    const { olivia } = await practice()
    const page = await signedIn(t, olivia)
    await page.goto(history)
    await chartLoaded(page)
    t.equal(await page.getByRole('status').filter({ hasText: 'subscription expires on' }).count(), 1, 'the banner is up')
    t.ok(await rowsInView(page) >= 10, `chart shown by default: ${await rowsInView(page)} rows in view`)
    t.equal(await page.evaluate(() => window.scrollY), 0, 'nothing was scrolled')

    await page.getByRole('button', { name: 'Hide chart' }).click()
    await page.getByRole('button', { name: 'Show chart' }).waitFor()
    t.equal(await page.locator('#activity-chart').count(), 0, 'the chart is gone')
    t.ok(await rowsInView(page) >= 10, `chart hidden: ${await rowsInView(page)} rows in view`)
  })

  t.test('hiding the chart is remembered for that user, after a reload and in another browser, and a hidden chart is not loaded', async t => {
    const { olivia, oscar } = await practice()
    const page = await signedIn(t, olivia)
    await page.goto(`${history}?action=view`)
    await chartLoaded(page)
    await page.getByRole('button', { name: 'Hide chart' }).click()
    await page.getByRole('button', { name: 'Show chart', expanded: false }).waitFor()

    const chartRequests: string[] = []
    page.on('request', request => { if (new URL(request.url()).pathname.endsWith('/activity')) chartRequests.push(request.url()) })
    await page.reload()
    await page.locator('.history-table').waitFor()
    await page.waitForLoadState('networkidle')
    t.equal(await page.getByRole('button', { name: 'Show chart' }).count(), 1, 'still hidden after a reload')
    t.same(chartRequests, [], 'and the chart was not asked for')
    t.equal(new URL(page.url()).search, '?action=view', 'on the same view')

    const other = await signedIn(t, oscar)
    await other.goto(history)
    await chartLoaded(other)
    t.equal(await other.getByRole('button', { name: 'Hide chart', expanded: true }).count(), 1, 'another user still sees the chart')

    await page.getByRole('button', { name: 'Show chart' }).click()
    await chartLoaded(page)
    t.match(await page.locator('#activity-chart-summary').textContent(), /^\d+ records? from /, 'showing it again loads it for the current view')
    t.ok(chartRequests.some(url => url.includes('action=view')))
  })

  t.test('without JavaScript the chart is hidden and shown again by the same button, back on the same view', async t => {
    const { olivia } = await practice()
    const page = await signedIn(t, olivia, { javaScriptEnabled: false })
    await page.goto(`${history}?action=login&page=1`)
    await page.getByRole('button', { name: 'Hide chart' }).click()
    await page.waitForURL(`${history}?action=login`)
    t.equal(await page.getByRole('link', { name: 'Activity per day (chart)' }).count(), 0, 'the link to the chart is gone')
    await page.getByRole('button', { name: 'Show chart' }).click()
    await page.getByRole('button', { name: 'Hide chart' }).waitFor()
    t.equal(new URL(page.url()).search, '?action=login', 'on the same view')
    t.equal(await page.getByRole('link', { name: 'Activity per day (chart)' }).count(), 1, 'the link to the chart is back')
  })

  t.test('the expiry banner is a status of one line whose details open on demand, for someone who can renew', async t => {
    const { olivia } = await practice()
    const page = await signedIn(t, olivia)
    for (const path of ['/settings/users/history', '/settings/add-ons']) {
      await page.goto(`${baseUrl}${path}`)
      t.equal(await page.getByRole('alert').count(), 0, `${path}: nothing interrupts`)
      const banner = page.getByRole('status').filter({ hasText: 'subscription expires on' })
      const summary = banner.locator('summary')
      t.match(await summary.textContent(), /Your User Action History subscription expires on 29\/11\/2026 14:00: then 2 records will be permanently deleted\./)
      const lines = await summary.evaluate(element => {
        const range = document.createRange()
        range.selectNodeContents(element)
        return element.getBoundingClientRect().height / range.getClientRects()[0]!.height
      })
      t.ok(lines < 1.8, `${path}: one line (${lines.toFixed(2)} lines high)`)
      const why = banner.getByText('It expires because auto-renew is off.')
      t.notOk(await why.isVisible(), 'the details wait')
      await summary.click()
      t.ok(await why.isVisible(), 'and open on demand')
      t.match(await banner.textContent(), /Then 2 records, from 16\/10\/2026 14:00 to 29\/10\/2026 14:00 \(everything before 30\/10\/2026 14:00\), will be permanently deleted\./)
      t.equal(await banner.getByRole('link', { name: 'Download an archive of them first' }).count(), 1)
      const links = await banner.getByRole('link').evaluateAll(as => as.map(a => new URL((a as HTMLAnchorElement).href).pathname))
      t.notOk(links.includes(path), `${path}: the banner does not link to the page it is on`)
      if (path === '/settings/users/history') t.ok(links.includes('/settings/add-ons'), 'it leads to where auto-renew is turned on')
    }
  })

  t.test('a single record\'s history does not carry the practice-wide banner', async t => {
    const { olivia } = await practice()
    const page = await signedIn(t, olivia)
    await page.goto(`${baseUrl}/patients/3/history`)
    await page.locator('.history-table').waitFor()
    t.equal(await page.getByText('subscription expires on').count(), 0)
    t.equal(await page.getByText('will be permanently deleted').count(), 0)
  })

  t.test('someone who cannot renew sees one plain line, without credits, counts or links', async t => {
    const { riley } = await practice()
    const page = await signedIn(t, riley)
    for (const path of ['/settings/users/history', '/settings/add-ons']) {
      await page.goto(`${baseUrl}${path}`)
      const banner = page.locator('.expiry-banner')
      t.equal(await banner.getAttribute('role'), 'status')
      t.equal((await banner.textContent())?.trim(),
        "After 29/11/2026 14:00 history pages show only the last 7 days, as the practice's subscription ends then; a Full Access user can renew it.", path)
      t.equal(await banner.getByRole('link').count(), 0, 'nothing to click that they could not do')
      t.equal(await page.getByText(/credits needed|will be permanently deleted|Top up credits/).count(), 0, 'no credits wording')
    }
  })

  t.test('Verify integrity answers in plain words, with the chain\'s technical details behind Details', async t => {
    const { group, olivia, oldest } = await practice()
    const page = await signedIn(t, olivia)
    await page.goto(history)
    t.ok(await sealPracticeBefore(ctx.em(), group.id, new Date('9999-01-01T00:00:00Z'), ctx.clock.now()), 'every record so far is sealed')
    const [{ count }] = await ctx.em().getConnection().execute<{ count: string }[]>('select count(*) from audit_records where practice_group_id = ?', [group.id])
    await page.getByRole('button', { name: 'Verify integrity' }).click()
    const result = page.getByRole('status').filter({ hasText: 'exactly as recorded' })
    await result.waitFor()
    t.equal((await result.textContent())?.trim(), `All ${count} records since ${formatDateTime(oldest, group.timeZone)} are exactly as recorded.`)
    const visible = await page.locator('main').innerText()
    for (const jargon of [/seal/i, /chain head/i, /[0-9a-f]{64}/, /intact since/i]) t.notMatch(visible, jargon, `no ${jargon} on the page until Details is opened`)
    t.ok(await result.evaluate(element => element.getBoundingClientRect().bottom <= window.innerHeight), 'the answer is in view')

    const details = page.locator('.integrity-details')
    await details.locator('summary').click()
    t.match(await details.innerText(), /Chain head: [0-9a-f]{64}\./)
    t.match(await details.innerText(), new RegExp(`${count} records matched their seals`))
    t.equal(await details.getByRole('textbox', { name: 'A chain head noted earlier' }).count(), 1)
    t.equal(await details.getByRole('link', { name: 'Download the public key' }).count(), 1)
    t.equal(await details.getByRole('button', { name: 'Download a receipt' }).count(), 1)
  })

  t.test('the toolbar reads and tabs in one order: the check, the dropdowns, then Export, with CSV first and the rest for other systems', async t => {
    const { olivia } = await practice()
    const page = await signedIn(t, olivia)
    await page.goto(history)
    await chartLoaded(page)
    const stops: { name: string, tag: string, box: { x: number, y: number, width: number, height: number } }[] = []
    for (let i = 0; i < 40; i++) {
      await page.keyboard.press('Tab')
      const focused = await page.evaluate(() => {
        const element = document.activeElement!
        const { x, y, width, height } = element.getBoundingClientRect()
        const name = element.getAttribute('aria-label') ?? (element as HTMLSelectElement).labels?.[0]?.textContent ?? element.textContent ?? ''
        return { name: name.trim().replace(/\s+/g, ' ').slice(0, 40), tag: element.tagName, box: { x, y, width, height }, inHead: element.closest('thead') !== null, inMain: element.closest('main') !== null }
      })
      if (focused.inHead) break
      if (focused.inMain) stops.push(focused)
    }
    const names = stops.map(stop => stop.name)
    t.ok(names.length <= 10, `${names.length} stops in the page before the table: ${names.join(' | ')}`)
    const at = (prefix: string): number => names.findIndex(name => name.startsWith(prefix))
    const dropdowns = stops.flatMap((stop, i) => stop.tag === 'SELECT' ? [i] : [])
    t.equal(dropdowns.length, 2, 'both dropdowns')
    t.ok(at('Verify integrity') < at('Details') && at('Details') < dropdowns[0]! && dropdowns[1]! < at('Export') && at('Export') < at('Hide chart'), 'check, details, dropdowns, export, chart')
    for (let i = 1; i < stops.length; i++) {
      const [a, b] = [stops[i - 1]!.box, stops[i]!.box]
      const nextRow = b.y >= a.y + a.height - 2
      const sameRowFurtherRight = b.y < a.y + a.height && b.x >= a.x + a.width - 2
      t.ok(nextRow || sameRowFurtherRight, `${stops[i]!.name} comes after ${stops[i - 1]!.name} on the screen too`)
    }

    const menu = page.locator('.export-menu')
    await menu.locator('summary').click()
    const links = await menu.getByRole('link').allTextContents()
    t.same(links, ['Export CSV', 'Export NDJSON', 'Export FHIR AuditEvent (NDJSON)'], 'CSV first')
    t.match(await menu.innerText(), /Export CSV[\s\S]*For other systems[\s\S]*Export NDJSON[\s\S]*Export FHIR AuditEvent/, 'the others under their own heading')
  })
}
