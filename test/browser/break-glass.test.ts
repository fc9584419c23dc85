import t from 'tap'
import { build } from '../helpers/app.js'
import { chromiumAvailable, listen, openBrowser, signInWithBrowser } from '../helpers/browser.js'
import { actorAt } from '../helpers/subscriptions.js'
import { auditRows } from '../helpers/audit.js'
import { makePracticeGroup, makeUser } from '../../src/seed/factories.js'
import { PASSWORD } from '../helpers/agent.js'
import { createRecord } from '../../src/domain/practice-records/practice-records.service.js'
import { patientKind } from '../../src/domain/patients/patient.kind.js'
import { saveRestriction } from '../../src/domain/restricted-patients/restriction.js'

if (chromiumAvailable(t)) {
  const ctx = await build(t)
  const em = ctx.em()
  const group = await makePracticeGroup(em)
  const owner = await makeUser(em, group, { name: 'Olivia Owner', accessLevel: 'Full Access', canViewHistory: true })
  const priya = await makeUser(em, group, { name: 'Dr Priya Nair', accessLevel: 'Practitioner' })
  const now = ctx.clock.now()
  const ava = await em.transactional(tx => createRecord(tx, patientKind, actorAt(owner, now), owner, { name: 'Ava Nguyen', notes: 'Sees the counsellor on Tuesdays' }))
  await em.transactional(tx => saveRestriction(tx, actorAt(owner, now), { id: ava.id, name: 'Ava Nguyen' }, []))
  const baseUrl = await listen(ctx.app)

  t.test('when Dr Priya opens a restricted patient, then she gives a reason first, and going back or reloading within 30 minutes does not ask again', async t => {
    const { page } = await openBrowser(t)
    await signInWithBrowser(page, baseUrl, priya.email, PASSWORD)
    await page.goto(`${baseUrl}/patients`)
    await page.getByRole('link', { name: 'Ava Nguyen' }).click()
    await page.waitForURL(url => url.pathname === `/patients/${ava.id}/break-glass`)
    t.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Restricted patient: Ava Nguyen')
    t.notOk(await page.getByText('Sees the counsellor').count(), 'nothing of the record before a reason')

    await page.getByRole('radio', { name: 'Other' }).check()
    await page.getByRole('textbox', { name: /If other, why/ }).fill('Asked by the patient to check a referral')
    await page.getByRole('button', { name: 'Open the record' }).click()
    await page.waitForURL(`${baseUrl}/patients/${ava.id}`)
    t.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Patient: Ava Nguyen')
    t.ok(await page.getByText('Sees the counsellor on Tuesdays').isVisible())

    await page.goBack()
    await page.waitForLoadState('load')
    t.notOk(await page.getByRole('button', { name: 'Open the record' }).count(), 'back does not ask again')
    await page.goto(`${baseUrl}/patients/${ava.id}`)
    await page.reload()
    t.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Patient: Ava Nguyen', 'a reload shows the profile')

    const reasons = await auditRows(ctx.em(), group.id, "page = 'Break the glass'")
    t.same(reasons.map(r => r.description), ['Gave a reason to open patient Ava Nguyen: Other: Asked by the patient to check a referral'], 'one reason, recorded once')
  })
}
