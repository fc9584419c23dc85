import t from 'tap'
import { build } from '../helpers/app.js'
import { chromiumAvailable, listen, openBrowser, signInWithBrowser } from '../helpers/browser.js'
import { makePracticeGroup, makeUser } from '../../src/seed/factories.js'
import { PASSWORD } from '../helpers/agent.js'
import { happened, makePatient, scanEverything } from '../helpers/alerts.js'
import { fromLocalInput } from '../../src/domain/time/zoned.js'

if (chromiumAvailable(t)) {
  const ctx = await build(t)
  const em = ctx.em()
  const group = await makePracticeGroup(em)
  const owner = await makeUser(em, group, { name: 'Olivia Owner', accessLevel: 'Full Access', canViewHistory: true })
  const priya = await makeUser(em, group, { name: 'Dr Priya Nair', accessLevel: 'Practitioner' })
  const marcus = await makePatient(em, group.id, 'Marcus Nair')
  await happened(em, priya, fromLocalInput('2026-11-24T10:15', 'Australia/Sydney')!, { patientId: marcus })
  await happened(em, priya, fromLocalInput('2026-11-24T21:40', 'Australia/Sydney')!)
  await scanEverything(ctx)
  const baseUrl = await listen(ctx.app)

  t.test('when the owner acknowledges an alert with a note, then it shows as acknowledged and the badge counts one fewer, without leaving the page', async t => {
    const { page } = await openBrowser(t)
    await signInWithBrowser(page, baseUrl, owner.email, PASSWORD)
    const badge = page.locator('#alert-badge')
    t.equal(await badge.textContent(), '2', 'two open alerts in the top bar')
    await badge.click()
    await page.waitForURL(`${baseUrl}/settings/alerts`)
    const alert = page.locator('.alert-item', { hasText: 'Shared family name' })
    t.match(await alert.textContent(), 'Marcus Nair')

    await alert.getByRole('button', { name: 'Acknowledge' }).click()
    await alert.locator('.field-error').waitFor()
    t.match(await alert.locator('.field-error').textContent(), 'Write a note', 'a note is required')

    await alert.getByLabel('Note').fill('Priya looked up her father to book him in; reminded her of the policy.')
    await page.locator('.alert-item', { hasText: 'Shared family name' }).getByRole('button', { name: 'Acknowledge' }).click()
    await page.locator('.alert-item', { hasText: 'Shared family name' }).locator('.alert-acknowledgement').waitFor()
    t.match(await page.locator('.alert-item', { hasText: 'Shared family name' }).textContent(), 'reminded her of the policy')
    t.equal(await page.locator('#alert-badge').textContent(), '1', 'the badge went down in place')
    t.equal(page.url(), `${baseUrl}/settings/alerts`, 'the page stayed')

    await page.reload()
    t.equal(await page.locator('#alert-badge').textContent(), '1', 'and stays down after a reload')
  })
}
