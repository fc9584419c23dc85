import t from 'tap'
import { build } from '../helpers/app.js'
import { signedInAgent, type Agent } from '../helpers/agent.js'
import { makeClinic } from '../helpers/clinic.js'
import { auditRows } from '../helpers/audit.js'

const RESTRICTED_NOTICE = 'Restricted patient: only the people named on the restriction open this record without giving a reason.'
const ctx = await build(t)
const clinic = await makeClinic(ctx.em())
const other = await makeClinic(ctx.em())
ctx.clock.set('2026-11-25T00:00:00Z')
const MINUTE = 60_000

async function created (agent: Agent, path: string, form: Record<string, string>): Promise<number> {
  await agent.get(`${path}/new`)
  const response = await agent.post(path, form)
  if (response.statusCode !== 303) throw new Error(`${path} was not created: ${response.statusCode} ${response.body}`)
  return Number(new RegExp(`${path}/(\\d+)`).exec(String(response.headers.location))![1])
}

/** Posts the restriction form as a browser would, one `openers` pair per ticked user. */
async function saveRestriction (agent: Agent, patientId: number, restricted: boolean, openerIds: number[]) {
  await agent.get(`/patients/${patientId}/restriction`)
  const pairs = [['_csrf', agent.csrfToken], ...(restricted ? [['restricted', 'on']] : []), ...openerIds.map(id => ['openers', String(id)])]
  return ctx.app.inject({
    method: 'POST', url: `/patients/${patientId}/restriction`, payload: new URLSearchParams(pairs).toString(),
    headers: { cookie: agent.cookieHeader, 'content-type': 'application/x-www-form-urlencoded' }
  })
}

async function giveReason (agent: Agent, patientId: number, form: Record<string, string>) {
  await agent.get(`/patients/${patientId}/break-glass`)
  return agent.post(`/patients/${patientId}/break-glass`, form)
}

const owner = await signedInAgent(ctx.app, clinic.owner.email)
const patient = (name: string, notes: string): Promise<number> =>
  created(owner, '/patients', { name, dateOfBirth: '1984-03-09', phone: '0400 111 222', email: `${name.split(' ')[0]!.toLowerCase()}@example.test`, notes })
const ava = await patient('Ava Nguyen', 'Ava-private-note')
const ben = await patient('Ben Okafor', 'Ben-private-note')
const appointment = await created(owner, '/appointments', {
  patientId: String(ava), practitionerId: String(clinic.practitioner.id), startsAt: '2026-11-26T09:00', durationMinutes: '30', status: 'Booked', notes: 'Ava-appointment-note'
})
const invoice = await created(owner, '/invoices', { patientId: String(ava), issueDate: '2026-11-25', description: 'Ava-invoice-item', amountCents: '85.00', status: 'Issued' })
const strangerOwner = await signedInAgent(ctx.app, other.owner.email)
const stranger = await created(strangerOwner, '/patients', { name: 'Other Practice Patient', notes: '' })

const AVA_PAGES = [`/patients/${ava}`, `/patients/${ava}/edit`, `/appointments/${appointment}`, `/appointments/${appointment}/edit`, `/invoices/${invoice}`,
  `/patients/${ava}/history`, `/appointments/${appointment}/history`, `/invoices/${invoice}/history`, `/patients/${ava}/history/export.csv`, `/invoices/${invoice}/history/activity`,
  `/patients/${ava}/access-report`, `/patients/${ava}/access-report.csv`]
const SECRETS = ['Ava-private-note', 'Ava-appointment-note', 'Ava-invoice-item', 'ava@example.test', '0400 111 222']

t.test('when a Full Access user marks a patient Restricted, then the practitioners with an appointment are named by default and the marking is recorded', async t => {
  const form = await owner.get(`/patients/${ava}/restriction`)
  t.equal(form.statusCode, 200)
  t.match(form.body, new RegExp(`id="opener-${clinic.practitioner.id}"[^>]*checked`), 'the practitioner with an appointment is ticked')
  t.notMatch(form.body, new RegExp(`id="opener-${clinic.reception.id}"[^>]*checked`))
  const saved = await saveRestriction(owner, ava, true, [clinic.practitioner.id])
  t.equal(saved.statusCode, 303)
  const [marked] = await auditRows(ctx.em(), clinic.group.id, "action = 'update' and page = 'Patient restriction'")
  t.match(marked, { record_type: 'patient', record_id: String(ava), description: `Marked patient Ava Nguyen Restricted; may open without a reason: ${clinic.practitioner.name}` })
  t.same(marked!.changes!.map(c => [c.field, c.beforeText, c.afterText]), [['restricted', 'No', 'Yes'], ['openers', '', clinic.practitioner.name]])
  t.match((await owner.get(`/patients/${ben}`)).body, 'Ben-private-note', 'other patients are not affected')
})

