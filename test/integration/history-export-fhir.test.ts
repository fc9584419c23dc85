import t from 'tap'
import { parseString } from 'fast-csv'
import { build } from '../helpers/app.js'
import { Agent, PASSWORD, signedInAgent } from '../helpers/agent.js'
import { makeClinic } from '../helpers/clinic.js'
import { auditRows } from '../helpers/audit.js'
import { addRecord } from '../helpers/history.js'
import { createdRecord } from '../helpers/records.js'
import { subscribeAt } from '../helpers/subscriptions.js'
import { auditEventProblems } from '../helpers/fhir-schema.js'
import { makeUser, unique } from '../../src/seed/factories.js'
import type { AuditEvent } from '../../src/domain/history/fhir-audit-event.js'

const ctx = await build(t)
ctx.clock.set('2026-11-25T03:00:00Z')
const clinic = await makeClinic(ctx.em(), { creditBalance: 1000 })
const other = await makeClinic(ctx.em())
// Exports by someone the filter below leaves out, so every export of that view holds the same records whatever was exported before it.
const auditor = await makeUser(ctx.em(), clinic.group, { name: unique('Auditor'), accessLevel: 'Full Access', canViewHistory: true })
const actors = [clinic.owner, clinic.practitioner, clinic.practitionerWithoutHistory, clinic.reception]
const VIEW = new URLSearchParams(actors.map(user => ['user', String(user.id)])).toString()

const BALP = 'https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit.'

async function csvRowCount (text: string): Promise<number> {
  return new Promise((resolve, reject) => {
    let rows = 0
    parseString(text, { headers: true }).on('data', () => rows++).on('error', reject).on('end', () => resolve(rows))
  })
}

/** Setting up, not testing: a step that did not work stops the file. */
function expectStatus (response: { statusCode: number, body: string }, status: number): void {
  if (response.statusCode !== status) throw new Error(`expected ${status}, got ${response.statusCode}: ${response.body.slice(0, 300)}`)
}

const eventsIn = (body: string): AuditEvent[] => body.trim().split('\n').map(line => JSON.parse(line) as AuditEvent)

// Every kind of action, done the way people do them.
const owner = await signedInAgent(ctx.app, clinic.owner.email)
const patientId = await createdRecord(owner, '/patients', { name: 'Ava Nguyen', dateOfBirth: '1984-03-09', phone: '0400 111 222', email: 'ava@example.test', notes: '' })
await owner.get(`/patients/${patientId}`)
await owner.get(`/patients/${patientId}/edit`)
expectStatus(await owner.post(`/patients/${patientId}`, { name: 'Ava Nguyen', dateOfBirth: '1984-03-09', phone: '0400 999 888', email: 'ava@example.test', notes: '' }), 303)
const appointmentId = await createdRecord(owner, '/appointments', {
  patientId: String(patientId), practitionerId: String(clinic.practitioner.id), startsAt: '2026-11-26T09:00', durationMinutes: '30', status: 'Booked', notes: ''
})
await owner.get(`/appointments/${appointmentId}`)
expectStatus(await owner.post(`/appointments/${appointmentId}/delete`), 303)
await owner.get(`/patients/${patientId}/history`)
await subscribeAt(ctx.em(), clinic.owner, '2026-11-25T03:00:00Z')
const practitioner = await signedInAgent(ctx.app, clinic.practitioner.email)
expectStatus(await practitioner.get('/settings/users/history/export.csv'), 200)
const reception = new Agent(ctx.app, '198.51.100.7')
await reception.signIn(clinic.reception.email, 'not the password')
await reception.signIn(clinic.reception.email, PASSWORD)
await reception.get('/patients')
await reception.post('/logout')
const locum = await signedInAgent(ctx.app, clinic.practitionerWithoutHistory.email)
const refusedCsv = await locum.get('/settings/users/history/export.csv')
const refusedFhir = await locum.get('/settings/users/history/export.fhir.ndjson')
await addRecord(ctx.em(), other.owner, { at: '2026-11-25T02:00:00Z', action: 'update', recordType: 'patient', recordId: '999999', patientId: 999999, description: 'Secret of the other practice' })

