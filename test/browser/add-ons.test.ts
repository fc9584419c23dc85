import t from 'tap'
import { readFileSync } from 'node:fs'
import { strFromU8, unzipSync } from 'fflate'
import { build } from '../helpers/app.js'
import { chromiumAvailable, listen, openBrowser, signInWithBrowser } from '../helpers/browser.js'
import { PASSWORD } from '../helpers/agent.js'
import { addRecord } from '../helpers/history.js'
import { actorAt, subscribeAt } from '../helpers/subscriptions.js'
import { makePracticeGroup, makeUser, unique } from '../../src/seed/factories.js'
import { setAutoRenew } from '../../src/domain/subscriptions/subscription.service.js'

if (chromiumAvailable(t)) {
  const ctx = await build(t)
  ctx.clock.set('2026-11-25T03:00:00Z') // 14:00 in Sydney
  const now = ctx.clock.now().getTime()
  const DAY = 86_400_000
  const baseUrl = await listen(ctx.app)

  for (const javaScriptEnabled of [true, false]) {
    t.test(`the purchase dialog shows the price for 4 and then 5 active users, the balance after, and unlocks 30 days${javaScriptEnabled ? '' : ' (without JavaScript)'}`, async t => {
      const em = ctx.em()
      const group = await makePracticeGroup(em, { name: unique('Harbour'), creditBalance: 500 })
      const olivia = await makeUser(em, group, { name: 'Olivia Owner', accessLevel: 'Full Access', canViewHistory: true })
      for (const name of ['Dr Sam Lee', 'Dr Priya Nair', 'Riley Reception']) await makeUser(em, group, { name: `${name} ${unique('')}` })
      await addRecord(em, olivia, { at: new Date(now - 20 * DAY), description: 'Opened a profile twenty days ago' })
      const { page } = await openBrowser(t, { javaScriptEnabled })
      await signInWithBrowser(page, baseUrl, olivia.email, PASSWORD)

      await page.goto(`${baseUrl}/settings/users/history`)
      t.equal(await page.getByText('Opened a profile twenty days ago').count(), 0, 'free: 20 days ago is out of sight')

      await page.goto(`${baseUrl}/settings/users`)
      await page.getByRole('link', { name: 'Add-ons' }).click()
      // Until the page has loaded, its script has not yet made the button open a dialog.
      await page.waitForURL(`${baseUrl}/settings/add-ons`)
      await page.getByRole('button', { name: 'Add a Subscription' }).click()
      // With JavaScript the purchase is a dialog over the page; without, the button leads to a confirmation page.
      const purchase = javaScriptEnabled
        ? page.getByRole('dialog', { name: 'Subscribe to User Action History' })
        : page.getByRole('region', { name: 'Subscribe to User Action History' })
      if (!javaScriptEnabled) t.match(new URL(page.url()).pathname, '/settings/add-ons/subscribe')
      t.match(await purchase.textContent(), /Monthly price\s*100 credits \(4 active users\)/)
      t.match(await purchase.textContent(), /Balance now\s*500 credits/)
      t.match(await purchase.textContent(), /Balance after\s*400 credits/)
      t.match(await purchase.textContent(), 'History from 26/10/2026 14:00 (30 days before today)')
      await purchase.getByRole('button', { name: 'Cancel' }).or(purchase.getByRole('link', { name: 'Cancel' })).click()
      if (javaScriptEnabled) t.equal(await purchase.isVisible(), false, 'Cancel closes it')
      else await page.waitForURL(`${baseUrl}/settings/add-ons`)

      await makeUser(em, group, { name: `Fifth ${unique('')}` })
      await page.reload()
      await page.getByRole('button', { name: 'Add a Subscription' }).click()
      t.match(await purchase.textContent(), /Monthly price\s*200 credits \(5 active users\)/)
      t.match(await purchase.textContent(), /Balance after\s*300 credits/)
      await purchase.getByRole('button', { name: 'Purchase' }).click()
      await page.waitForURL(`${baseUrl}/settings/add-ons`)
      t.match(await page.getByRole('status').textContent(), '200 credits were charged; your balance is 300 credits.')
      t.equal((await page.locator('.add-on-card .status').textContent())?.trim(), 'Active')
      t.match(await page.locator('#who-sees-it').textContent(), 'it is on for 1 of your 5 active users', 'the buyer is reminded who can see it')
      await page.locator('#who-sees-it').getByRole('link', { name: 'Settings › Users' }).click()
      await page.waitForURL(`${baseUrl}/settings/users`)

      await page.goto(`${baseUrl}/settings/users/history`)
      t.match(await page.locator('.window-note').textContent(), 'Showing everything since 26/10/2026 14:00')
      t.equal(await page.getByText('Opened a profile twenty days ago').count(), 1, 'subscribed: 20 days ago is visible')
    })
  }

  t.test('with the keyboard only, the purchase dialog is modal: focus moves into it, Tab stays in it, Escape closes it back onto its button, and Enter buys', async t => {
    const em = ctx.em()
    const group = await makePracticeGroup(em, { name: unique('Keys'), creditBalance: 500 })
    const owner = await makeUser(em, group, { name: 'Kim Keyboard', accessLevel: 'Full Access', canViewHistory: true })
    const { page } = await openBrowser(t)
    await signInWithBrowser(page, baseUrl, owner.email, PASSWORD)
    await page.goto(`${baseUrl}/settings/add-ons`)
    const opener = page.getByRole('button', { name: 'Add a Subscription' })
    const dialog = page.getByRole('dialog', { name: 'Subscribe to User Action History' })
    const isFocused = (locator: typeof opener): Promise<boolean> => locator.evaluate(element => element === document.activeElement)
    /** The focused control, named as a person hears it, or where focus went outside the dialog. */
    const focusedControl = (): Promise<string> => page.evaluate(() => {
      const focused = document.activeElement
      const inDialog = document.querySelector('dialog')!.contains(focused)
      return `${inDialog ? '' : 'outside: '}${focused?.textContent?.trim() || focused?.tagName}`
    })

    for (let presses = 0; presses < 40 && !await isFocused(opener); presses++) await page.keyboard.press('Tab')
    t.ok(await isFocused(opener), 'Tab reaches the button')
    await page.keyboard.press('Enter')
    t.ok(await dialog.evaluate(element => (element as HTMLDialogElement).open && element.matches(':modal')), 'it opens as a modal dialog')
    t.equal(await focusedControl(), 'Cancel', 'focus moves into it, onto the choice that spends nothing')

    const visited: string[] = []
    for (let presses = 0; presses < 5; presses++) {
      await page.keyboard.press('Tab')
      visited.push(await focusedControl())
    }
    for (let presses = 0; presses < 5; presses++) {
      await page.keyboard.press('Shift+Tab')
      visited.push(await focusedControl())
    }
    t.same([...new Set(visited)].sort(), ['Cancel', 'Purchase'], 'Tab and Shift+Tab go round its two buttons and never reach the page behind')

    await page.keyboard.press('Escape')
    t.equal(await dialog.isVisible(), false, 'Escape closes it')
    t.ok(await isFocused(opener), 'and focus is back on the button that opened it')

    await page.keyboard.press('Enter')
    await page.keyboard.press('Shift+Tab')
    t.equal(await focusedControl(), 'Purchase')
    await Promise.all([page.waitForURL(`${baseUrl}/settings/add-ons`), page.keyboard.press('Enter')])
    t.match(await page.getByRole('status').textContent(), '100 credits were charged; your balance is 400 credits.')
  })

  t.test('the expiry warning shows on the add-ons and history pages', async t => {
    const em = ctx.em()
    const group = await makePracticeGroup(em, { name: unique('Bayside'), creditBalance: 100 })
    const owner = await makeUser(em, group, { name: 'Bailey Bayside', accessLevel: 'Full Access', canViewHistory: true })
    await subscribeAt(em, owner, new Date(now - 27 * DAY))
    await setAutoRenew(em, actorAt(owner, new Date(now - DAY)), false)
    const { page } = await openBrowser(t)
    await signInWithBrowser(page, baseUrl, owner.email, PASSWORD)
    for (const path of ['/settings/add-ons', '/settings/users/history']) {
      await page.goto(`${baseUrl}${path}`)
      const banner = page.getByRole('status').filter({ hasText: 'subscription expires on' })
      t.match(await banner.textContent(), /expires on 29\/11\/2026 14:00: then 1 record will be permanently deleted\./, `${path} warns`)
      t.match(await banner.textContent(), 'It expires because auto-renew is off.')
      t.match(await banner.textContent(), /Then 1 record, from 29\/10\/2026 14:00 to 29\/10\/2026 14:00 \(everything before 30\/10\/2026 14:00\), will be permanently deleted\./,
        'exactly what goes, and from when to when')
    }
    const banner = page.getByRole('status').filter({ hasText: 'subscription expires on' })
    await banner.locator('summary').click()
    const [download] = await Promise.all([page.waitForEvent('download'), banner.getByRole('link', { name: 'Download an archive of them first' }).click()])
    t.equal(download.suggestedFilename(), 'user-action-history-before-2026-10-30.zip')
    const files = unzipSync(new Uint8Array(readFileSync((await download.path())!)))
    t.same(Object.keys(files).sort(), ['SHA256SUMS', 'manifest.json', 'records.csv', 'records.ndjson'])
    t.equal(JSON.parse(strFromU8(files['manifest.json']!)).records, 1, 'one click, and the record that will go is in the archive')
  })
}