t.test('when someone not named opens the patient\'s profile, appointments, invoices or history, then each asks for a reason and shows nothing', async t => {
  for (const path of AVA_PAGES) {
    const response = await owner.get(path)
    t.equal(response.statusCode, 303, path)
    t.equal(response.headers.location, `/patients/${ava}/break-glass?${new URLSearchParams({ next: path })}`, path)
    t.notOk(SECRETS.some(secret => response.body.includes(secret)), `${path} shows nothing of the patient`)
  }
  const asked = await owner.get(`/patients/${ava}/break-glass?next=/appointments/${appointment}`)
  t.equal(asked.statusCode, 200)
  t.match(asked.body, 'Restricted patient: Ava Nguyen')
  for (const reason of ['Emergency care', 'Covering for a colleague', 'Billing query', 'Other']) t.match(asked.body, reason)
  t.notOk(SECRETS.some(secret => asked.body.includes(secret)))
})

t.test('when the practitioner with an appointment, or a named user, opens the patient, then no reason is asked', async t => {
  const practitioner = await signedInAgent(ctx.app, clinic.practitioner.email)
  for (const path of [`/patients/${ava}`, `/appointments/${appointment}`, `/invoices/${invoice}`, `/patients/${ava}/history`]) {
    t.equal((await practitioner.get(path)).statusCode, 200, path)
  }
  const named = (await practitioner.get(`/patients/${ava}`)).body
  t.match(named, 'Ava-private-note')
  t.match(named, RESTRICTED_NOTICE, 'the profile says the patient is restricted')
  const reception = await signedInAgent(ctx.app, clinic.reception.email)
  t.equal((await reception.get(`/invoices/${invoice}`)).statusCode, 303, 'reception is not named yet')
  t.equal((await saveRestriction(owner, ava, true, [clinic.practitioner.id, clinic.reception.id])).statusCode, 303)
  t.equal((await reception.get(`/invoices/${invoice}`)).statusCode, 200, 'once named, reception opens it')
  const [changed] = await auditRows(ctx.em(), clinic.group.id, "page = 'Patient restriction' and description like 'Changed who may open%'")
  t.equal(changed!.description, `Changed who may open restricted patient Ava Nguyen without a reason: added ${clinic.reception.name}`)
  t.equal((await saveRestriction(owner, ava, true, [clinic.practitioner.id])).statusCode, 303)
  t.equal((await reception.get(`/invoices/${invoice}`)).statusCode, 303, 'removed again, reception must give a reason')
})

t.test('when an htmx request or a form post reaches a restricted page without a reason, then it gets the reason page\'s address or a refusal, never the data', async t => {
  for (const path of [`/patients/${ava}`, `/patients/${ava}/history`, `/appointments/${appointment}/history?sort=date`]) {
    const response = await owner.get(path, { 'hx-request': 'true', 'hx-current-url': `http://localhost${path}` })
    t.equal(response.statusCode, 403, path)
    t.equal(response.headers['hx-redirect'], `/patients/${ava}/break-glass?${new URLSearchParams({ next: path })}`)
    t.match(response.body, 'give a reason')
    t.notOk(SECRETS.some(secret => response.body.includes(secret)), path)
  }
  const restored = await owner.get(`/patients/${ava}`, { 'hx-request': 'true', 'hx-history-restore-request': 'true' })
  t.equal(restored.statusCode, 303, 'a history restore is a full page: sent to the reason page')
  await owner.get('/patients')
  const edit = await owner.post(`/patients/${ava}`, { name: 'Ava Nguyen', notes: 'overwritten' })
  t.equal(edit.statusCode, 403)
  t.equal((await owner.post(`/appointments/${appointment}/delete`)).statusCode, 403)
  t.equal((await owner.post(`/invoices/${invoice}/delete`)).statusCode, 403)
  const [row] = await ctx.em().getConnection().execute('select notes from patients where id = ?', [ava])
  t.equal(row.notes, 'Ava-private-note', 'nothing was changed')
})

