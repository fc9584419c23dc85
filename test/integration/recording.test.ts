import t from 'tap'
import { build } from '../helpers/app.js'
import { Agent, PASSWORD, signedInAgent } from '../helpers/agent.js'
import { makeClinic } from '../helpers/clinic.js'
import { auditCount, auditRows } from '../helpers/audit.js'
import { Patient } from '../../src/domain/patients/patient.entity.js'
import { Appointment } from '../../src/domain/appointments/appointment.entity.js'

const ctx = await build(t)
const clinic = await makeClinic(ctx.em())
const other = await makeClinic(ctx.em())
ctx.clock.set('2026-11-25T00:00:00Z')

const signedIn = (email: string, ip?: string): Promise<Agent> => signedInAgent(ctx.app, email, ip)

async function newPatient (agent: Agent, name: string): Promise<number> {
  await agent.get('/patients/new')
  const response = await agent.post('/patients', { name, dateOfBirth: '1980-04-02', phone: '0400 000 000', email: 'p@example.test', notes: '' })
  return Number(/\/patients\/(\d+)/.exec(String(response.headers.location))![1])
}

t.test('when a receptionist opens a patient profile, then one view is recorded with who, where from and what', async t => {
  const reception = await signedIn(clinic.reception.email, '198.51.100.23')
  const id = await newPatient(reception, 'Grace View-Test')
  const before = await auditCount(ctx.em(), clinic.group.id)
  const page = await reception.get(`/patients/${id}?tab=info`)
  t.equal(page.statusCode, 200)
  const rows = await auditRows(ctx.em(), clinic.group.id, 'id > (select max(id) - 1 from audit_records where practice_group_id = ?)', [clinic.group.id])
  t.equal(await auditCount(ctx.em(), clinic.group.id), before + 1)
  const view = rows.at(-1)!
  t.match(view, {
    user_id: clinic.reception.id, user_name: clinic.reception.name, action: 'view', page: 'Patient profile',
    record_type: 'patient', record_id: String(id), url: `/patients/${id}?tab=info`, ip: '198.51.100.23'
  })
  t.match(view.description, 'Grace View-Test')
})

t.test('when an appointment is moved and marked arrived, then the update says what changed in the practice time zone', async t => {
  const owner = await signedIn(clinic.owner.email)
  const patientId = await newPatient(owner, 'Harriet Move')
  await owner.get('/appointments/new')
  const created = await owner.post('/appointments', {
    patientId: String(patientId), practitionerId: String(clinic.practitioner.id), startsAt: '2026-11-25T10:00', durationMinutes: '30', status: 'Booked', notes: ''
  })
  t.equal(created.statusCode, 303)
  const id = Number(/\/appointments\/(\d+)/.exec(String(created.headers.location))![1])
  const stored = await ctx.em().findOneOrFail(Appointment, { id })
  t.equal(stored.startsAt.toISOString(), '2026-11-24T23:00:00.000Z', '10:00 in Sydney (daylight time) is 23:00 UTC')

  await owner.get(`/appointments/${id}/edit`)
  const updated = await owner.post(`/appointments/${id}`, {
    patientId: String(patientId), practitionerId: String(clinic.practitioner.id), startsAt: '2026-11-25T11:00', durationMinutes: '30', status: 'Arrived', notes: ''
  })
  t.equal(updated.statusCode, 303)
  const [update] = await auditRows(ctx.em(), clinic.group.id, "action = 'update' and record_type = 'appointment' and record_id = ?", [String(id)])
  t.match(update!.description, 'Start: 25/11/2026 10:00 → 11:00; Status: Booked → Arrived')
  t.match(update!.description, clinic.practitioner.name, 'names, not ids')
  t.same(update!.changes!.map(c => c.field), ['startsAt', 'status'])
  t.equal(update!.changes![1]!.before, 'Booked')
  t.equal(update!.changes![1]!.after, 'Arrived')

  const unchanged = await owner.post(`/appointments/${id}`, {
    patientId: String(patientId), practitionerId: String(clinic.practitioner.id), startsAt: '2026-11-25T11:00', durationMinutes: '30', status: 'Arrived', notes: ''
  })
  t.equal(unchanged.statusCode, 303)
  const updates = await auditRows(ctx.em(), clinic.group.id, "action = 'update' and record_id = ?", [String(id)])
  t.equal(updates.length, 1, 'saving without changes records nothing')
})

t.test('when a patient is created and deleted, then both are recorded and the delete keeps what was removed', async t => {
  const owner = await signedIn(clinic.owner.email)
  const id = await newPatient(owner, 'Ivy Delete')
  await owner.get(`/patients/${id}`)
  const deleted = await owner.post(`/patients/${id}/delete`)
  t.equal(deleted.statusCode, 303)
  t.equal(await ctx.em().count(Patient, { id }), 0)
  const rows = await auditRows(ctx.em(), clinic.group.id, 'record_type = ? and record_id = ?', ['patient', String(id)])
  t.same(rows.map(r => r.action), ['create', 'view', 'delete'])
  t.match(rows[2]!.description, 'Deleted patient Ivy Delete')
  t.ok(rows[2]!.changes!.some(c => c.field === 'dateOfBirth' && c.beforeText === '02/04/1980'))
})

