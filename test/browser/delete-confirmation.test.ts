import t from 'tap'
import { build } from '../helpers/app.js'
import { chromiumAvailable, listen, openBrowser, signInWithBrowser } from '../helpers/browser.js'
import { PASSWORD, signedInAgent } from '../helpers/agent.js'
import { auditRows } from '../helpers/audit.js'
import { makeClinic } from '../helpers/clinic.js'
import { createdRecord } from '../helpers/records.js'
import { unique } from '../../src/seed/factories.js'
import { Patient } from '../../src/domain/patients/patient.entity.js'
import { Appointment } from '../../src/domain/appointments/appointment.entity.js'

if (chromiumAvailable(t)) {
  const ctx = await build(t)
  ctx.clock.set('2026-11-25T03:00:00Z')
  const baseUrl = await listen(ctx.app)
  const clinic = await makeClinic(ctx.em())
  const owner = await signedInAgent(ctx.app, clinic.owner.email)
  const newPatient = (name: string): Promise<number> => createdRecord(owner, '/patients', { name, dateOfBirth: '', phone: '', email: '', notes: '' })
  const deletionsOf = async (type: string, id: number): Promise<string[]> =>
    (await auditRows(ctx.em(), clinic.group.id, "action = 'delete' and record_type = ? and record_id = ?", [type, String(id)])).map(row => `${row.description} (${row.url})`)

  t.test('with JavaScript, deleting a patient asks in a dialog: Cancel keeps them, Delete removes them and is recorded as before', async t => {
    const name = unique('Ivy Dialog')
    const id = await newPatient(name)
    const { page } = await openBrowser(t)
    await signInWithBrowser(page, baseUrl, clinic.owner.email, PASSWORD)
    await page.goto(`${baseUrl}/patients/${id}`)

    await page.getByRole('button', { name: 'Delete this patient' }).click()
    const dialog = page.getByRole('dialog', { name: `Delete patient ${name}?` })
    t.ok(await dialog.isVisible(), 'a dialog asks')
    t.match(await dialog.textContent(), 'This cannot be undone.')
    t.match(new URL(page.url()).pathname, `/patients/${id}`, 'still on the profile')
    await dialog.getByRole('button', { name: 'Cancel' }).click()
    t.equal(await dialog.isVisible(), false, 'Cancel closes it')
    await page.reload()
    t.equal(await page.getByRole('heading', { name: `Patient: ${name}` }).count(), 1, 'and the patient is still there')
    t.equal(await ctx.em().count(Patient, { id }), 1)

    await page.getByRole('button', { name: 'Delete this patient' }).click()
    await Promise.all([page.waitForURL(`${baseUrl}/patients`), dialog.getByRole('button', { name: 'Delete patient' }).click()])
    t.match(await page.getByRole('status').textContent(), 'Patient deleted.')
    t.equal(await ctx.em().count(Patient, { id }), 0)
    t.same(await deletionsOf('patient', id), [`Deleted patient ${name} (/patients/${id}/delete)`], 'one deletion, recorded as it always was')
  })

  t.test('without JavaScript, deleting an appointment asks on a confirmation page: Cancel goes back, Delete removes it', async t => {
    const patientName = unique('Ava Page')
    const patientId = await newPatient(patientName)
    const id = await createdRecord(owner, '/appointments', {
      patientId: String(patientId), practitionerId: String(clinic.practitioner.id), startsAt: '2026-12-01T09:00', durationMinutes: '30', status: 'Booked', notes: ''
    })
    const { page } = await openBrowser(t, { javaScriptEnabled: false })
    await signInWithBrowser(page, baseUrl, clinic.owner.email, PASSWORD)
    await page.goto(`${baseUrl}/appointments/${id}`)

    await page.getByRole('button', { name: 'Delete this appointment' }).click()
    t.match(new URL(page.url()).pathname, `/appointments/${id}/delete`, 'a page of its own')
    t.match(await page.getByRole('heading', { level: 1 }).textContent(), `Delete appointment ${patientName} with ${clinic.practitioner.name} at 01/12/2026 09:00?`)
    t.equal(await page.getByText('This cannot be undone.').count(), 1)
    t.equal(await ctx.em().count(Appointment, { id }), 1, 'opening it deleted nothing')
    await page.getByRole('link', { name: 'Cancel' }).click()
    await page.waitForURL(`${baseUrl}/appointments/${id}`)
    t.equal(await ctx.em().count(Appointment, { id }), 1, 'Cancel keeps it')

    await page.getByRole('button', { name: 'Delete this appointment' }).click()
    await Promise.all([page.waitForURL(`${baseUrl}/appointments`), page.getByRole('button', { name: 'Delete appointment' }).click()])
    t.match(await page.getByRole('status').textContent(), 'Appointment deleted.')
    t.equal(await ctx.em().count(Appointment, { id }), 0)
    t.equal((await deletionsOf('appointment', id)).length, 1)
  })
}