t.test('when a list names a restricted patient, then only the name shows until a reason is given', async t => {
  const reception = await signedInAgent(ctx.app, clinic.reception.email)
  const patients = await reception.get('/patients')
  t.match(patients.body, 'Ava Nguyen')
  t.notMatch(patients.body, 'ava@example.test')
  t.match(patients.body, 'ben@example.test', 'unrestricted patients show in full')
  const invoices = await reception.get('/invoices')
  t.match(invoices.body, 'Ava Nguyen')
  t.notMatch(invoices.body, 'Ava-invoice-item')
  t.notMatch((await reception.get('/appointments')).body, 'Ava-appointment-note')
  t.match((await (await signedInAgent(ctx.app, clinic.practitioner.email)).get('/invoices')).body, 'Ava-invoice-item', 'a named user sees the row in full')
})

t.test('when the reason form is incomplete, forged or sent without its token, then nothing opens', async t => {
  const locum = await signedInAgent(ctx.app, clinic.practitionerWithoutHistory.email)
  await locum.get(`/patients/${ava}/break-glass`)
  t.equal((await locum.post(`/patients/${ava}/break-glass`, { reason: 'emergency' }, { csrf: false })).statusCode, 403, 'no CSRF token')
  t.equal((await locum.post(`/patients/${ava}/break-glass`, {})).statusCode, 422, 'no reason')
  t.equal((await locum.post(`/patients/${ava}/break-glass`, { reason: 'curiosity' })).statusCode, 422, 'a reason not offered')
  const noText = await locum.post(`/patients/${ava}/break-glass`, { reason: 'other', details: '   ' })
  t.equal(noText.statusCode, 422)
  t.match(noText.body, 'Say why you need to open this patient.')
  t.equal((await locum.post(`/patients/${ava}/break-glass`, { reason: 'other', details: 'x'.repeat(201) })).statusCode, 422, 'too long')
  t.equal((await locum.post(`/patients/${ava}/break-glass`, { reason: 'other', details: 'x'.repeat(6000) })).statusCode, 400, 'far too long')
  t.equal((await locum.get(`/patients/${ava}`)).statusCode, 303, 'still closed')
  const given = await auditRows(ctx.em(), clinic.group.id, "page = 'Break the glass' and user_id = ?", [clinic.practitionerWithoutHistory.id])
  t.same(given, [], 'no reason was recorded')

  const otherOwner = await signedInAgent(ctx.app, other.owner.email)
  t.equal((await otherOwner.get(`/patients/${ava}/break-glass`)).statusCode, 404, "another practice's patient")
  t.equal((await locum.get(`/patients/${stranger}/break-glass`)).statusCode, 404)
  t.equal((await locum.post(`/patients/${stranger}/break-glass`, { reason: 'emergency' })).statusCode, 404)
  t.equal((await locum.get(`/patients/${stranger}/restriction`)).statusCode, 403, 'only Full Access users manage restrictions')
  t.equal((await owner.get(`/patients/${stranger}/restriction`)).statusCode, 404)
  t.equal((await owner.get('/patients/1e2/break-glass')).statusCode, 404)
})

t.test('when a reason is given, then it is recorded and opens that patient, in that session, for 30 minutes', async t => {
  const locum = await signedInAgent(ctx.app, clinic.practitionerWithoutHistory.email)
  t.equal((await saveRestriction(owner, ben, true, [])).statusCode, 303)
  const given = await giveReason(locum, ava, { reason: 'other', details: 'Covering the  phone line', next: `/appointments/${appointment}` })
  t.equal(given.statusCode, 303)
  t.equal(given.headers.location, `/appointments/${appointment}`)
  const [recorded] = await auditRows(ctx.em(), clinic.group.id, "page = 'Break the glass' and user_id = ?", [clinic.practitionerWithoutHistory.id])
  t.match(recorded, { action: 'view', record_type: 'patient', record_id: String(ava), description: 'Gave a reason to open patient Ava Nguyen: Other: Covering the phone line' })
  const [{ patient_id: patientId }] = await ctx.em().getConnection().execute('select patient_id from audit_records where id = ?', [recorded!.id])
  t.equal(patientId, ava)

  for (const path of [`/patients/${ava}`, `/appointments/${appointment}`, `/invoices/${invoice}`]) t.equal((await locum.get(path)).statusCode, 200, path)
  const opened = (await locum.get(`/patients/${ava}`)).body
  t.match(opened, 'Ava-private-note')
  t.match(opened, RESTRICTED_NOTICE, 'opened with a reason, the profile still says the patient is restricted')
  t.equal((await locum.get(`/patients/${ben}`)).statusCode, 303, 'a reason for Ava does not open Ben')
  const reused = await locum.post(`/patients/${ava}/break-glass`, { reason: 'emergency', next: `/patients/${ben}` })
  t.equal(reused.headers.location, `/patients/${ben}`, 'a reason form for Ava leading to Ben')
  t.equal((await locum.get(`/patients/${ben}`)).statusCode, 303, 'still does not open Ben')
  const secondSession = await signedInAgent(ctx.app, clinic.practitionerWithoutHistory.email)
  t.equal((await secondSession.get(`/patients/${ava}`)).statusCode, 303, 'another session of the same user must give its own reason')

  ctx.clock.advance(29 * MINUTE)
  t.equal((await locum.get(`/invoices/${invoice}`)).statusCode, 200, 'still open after 29 minutes')
  ctx.clock.advance(2 * MINUTE)
  t.equal((await locum.get(`/invoices/${invoice}`)).statusCode, 303, 'asked again after 30 minutes')
  const htmx = await locum.get(`/patients/${ava}`, { 'hx-request': 'true' })
  t.equal(htmx.statusCode, 403, 'an expired reason does not open an htmx request either')
})

