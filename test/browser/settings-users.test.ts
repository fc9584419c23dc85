import t from 'tap'
import { build } from '../helpers/app.js'
import { chromiumAvailable, listen, openBrowser, signInWithBrowser } from '../helpers/browser.js'
import { makePracticeGroup, makeUser } from '../../src/seed/factories.js'
import { PASSWORD } from '../helpers/agent.js'

if (chromiumAvailable(t)) {
  const ctx = await build(t)
  const em = ctx.em()
  const group = await makePracticeGroup(em)
  const owner = await makeUser(em, group, { name: 'Olivia Owner', accessLevel: 'Full Access', canViewHistory: true })
  const priya = await makeUser(em, group, { name: 'Dr Priya Nair', accessLevel: 'Practitioner' })
  const baseUrl = await listen(ctx.app)

  t.test("when the owner ticks Dr Priya Nair's User Action History box and saves, then it is still ticked after a reload", async t => {
    const { page } = await openBrowser(t)
    await signInWithBrowser(page, baseUrl, owner.email, PASSWORD)
    await page.getByRole('link', { name: 'Settings' }).click()
    await page.getByRole('link', { name: 'Edit Dr Priya Nair' }).click()
    const checkbox = page.getByLabel('User Action History')
    t.equal(await checkbox.isChecked(), false, 'off to begin with')
    await checkbox.check()
    await page.getByRole('button', { name: 'Save' }).click()
    await page.waitForURL(`${baseUrl}/settings/users`)
    t.match(await page.getByRole('status').textContent(), 'Access settings saved for Dr Priya Nair')
    t.equal(await page.locator(`tr[data-user-id="${priya.id}"] .history-permission`).textContent(), 'On')

    await page.goto(`${baseUrl}/settings/users/${priya.id}/edit`)
    await page.reload()
    t.equal(await page.getByLabel('User Action History').isChecked(), true)
  })

  t.test('when the shell is shown on a phone, then the navigation still fits the screen', async t => {
    const { page } = await openBrowser(t)
    await page.setViewportSize({ width: 375, height: 740 })
    await signInWithBrowser(page, baseUrl, owner.email, PASSWORD)
    await page.goto(`${baseUrl}/settings/users`)
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)
    t.ok(overflow <= 1, `no sideways scrolling of the page (overflow ${overflow}px)`)
    t.ok(await page.getByRole('link', { name: 'Patients' }).isVisible())
  })
}