t.test('when a patient still has appointments, then deleting them is refused with a clear message', async t => {
  const owner = await signedIn(clinic.owner.email)
  const patientId = await newPatient(owner, 'Jack Busy')
  await owner.post('/appointments', { patientId: String(patientId), practitionerId: String(clinic.owner.id), startsAt: '2026-12-01T09:00', durationMinutes: '15', status: 'Booked' })
  const response = await owner.post(`/patients/${patientId}/delete`)
  t.equal(response.statusCode, 409)
  t.match(response.body, 'still has appointments or invoices')
  t.equal(await ctx.em().count(Patient, { id: patientId }), 1)
})

t.test('when people sign in, fail and sign out, then each event is recorded for the account', async t => {
  const agent = new Agent(ctx.app, '192.0.2.55')
  await agent.signIn(clinic.practitioner.email, 'Tr0ub4dor&3-guess')
  await agent.signIn(clinic.practitioner.email, PASSWORD)
  await agent.get('/patients')
  await agent.post('/logout')
  const rows = await auditRows(ctx.em(), clinic.group.id, "user_id = ? and action in ('login', 'logout', 'login_failed')", [clinic.practitioner.id])
  t.same(rows.slice(-3).map(r => r.action), ['login_failed', 'login', 'logout'])
  t.ok(rows.every(r => r.ip === '192.0.2.55'))
  t.notMatch(JSON.stringify(rows), 'Tr0ub4dor', 'no password is ever stored')
})

t.test('when the User Action History permission is ticked, then the change is recorded on that user', async t => {
  const owner = await signedIn(clinic.owner.email)
  await owner.get(`/settings/users/${clinic.practitionerWithoutHistory.id}/edit`)
  await owner.post(`/settings/users/${clinic.practitionerWithoutHistory.id}`, { accessLevel: 'Practitioner', active: 'on', canViewHistory: 'on' })
  const [row] = await auditRows(ctx.em(), clinic.group.id, "action = 'update' and record_type = 'user' and record_id = ?", [String(clinic.practitionerWithoutHistory.id)])
  t.match(row!.description, 'User Action History: Off → On')
  t.equal(row!.user_id, clinic.owner.id)
})

t.test('when a request claims X-Forwarded-For without a trusted proxy, then the real address is recorded', async t => {
  const agent = await signedIn(clinic.owner.email, '203.0.113.77')
  const id = await newPatient(agent, 'Kim Proxy')
  await agent.get(`/patients/${id}`, { 'x-forwarded-for': '6.6.6.6' })
  const rows = await auditRows(ctx.em(), clinic.group.id, "action = 'view' and record_id = ?", [String(id)])
  t.equal(rows.at(-1)!.ip, '203.0.113.77')
})

t.test('when TRUST_PROXY names the proxy, then the forwarded client address is recorded', async t => {
  const proxied = await build(t, { TRUST_PROXY: '10.1.2.3' })
  const practice = await makeClinic(proxied.em())
  const agent = new Agent(proxied.app, '10.1.2.3')
  await agent.get('/login', { 'x-forwarded-for': '198.51.100.99' })
  await agent.post('/login', { email: practice.owner.email, password: PASSWORD }, { headers: { 'x-forwarded-for': '198.51.100.99' } })
  const [login] = await auditRows(proxied.em(), practice.group.id, "action = 'login'")
  t.equal(login!.ip, '198.51.100.99')
})

t.test("when someone opens or changes another practice's record, then it is 404 and nothing is recorded for it", async t => {
  const outsider = await signedIn(other.owner.email)
  const owner = await signedIn(clinic.owner.email)
  const id = await newPatient(owner, 'Liam Private')
  const before = await auditCount(ctx.em(), clinic.group.id)
  t.equal((await outsider.get(`/patients/${id}`)).statusCode, 404)
  t.equal((await outsider.post(`/patients/${id}`, { name: 'Hacked' })).statusCode, 404)
  t.equal((await outsider.post(`/patients/${id}/delete`)).statusCode, 404)
  t.equal(await auditCount(ctx.em(), clinic.group.id), before)
  t.equal((await ctx.em().findOneOrFail(Patient, { id })).name, 'Liam Private')
})

t.test('when an appointment names a practitioner or patient of another practice, then the form says so', async t => {
  const owner = await signedIn(clinic.owner.email)
  const patientId = await newPatient(owner, 'Mae Refs')
  const response = await owner.post('/appointments', { patientId: String(patientId), practitionerId: String(other.practitioner.id), startsAt: '2026-12-01T09:00', durationMinutes: '30', status: 'Booked' })
  t.equal(response.statusCode, 422)
  t.match(response.body, 'Choose an active practitioner of this practice.')
})

