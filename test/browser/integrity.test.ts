import t from 'tap'
import { build } from '../helpers/app.js'
import { chromiumAvailable, listen, openBrowser, signInWithBrowser } from '../helpers/browser.js'
import { PASSWORD } from '../helpers/agent.js'
import { addRecord } from '../helpers/history.js'
import { makePracticeGroup, makeUser, unique } from '../../src/seed/factories.js'
import { sealPracticeBefore } from '../../src/domain/chain/sealer.js'

if (chromiumAvailable(t)) {
  const ctx = await build(t)
  const baseUrl = await listen(ctx.app)

  for (const javaScriptEnabled of [true, false]) {
    t.test(`Olivia verifies the history's integrity from the group history page${javaScriptEnabled ? '' : ' (without JavaScript)'}`, async t => {
      const em = ctx.em()
      const group = await makePracticeGroup(em, { name: unique('Harbour') })
      const olivia = await makeUser(em, group, { name: 'Olivia Owner', accessLevel: 'Full Access', canViewHistory: true })
      for (let i = 0; i < 3; i++) await addRecord(em, olivia, { at: ctx.clock.now(), description: `Opened chart ${i}` })
      t.ok(await sealPracticeBefore(ctx.em(), group.id, new Date('9999-01-01T00:00:00Z'), ctx.clock.now()))
      const { page } = await openBrowser(t, { javaScriptEnabled })
      await signInWithBrowser(page, baseUrl, olivia.email, PASSWORD)
      await page.goto(`${baseUrl}/settings/users/history`)
      await page.getByRole('button', { name: 'Verify integrity' }).click()
      const result = page.getByRole('status').filter({ hasText: 'exactly as recorded' })
      await result.waitFor()
      t.match(await result.textContent(), /All \d+ records since \d\d\/\d\d\/\d{4} \d\d:\d\d are exactly as recorded\./)
      if (javaScriptEnabled) {
        t.equal(new URL(page.url()).pathname, '/settings/users/history', 'the result appears in place')
        t.equal(await page.getByRole('table').count(), 1, 'the history table is still there')
        await page.getByRole('button', { name: 'Verify integrity' }).click()
        await page.waitForFunction(() => !document.querySelector('#integrity button')?.hasAttribute('disabled'))
        t.equal(await page.getByRole('button', { name: 'Verify integrity' }).count(), 1, 'it can be run again in place')
      } else {
        t.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Verify integrity')
        await page.getByRole('link', { name: '‹ User Action History' }).click()
        t.equal(new URL(page.url()).pathname, '/settings/users/history')
      }
    })
  }
}