t.test('when someone who need not give a reason posts one anyway, then nothing is recorded', async t => {
  const practitioner = await signedInAgent(ctx.app, clinic.practitioner.email)
  const before = await auditRows(ctx.em(), clinic.group.id, "page = 'Break the glass'")
  const response = await giveReason(practitioner, ava, { reason: 'emergency' })
  t.equal(response.statusCode, 303)
  t.same(await auditRows(ctx.em(), clinic.group.id, "page = 'Break the glass'"), before)
})

t.test('when someone without Full Access tries to change a restriction, then it is refused and recorded as denied', async t => {
  const practitioner = await signedInAgent(ctx.app, clinic.practitioner.email)
  const refused = await practitioner.post(`/patients/${ava}/restriction`, {})
  t.equal(refused.statusCode, 403)
  const denied = await auditRows(ctx.em(), clinic.group.id, "action = 'denied' and user_id = ?", [clinic.practitioner.id])
  t.match(denied.at(-1)!.description, `POST /patients/${ava}/restriction`)
  const admin = await signedInAgent(ctx.app, clinic.owner.email)
  t.equal((await saveRestriction(admin, ava, true, [999999, other.practitioner.id])).statusCode, 422, 'a user who is not in the practice cannot be named')
})

t.test('when the restriction is lifted, then it is recorded and the patient opens without a reason', async t => {
  const admin = await signedInAgent(ctx.app, clinic.owner.email)
  t.equal((await saveRestriction(admin, ava, false, [clinic.practitioner.id])).statusCode, 303)
  const [lifted] = await auditRows(ctx.em(), clinic.group.id, "page = 'Patient restriction' and description like 'Lifted%'")
  t.match(lifted, { action: 'update', description: 'Lifted the restriction on patient Ava Nguyen' })
  t.same(lifted!.changes!.map(c => c.field), ['restricted', 'openers'])
  const locum = await signedInAgent(ctx.app, clinic.practitionerWithoutHistory.email)
  const unrestricted = await locum.get(`/patients/${ava}`)
  t.equal(unrestricted.statusCode, 200)
  t.notMatch(unrestricted.body, RESTRICTED_NOTICE, 'the profile no longer says restricted')
  const unchanged = await saveRestriction(admin, ava, false, [])
  t.equal(unchanged.statusCode, 303)
  t.equal((await auditRows(ctx.em(), clinic.group.id, "page = 'Patient restriction' and action = 'update'")).length, 5, 'saving no change records nothing')
})

t.test('when a save or an htmx request is refused for want of a reason, or a refused new invoice names a patient, then each is recorded as denied with the patient', async t => {
  const manager = await signedInAgent(ctx.app, clinic.owner.email)
  const cara = await created(manager, '/patients', { name: 'Cara Refused', dateOfBirth: '1977-07-07', phone: '0400 777 777', email: 'cara@example.test', notes: 'Cara-private-note' })
  t.equal((await saveRestriction(manager, cara, true, [])).statusCode, 303)
  const deniedFor = async (): Promise<number> => (await auditRows(ctx.em(), clinic.group.id, "action = 'denied' and record_type = 'patient' and record_id = ?", [String(cara)])).length
  const before = await deniedFor()
  const fragment = await manager.get(`/patients/${cara}`, { 'hx-request': 'true' })
  t.equal(fragment.statusCode, 403)
  await manager.get(`/patients/${cara}/edit`)
  const save = await manager.post(`/patients/${cara}`, { name: 'Cara Overwritten', dateOfBirth: '1977-07-07', phone: '', email: '', notes: '' })
  t.equal(save.statusCode, 403)
  t.equal(await deniedFor(), before + 2, 'the htmx request and the save are both on record')

  const practitioner = await signedInAgent(ctx.app, clinic.practitioner.email)
  await practitioner.get('/invoices/new')
  const invoice = await practitioner.post('/invoices', { patientId: String(ben), issueDate: '2026-11-25', description: 'Forged', amountCents: '10.00', status: 'Issued' })
  t.equal(invoice.statusCode, 403)
  const [refused] = (await auditRows(ctx.em(), clinic.group.id, "action = 'denied' and record_type = 'invoice' and user_id = ?", [clinic.practitioner.id])).slice(-1)
  const [{ patient_id: named }] = await ctx.em().getConnection().execute<{ patient_id: number }[]>('select patient_id from audit_records where id = ?', [refused!.id])
  t.equal(named, ben, 'the refused invoice names the patient it was for')
})

