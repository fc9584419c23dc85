import t from 'tap'
import pg from 'pg'
import { randomUUID } from 'node:crypto'
import { build } from '../helpers/app.js'
import { signedInAgent } from '../helpers/agent.js'
import { makeClinic } from '../helpers/clinic.js'
import { createdRecord } from '../helpers/records.js'
import { migrate } from '../../src/db/orm.js'
import { dropDatabase, ensureDatabase } from '../../src/db/databases.js'
import { sealPracticeBefore } from '../../src/domain/chain/sealer.js'
import { verifyPracticeChain } from '../../src/domain/chain/chain.service.js'

const ctx = await build(t)
const clinic = await makeClinic(ctx.em())
const other = await makeClinic(ctx.em())
ctx.clock.set('2026-11-25T00:00:00Z')

interface Row { id: string, action: string, outcome: string, record_type: string | null, record_id: string | null, patient_id: number | null, description: string }

async function rowsOf (practiceGroupId: number, where: string, params: unknown[] = []): Promise<Row[]> {
  return ctx.em().getConnection().execute<Row[]>(
    `select id, action, outcome, record_type, record_id, patient_id, description from audit_records where practice_group_id = ? and (${where}) order by id`,
    [practiceGroupId, ...params])
}

const owner = await signedInAgent(ctx.app, clinic.owner.email)
const patientId = await createdRecord(owner, '/patients', { name: 'Ava Nguyen', dateOfBirth: '1984-03-09', phone: '0400 111 222', email: 'ava@example.test', notes: '' })
const appointmentId = await createdRecord(owner, '/appointments', {
  patientId: String(patientId), practitionerId: String(clinic.practitioner.id), startsAt: '2026-11-26T09:00', durationMinutes: '30', status: 'Booked', notes: ''
})
const invoiceId = await createdRecord(owner, '/invoices', {
  patientId: String(patientId), issueDate: '2026-11-25', description: 'Consultation', amountCents: '85.00', status: 'Issued'
})

t.test('when an appointment or invoice is created, opened or its history viewed, then each record names its patient', async t => {
  await owner.get(`/appointments/${appointmentId}`)
  await owner.get(`/invoices/${invoiceId}`)
  await owner.get(`/appointments/${appointmentId}/history`)
  const touching = await rowsOf(clinic.group.id, 'record_type in (?, ?) and record_id is not null', ['appointment', 'invoice'])
  t.ok(touching.length >= 5, 'created, opened and the history opened')
  t.same([...new Set(touching.map(r => r.patient_id))], [patientId], 'every one names Ava')
  const own = await rowsOf(clinic.group.id, "record_type = 'patient' and record_id = ?", [String(patientId)])
  t.same([...new Set(own.map(r => r.patient_id))], [patientId])
  const lists = await rowsOf(clinic.group.id, "record_type is null and page = 'Patients'")
  t.ok(lists.every(r => r.patient_id === null), 'a list of patients concerns no one patient')
})

t.test('when a receptionist tries to void an invoice, then the refusal is recorded as denied, naming the invoice and its patient', async t => {
  const reception = await signedInAgent(ctx.app, clinic.reception.email)
  await reception.get(`/invoices/${invoiceId}/edit`)
  const refused = await reception.post(`/invoices/${invoiceId}`, {
    patientId: String(patientId), issueDate: '2026-11-25', description: 'Consultation', amountCents: '85.00', status: 'Void'
  })
  t.equal(refused.statusCode, 403)
  const [denied] = await rowsOf(clinic.group.id, "action = 'denied' and user_id = ?", [clinic.reception.id])
  t.match(denied, { outcome: 'denied', record_type: 'invoice', record_id: String(invoiceId), patient_id: patientId })
  t.match(denied!.description, 'Only Full Access users can void an invoice.')
})

t.test('when someone without the permission opens a history, or tries another practice\'s patient, then each attempt is recorded as denied', async t => {
  const locum = await signedInAgent(ctx.app, clinic.practitionerWithoutHistory.email)
  t.equal((await locum.get('/settings/users/history')).statusCode, 403)
  const stranger = await createdRecord(await signedInAgent(ctx.app, other.owner.email), '/patients', {
    name: 'Other Practice Patient', dateOfBirth: '1990-01-01', phone: '0400 000 000', email: 'o@example.test', notes: ''
  })
  t.equal((await locum.get(`/patients/${stranger}`)).statusCode, 404)
  const denied = await rowsOf(clinic.group.id, "action = 'denied' and user_id = ?", [clinic.practitionerWithoutHistory.id])
  t.equal(denied.length, 2)
  t.match(denied[0]!.description, 'GET /settings/users/history')
  t.match(denied[1], { record_type: 'patient', record_id: String(stranger), patient_id: null })
  t.same(await rowsOf(other.group.id, "action = 'denied'"), [], 'nothing is written into the other practice\'s history')

  const filtered = await owner.get('/settings/users/history?action=denied', { 'hx-request': 'true' })
  t.equal(filtered.statusCode, 200)
  t.match(filtered.body, 'Refused GET /settings/users/history')
  t.notMatch(filtered.body, 'Viewed patient', 'only denied attempts are listed')
})