t.test('when the history is exported as FHIR, then every record of the view is one valid R4 AuditEvent, as many as the CSV has', async t => {
  const auditorAgent = await signedInAgent(ctx.app, auditor.email)
  const response = await auditorAgent.get(`/settings/users/history/export.fhir.ndjson?${VIEW}`)
  t.equal(response.statusCode, 200)
  t.match(response.headers['content-type'], 'application/fhir+ndjson')
  t.match(response.headers['content-disposition'], /attachment; filename="user-action-history-2026-11-25\.fhir\.ndjson"/)
  t.ok(response.body.endsWith('\n'), 'every line ends')
  const events = eventsIn(response.body)
  const invalid = events.map(event => ({ id: event.id, problems: auditEventProblems(event) })).filter(e => e.problems.length)
  t.same(invalid, [], 'every line validates against the FHIR R4 AuditEvent schema')

  const csv = await auditorAgent.get(`/settings/users/history/export.csv?${VIEW}`)
  t.equal(events.length, await csvRowCount(csv.body), 'as many events as the CSV export has rows')
  const recorded = await auditRows(ctx.em(), clinic.group.id, `user_id in (${actors.map(() => '?').join(', ')})`, actors.map(u => u.id))
  t.same(events.map(e => e.id).sort(), recorded.map(r => String(r.id)).sort(), 'one event per record, named by the record\'s id')
  t.same([...new Set(recorded.map(r => r.action))].sort(),
    ['create', 'delete', 'denied', 'export', 'login', 'login_failed', 'logout', 'purchase', 'update', 'view'], 'the view holds every kind of action')

  const byId = new Map(events.map(e => [e.id, e]))
  const eventOf = (action: string, where: (r: typeof recorded[number]) => boolean = () => true): AuditEvent => byId.get(String(recorded.find(r => r.action === action && where(r))!.id))!
  const changed = eventOf('update', r => r.record_type === 'patient')
  t.equal(changed.meta?.profile[0], `${BALP}PatientUpdate`, 'a change of a patient is a BALP PatientUpdate')
  t.ok(changed.entity?.some(e => e.what?.reference === `Patient/${patientId}` && e.role.code === '1'), 'naming the patient')
  t.ok(changed.agent.some(a => a.network?.address === '203.0.113.10'), 'and the address it came from')
  t.equal(eventOf('view', r => r.record_type === 'patient' && r.url === `/patients/${patientId}`).meta?.profile[0], `${BALP}PatientRead`)
  t.equal(eventOf('view', r => r.url === `/patients/${patientId}/history`).meta?.profile[0], `${BALP}PatientQuery`)
  t.equal(eventOf('delete').meta?.profile[0], `${BALP}PatientDelete`)
  const signIn = eventOf('login', r => r.user_id === clinic.reception.id)
  t.match(signIn, { type: { code: '110114' }, subtype: [{ code: '110122' }], outcome: '0' })
  t.ok(signIn.agent.some(a => a.network?.address === '198.51.100.7'))
  t.match(eventOf('login_failed'), { subtype: [{ code: '110122' }], outcome: '4' })
  t.match(eventOf('logout'), { subtype: [{ code: '110123' }], outcome: '0' })
  t.match(eventOf('export'), { type: { code: '110106' }, action: 'R', outcome: '0' })
  const denied = eventOf('denied')
  t.match(denied, { outcome: '4', outcomeDesc: /You do not have the User Action History permission/ })
  t.notOk(denied.meta, 'a refusal claims no BALP profile')
  t.ok(events.every(e => e.source.site === clinic.group.name && e.source.observer.display === 'Practice Audit'))

  const [exported] = await auditRows(ctx.em(), clinic.group.id, "action = 'export' and user_id = ? and description like '%FHIR%'", [auditor.id])
  t.match(exported, { page: 'Settings > Users > History', url: `/settings/users/history/export.fhir.ndjson?${VIEW}` }, 'the export was itself recorded')
  t.match(exported!.description, `Exported ${events.length} records as FHIR AuditEvent (NDJSON) from User Action History (user=`)
})