t.test('when someone without a reason reads the group history, its exports or searches it, then a restricted patient\'s records show without their details', async t => {
  const manager = await signedInAgent(ctx.app, clinic.owner.email)
  const dora = await created(manager, '/patients', { name: 'Dora Withheld', dateOfBirth: '1966-06-06', phone: '0400 666 666', email: 'dora@example.test', notes: 'Dora-secret-diagnosis' })
  t.equal((await saveRestriction(manager, dora, true, [])).statusCode, 303)
  const reader = await signedInAgent(ctx.app, clinic.owner.email)
  const byId = `/settings/users/history?${new URLSearchParams({ id: String(dora) })}`
  const fragment = await reader.get(byId, { 'hx-request': 'true' })
  t.equal(fragment.statusCode, 200)
  t.notMatch(fragment.body, 'Dora-secret-diagnosis')
  t.match(fragment.body, 'Details withheld: this patient is restricted.')
  for (const format of ['csv', 'ndjson', 'fhir.ndjson']) {
    const exported = await reader.get(`/settings/users/history/export.${format}?${new URLSearchParams({ id: String(dora) })}`)
    t.equal(exported.statusCode, 200, format)
    t.notMatch(exported.body, 'Dora-secret-diagnosis', `${format} withholds the details`)
    t.match(exported.body, 'Details withheld', format)
  }
  const searched = await reader.get(`/settings/users/history?${new URLSearchParams({ description: 'secret-diagnosis' })}`, { 'hx-request': 'true' })
  t.notMatch(searched.body, 'Dora Withheld', 'a search in the text passes over the withheld records')

  await reader.get(`/patients/${dora}/break-glass`)
  t.equal((await giveReason(reader, dora, { reason: 'billing' })).statusCode, 303)
  t.match((await reader.get(byId, { 'hx-request': 'true' })).body, 'Dora-secret-diagnosis', 'with a reason given, the details show')
})

t.test('when someone moves an appointment onto a restricted patient without a reason, then it is refused and the appointment stays where it was', async t => {
  const manager = await signedInAgent(ctx.app, clinic.owner.email)
  const eve = await created(manager, '/patients', { name: 'Eve Moved-Onto', dateOfBirth: '1955-05-05', phone: '0400 555 555', email: 'eve@example.test', notes: '' })
  t.equal((await saveRestriction(manager, eve, true, [])).statusCode, 303)
  const form = { practitionerId: String(clinic.practitioner.id), startsAt: '2026-11-27T09:00', durationMinutes: '30', status: 'Booked', notes: '' }
  const bens = await created(manager, '/appointments', { ...form, patientId: String(ben) })
  const reception = await signedInAgent(ctx.app, clinic.reception.email)
  await reception.get(`/appointments/${bens}/edit`)
  const moved = await reception.post(`/appointments/${bens}`, { ...form, patientId: String(eve) })
  t.equal(moved.statusCode, 403)
  const [row] = await ctx.em().getConnection().execute<{ patient_id: number }[]>('select patient_id from appointments where id = ?', [bens])
  t.equal(row!.patient_id, ben, 'still Ben\'s')
})

t.test('when a signed-in user is shown a page, then the browser is told not to keep it', async t => {
  const manager = await signedInAgent(ctx.app, clinic.owner.email)
  const page = await manager.get('/patients')
  t.equal(page.statusCode, 200)
  t.equal(page.headers['cache-control'], 'no-store')
  t.notOk((await ctx.app.inject({ method: 'GET', url: '/public/app.css' })).headers['cache-control'] === 'no-store', 'assets may still be kept')
})