t.test('when a burst of refused requests arrives at once, then every one is recorded', async t => {
  const locum = await signedInAgent(ctx.app, clinic.practitionerWithoutHistory.email)
  const before = (await rowsOf(clinic.group.id, "action = 'denied'")).length
  const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => locum.get(`/settings/users/history?page=${i + 1}`)))
  t.same([...new Set(answers.map(a => a.statusCode))], [403])
  t.equal((await rowsOf(clinic.group.id, "action = 'denied'")).length, before + 40)
})

t.test('when a sealed record\'s patient is changed behind the app, then verification reports it', async t => {
  t.ok(await sealPracticeBefore(ctx.keeper.em.fork(), clinic.group.id, new Date('9999-12-31T00:00:00Z'), ctx.clock.now()))
  const intact = await verifyPracticeChain(ctx.em(), ctx.plan, clinic.group.id)
  t.ok(intact.intact, 'records that name a patient seal and verify')
  const client = new pg.Client({ connectionString: ctx.databaseUrl })
  await client.connect()
  t.teardown(() => client.end())
  await client.query("set session_replication_role = 'replica'")
  const [victim] = await rowsOf(clinic.group.id, "record_type = 'invoice' and action = 'create'")
  await client.query('update audit_records set patient_id = patient_id + 1 where id = $1', [victim!.id])
  const broken = await verifyPracticeChain(ctx.em(), ctx.plan, clinic.group.id)
  t.notOk(broken.intact)
  t.equal(broken.firstProblem?.recordId, Number(victim!.id))
})

t.test('when the migration runs over an existing history, then records about patients, appointments and invoices get their patient', async t => {
  const name = `backfill_${randomUUID().replace(/-/g, '').slice(0, 12)}`
  const url = await ensureDatabase(ctx.databaseUrl, name)
  t.teardown(() => dropDatabase(ctx.databaseUrl, name))
  await migrate(url, 'Migration20261208000100_plan_terms')
  const db = new pg.Client({ connectionString: url })
  await db.connect()
  t.teardown(() => db.end())
  const one = async (sql: string, params: unknown[] = []): Promise<number> => Number((await db.query<{ id: number }>(sql, params)).rows[0]!.id)
  const group = await one("insert into practice_groups (name, time_zone, credit_balance) values ('Backfill Clinic', 'Australia/Sydney', 0) returning id")
  const patient = await one("insert into patients (practice_group_id, name, date_of_birth) values ($1, 'Bea Backfill', '1970-01-01') returning id", [group])
  const practitioner = await one(`insert into users (practice_group_id, name, email, password_hash, access_level, can_view_history, created_at, updated_at)
    values ($1, 'Dr Fill', 'fill@backfill.invalid', '!', 'Practitioner', false, now(), now()) returning id`, [group])
  const appointment = await one(`insert into appointments (practice_group_id, patient_id, practitioner_id, starts_at, duration_minutes, status, notes)
    values ($1, $2, $3, now(), 30, 'Booked', '') returning id`, [group, patient, practitioner])
  const record = (type: string | null, id: string | null, changes: unknown = null): Promise<unknown> => db.query(
    `insert into audit_records (practice_group_id, user_id, user_name, action, page, record_type, record_id, description, url, changes)
     values ($1, null, 'System', 'update', 'Page', $2, $3, 'Then', '/x', $4)`, [group, type, id, changes && JSON.stringify(changes)])
  await record('patient', String(patient))
  await record('appointment', String(appointment))
  await record('appointment', '999999', [{ field: 'patientId', label: 'Patient', before: null, after: patient, beforeText: '', afterText: 'Bea Backfill' }])
  await record('invoice', '888888')
  await record(null, null)

  await migrate(url)
  const { rows } = await db.query<{ record_type: string | null, record_id: string | null, patient_id: number | null, outcome: string }>(
    'select record_type, record_id, patient_id, outcome from audit_records where practice_group_id = $1 order by id', [group])
  t.same(rows.map(r => [r.record_type, r.record_id, r.patient_id]), [
    ['patient', String(patient), patient],
    ['appointment', String(appointment), patient],
    ['appointment', '999999', patient],
    ['invoice', '888888', null],
    [null, null, null]
  ], 'from the id, the row, or what a deleted appointment\'s own history last named; unknown stays empty')
  t.same([...new Set(rows.map(r => r.outcome))], ['success'])
})

t.test('when someone without the permission opens the history of a patient\'s appointment, then the denied attempt names the appointment and the patient', async t => {
  const locum = await signedInAgent(ctx.app, clinic.practitionerWithoutHistory.email)
  t.equal((await locum.get(`/appointments/${appointmentId}/history`)).statusCode, 403)
  const [denied] = (await rowsOf(clinic.group.id, "action = 'denied' and record_type = 'appointment'")).slice(-1)
  t.match(denied, { record_id: String(appointmentId), patient_id: patientId })
})
