import t from 'tap'
import { extractText, getDocumentProxy } from 'unpdf'
import { build } from '../helpers/app.js'
import { chromiumAvailable, listen, openBrowser, signInWithBrowser } from '../helpers/browser.js'
import { PASSWORD } from '../helpers/agent.js'
import { addRecord } from '../helpers/history.js'
import { makePracticeGroup, makeUser } from '../../src/seed/factories.js'
import { Patient } from '../../src/domain/patients/patient.entity.js'
import type { Action } from '../../src/domain/audit-records/record.js'
import type { User } from '../../src/domain/users/user.entity.js'

/** A4 in PostScript points, as a PDF measures its pages (Chromium rounds it to whole pixels, within a point of this). */
const A4 = { width: 595.28, height: 841.89 }

if (chromiumAvailable(t)) {
  const ctx = await build(t)
  ctx.clock.set('2026-11-25T03:00:00Z') // 14:00 in Sydney
  const em = ctx.em()
  const group = await makePracticeGroup(em, { name: 'Harbour Family Practice' })
  const olivia = await makeUser(em, group, { name: 'Olivia Owner', accessLevel: 'Full Access', canViewHistory: true })
  const sam = await makeUser(em, group, { name: 'Dr Sam Lee', accessLevel: 'Practitioner', canViewHistory: true })
  const riley = await makeUser(em, group, { name: 'Riley Reception', accessLevel: 'Reception' })
  const ava = em.create(Patient, { practiceGroupId: group.id, name: 'Ava Nguyen', dateOfBirth: '1984-03-09' })
  await em.flush()

  const hoursAgo = (hours: number): Date => new Date(ctx.clock.now().getTime() - hours * 3_600_000)
  const seeded: [User, number, Action, string][] = [
    [sam, 70, 'view', 'Patient profile'], [sam, 50, 'view', 'Patient profile'], [sam, 49, 'update', 'Appointment'], [sam, 26, 'view', 'Patient profile'],
    [riley, 30, 'view', 'Invoice'], [riley, 29, 'denied', 'Access check']
  ]
  for (const [user, hours, action, page] of seeded) {
    await addRecord(em, user, { at: hoursAgo(hours), action, page, recordType: 'patient', recordId: String(ava.id), patientId: ava.id, description: `${action} on ${page}` })
  }

  const baseUrl = await listen(ctx.app)
  const { context, page } = await openBrowser(t)
  const violations: string[] = []
  page.on('console', message => { if (/Content Security Policy/.test(message.text())) violations.push(message.text()) })

  async function signInAs (user: User): Promise<void> {
    await context.clearCookies()
    await signInWithBrowser(page, baseUrl, user.email, PASSWORD)
  }

  /** The text of a PDF, whitespace collapsed, and the size of its first page. */
  async function readPdf (pdf: Buffer): Promise<{ text: string, width: number, height: number, pages: number }> {
    const document = await getDocumentProxy(new Uint8Array(pdf))
    const { totalPages, text } = await extractText(document, { mergePages: true })
    const { width, height } = (await document.getPage(1)).getViewport({ scale: 1 })
    return { text: text.replace(/\s+/g, ' '), width, height, pages: totalPages }
  }

  t.test('Olivia opens the access report from the patient\'s profile and prints it to an A4 PDF with everyone\'s accesses counted', async t => {
    await signInAs(olivia)
    await page.goto(`${baseUrl}/patients/${ava.id}`)
    await page.getByRole('link', { name: 'Access report' }).click()
    await page.waitForURL(`${baseUrl}/patients/${ava.id}/access-report`)
    t.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Access report: Ava Nguyen')
    t.ok(await page.getByRole('button', { name: 'Print' }).isVisible(), 'a Print button, with JavaScript')

    await page.emulateMedia({ media: 'print' })
    t.notOk(await page.getByRole('navigation', { name: 'Main' }).isVisible(), 'no navigation in print')
    t.notOk(await page.getByRole('button', { name: 'Produce report' }).isVisible(), 'no period form in print')
    t.notOk(await page.getByRole('link', { name: 'Download CSV' }).isVisible(), 'no download link in print')
    await page.emulateMedia({ media: null })

    const pdf = await readPdf(await page.pdf({ format: 'A4' }))
    t.ok(Math.abs(pdf.width - A4.width) < 2 && Math.abs(pdf.height - A4.height) < 2, `A4 pages (${pdf.width} × ${pdf.height} points)`)
    for (const fact of [
      'Access report: Ava Nguyen', 'Practice Harbour Family Practice', 'Patient Ava Nguyen, born 09/03/1984', 'Period 18/11/2026 14:00 to 25/11/2026 14:00',
      'Time zone Australia/Sydney', 'Produced 25/11/2026 14:00 by Olivia Owner (Full Access)', 'Summary: 7 accesses by 3 people'
    ]) t.match(pdf.text, fact, `the document says "${fact}"`)
    t.match(pdf.text, 'Page 1 of 1', 'numbered pages')
    t.match(pdf.text, 'Person First access Last access View Update Denied Total', 'a count per action and a total')
    t.match(pdf.text, 'Dr Sam Lee 22/11/2026 16:00:00 24/11/2026 12:00:00 3 1 0 4')
    t.match(pdf.text, 'Olivia Owner 25/11/2026 14:00:00 25/11/2026 14:00:00 1 0 0 1', 'opening the profile just now')
    t.match(pdf.text, 'Riley Reception 24/11/2026 08:00:00 24/11/2026 09:00:00 1 0 1 2')
    t.match(pdf.text, 'All 5 1 1 7')
    t.match(pdf.text, '24/11/2026 09:00:00 Denied Access check', 'each access listed, the denied attempt too')
    for (const chrome of ['Sign out', 'Settings', 'Produce report', 'Download CSV', 'Back to the patient']) t.notMatch(pdf.text, chrome, `no "${chrome}" in print`)
  })

  t.test('Dr Sam Lee\'s printed report lists only his own accesses', async t => {
    await signInAs(sam)
    await page.goto(`${baseUrl}/patients/${ava.id}/access-report?from=2026-11-22&to=2026-11-23`)
    const pdf = await readPdf(await page.pdf({ format: 'A4' }))
    t.match(pdf.text, 'Period 22/11/2026 00:00 to 23/11/2026 23:59')
    t.match(pdf.text, 'Only the accesses of Dr Sam Lee')
    t.match(pdf.text, 'Dr Sam Lee 22/11/2026 16:00:00 23/11/2026 13:00:00 2 1 3')
    t.notMatch(pdf.text, 'Riley Reception')
    t.notMatch(pdf.text, 'Olivia Owner')
  })

  t.test('the report\'s stylesheet and script keep to the content security policy', async t => {
    t.same(violations, [])
  })
}