t.test('when forms hold impossible values, then each gets a message and nothing is saved', async t => {
  const owner = await signedIn(clinic.owner.email)
  const before = await auditCount(ctx.em(), clinic.group.id)
  const patient = await owner.post('/patients', { name: '', dateOfBirth: '2026-02-30', phone: 'call me', email: 'nope' })
  t.equal(patient.statusCode, 422)
  for (const message of ['Enter name.', 'Date of birth must be a real date.', 'Enter a phone number', 'Enter an email address']) t.match(patient.body, message)
  const invoice = await owner.post('/invoices', { patientId: 'x', issueDate: '2026-13-01', description: 'x', amountCents: '-5', status: 'Lost' })
  t.equal(invoice.statusCode, 422)
  t.match(invoice.body, 'Amount must be an amount of 0 or more')
  t.equal(await auditCount(ctx.em(), clinic.group.id), before)
})

t.test('when roles meet invoices, then Practitioners only read, Reception cannot void, Full Access can', async t => {
  const owner = await signedIn(clinic.owner.email)
  const patientId = await newPatient(owner, 'Nina Billing')
  const invoice = { patientId: String(patientId), issueDate: '2026-11-20', description: 'Consultation', amountCents: '95.50', status: 'Issued' }
  const created = await owner.post('/invoices', invoice)
  const id = Number(/\/invoices\/(\d+)/.exec(String(created.headers.location))![1])

  const practitioner = await signedIn(clinic.practitioner.email)
  t.equal((await practitioner.get(`/invoices/${id}`)).statusCode, 200)
  t.equal((await practitioner.post(`/invoices/${id}`, { ...invoice, status: 'Paid' })).statusCode, 403)
  const reception = await signedIn(clinic.reception.email)
  t.equal((await reception.post(`/invoices/${id}`, { ...invoice, status: 'Void' })).statusCode, 403)
  t.equal((await reception.post(`/invoices/${id}`, { ...invoice, status: 'Paid' })).statusCode, 303)
  t.equal((await owner.post(`/invoices/${id}`, { ...invoice, status: 'Void' })).statusCode, 303)
  t.equal((await owner.post(`/invoices/${id}/delete`)).statusCode, 403, 'a voided invoice is kept, not deleted')
  const rows = await auditRows(ctx.em(), clinic.group.id, "record_type = 'invoice' and record_id = ? and action = 'update'", [String(id)])
  t.same(rows.map(r => r.description.split(': ').slice(1).join(': ')), ['Status: Issued → Paid', 'Status: Paid → Void'])
  t.match(rows[0]!.user_name, clinic.reception.name)
})

t.test('when patients are listed and searched, then the list is paginated and the search is recorded', async t => {
  const owner = await signedIn(clinic.owner.email)
  const list = await owner.get('/patients?q=Nina')
  t.equal(list.statusCode, 200)
  t.match(list.body, 'Nina Billing')
  t.match(list.body, '1 patient matches', 'one match, in the singular')
  t.notMatch(list.body, 'Mae Refs')
  const [row] = (await auditRows(ctx.em(), clinic.group.id, "page = 'Patients'")).slice(-1)
  t.match(row!.description, 'searching for "Nina"')
  t.equal((await owner.get('/patients?page=0')).statusCode, 400)
  t.equal((await owner.get('/patients?page=9999')).statusCode, 200, 'a page past the end shows the last page')
})

t.test('when many profiles are opened at the same moment, then every view is recorded once and they are committed together', async t => {
  const owner = await signedIn(clinic.owner.email)
  const reception = await signedIn(clinic.reception.email)
  const id = await newPatient(owner, 'Rush Hour-Patient')
  const views = Array.from({ length: 40 }, (_, i) => ({ agent: i % 2 ? owner : reception, url: `/patients/${id}?rush=${i}` }))
  const pages = await Promise.all(views.map(v => v.agent.get(v.url)))
  t.same(pages.map(p => p.statusCode), views.map(() => 200), 'every profile was shown')
  const rows = await ctx.em().getConnection().execute<{ url: string, user_id: number, tx_id: string }[]>(
    "select url, user_id, tx_id::text from audit_records where practice_group_id = ? and url like ?", [clinic.group.id, `/patients/${id}?rush=%`])
  t.same(rows.map(r => r.url).sort(), views.map(v => v.url).sort(), 'one record per view, none lost, none twice')
  for (const row of rows) {
    const view = views.find(v => v.url === row.url)!
    t.equal(row.user_id, view.agent === owner ? clinic.owner.id : clinic.reception.id, `${row.url} is recorded for the person who opened it`)
  }
  t.ok(new Set(rows.map(r => r.tx_id)).size < views.length, `${views.length} views took ${new Set(rows.map(r => r.tx_id)).size} commits`)
})