t.test('when someone without the right asks for the FHIR export, then they get the same refusal as for the CSV, and it is recorded', async t => {
  t.equal(refusedFhir.statusCode, 403)
  t.equal(refusedFhir.statusCode, refusedCsv.statusCode)
  const message = (body: string): string | undefined => /You do not have the User Action History permission[^<]*/.exec(body)?.[0]
  t.ok(message(refusedFhir.body))
  t.equal(message(refusedFhir.body), message(refusedCsv.body))
  t.notMatch(refusedFhir.body, '"resourceType"', 'no event left')
  const refusals = await auditRows(ctx.em(), clinic.group.id, "action = 'denied' and user_id = ?", [clinic.practitionerWithoutHistory.id])
  t.same(refusals.map(r => r.url), ['/settings/users/history/export.csv', '/settings/users/history/export.fhir.ndjson'])
})

t.test("when a practice exports as FHIR, then another practice's records never appear, whatever the parameters", async t => {
  const auditorAgent = await signedInAgent(ctx.app, auditor.email)
  const everything = await auditorAgent.get('/settings/users/history/export.fhir.ndjson')
  t.equal(everything.statusCode, 200)
  t.notMatch(everything.body, 'Secret of the other practice')
  t.notMatch(everything.body, 'Patient/999999')
  const theirs = await auditRows(ctx.em(), other.group.id)
  const ids = new Set(eventsIn(everything.body).map(e => e.id))
  t.ok(theirs.length > 0 && theirs.every(r => !ids.has(String(r.id))), 'none of their record ids')
  t.equal((await auditorAgent.get(`/settings/users/history/export.fhir.ndjson?user=${other.owner.id}`)).statusCode, 400)
  t.equal((await auditorAgent.get('/settings/users/history/export.fhir.json')).statusCode, 400, 'only the formats there are')
  const oddHost = await auditorAgent.get(`/settings/users/history/export.fhir.ndjson?${VIEW}`, { host: 'not a host' })
  t.equal(oddHost.statusCode, 200, 'a Host header that names no address still exports')
  t.ok(eventsIn(oddHost.body).every(e => !e.meta && auditEventProblems(e).length === 0), 'valid events that claim no profile without the server\'s address')
  const sam = await signedInAgent(ctx.app, clinic.practitioner.email)
  const own = eventsIn((await sam.get('/settings/users/history/export.fhir.ndjson')).body)
  t.ok(own.length > 0 && own.every(e => e.agent[0]!.who.identifier?.value === String(clinic.practitioner.id)), 'a Practitioner exports only their own records')
})

t.test('when the history is shown, then CSV is offered first and the FHIR export apart, for other systems, for the same view', async t => {
  const auditorAgent = await signedInAgent(ctx.app, auditor.email)
  const page = await auditorAgent.get(`/settings/users/history?action=update&sort=date&dir=asc&page=2`)
  t.match(page.body, /<a href="\/settings\/users\/history\/export\.csv\?action=update&amp;sort=date&amp;dir=asc"[^>]*>Export CSV<\/a>[\s\S]*For other systems[\s\S]*<a href="\/settings\/users\/history\/export\.fhir\.ndjson\?action=update&amp;sort=date&amp;dir=asc"[^>]*>Export FHIR AuditEvent \(NDJSON\)<\/a>/)
  const recordHistory = await auditorAgent.get(`/patients/${patientId}/history`)
  t.match(recordHistory.body, `href="/patients/${patientId}/history/export.fhir.ndjson"`)
  const events = eventsIn((await auditorAgent.get(`/patients/${patientId}/history/export.fhir.ndjson`)).body)
  t.ok(events.length > 0 && events.every(e => auditEventProblems(e).length === 0), 'a record\'s history exports valid events too')
})
