import t, { type Test } from 'tap'
import type { HistoryRow } from '../../src/domain/audit-records/reads.js'
import { toAuditEvent, type AuditEvent, type AuditEventEntity } from '../../src/domain/history/fhir-audit-event.js'
import { auditEventProblems } from '../helpers/fhir-schema.js'

const SOURCE = { site: 'Harbour Street Clinic', serverAddress: 'https://clinic.example.test' }
const BALP = 'https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit.'

function row (values: Partial<HistoryRow>): HistoryRow {
  return {
    id: '4711', occurredAt: new Date('2026-11-24T23:05:06.789Z'), userId: 12, userName: 'Olivia Owner', action: 'view', page: 'Patients',
    recordType: null, recordId: null, patientId: null, outcome: 'success', description: 'Viewed the patient list, page 1', url: '/patients',
    ip: '203.0.113.10', changes: null, ...values
  }
}

/** Maps the row and checks the event against the FHIR R4 schema, so every case below is also a schema test. */
function eventOf (t: Test, values: Partial<HistoryRow>): AuditEvent {
  const event = toAuditEvent(row(values), SOURCE)
  t.same(auditEventProblems(JSON.parse(JSON.stringify(event))), [], 'a valid FHIR R4 AuditEvent')
  return event
}

const agentTyped = (event: AuditEvent, code: string) => event.agent.find(a => a.type?.coding[0]!.code === code)
const entityIn = (event: AuditEvent, role: string): AuditEventEntity | undefined => event.entity?.find(e => e.role.code === role)
const profileOf = (event: AuditEvent): string | undefined => event.meta?.profile[0]

t.test('when a patient profile is opened, then it is a BALP PatientRead with the patient, the browser and this server', async t => {
  const event = eventOf(t, { page: 'Patient profile', recordType: 'patient', recordId: '31', patientId: 31, description: 'Viewed patient Ben Baker', url: '/patients/31' })
  t.equal(event.resourceType, 'AuditEvent')
  t.equal(event.id, '4711')
  t.equal(profileOf(event), `${BALP}PatientRead`)
  t.same(event.type, { system: 'http://terminology.hl7.org/CodeSystem/audit-event-type', code: 'rest', display: 'Restful Operation' })
  t.same(event.subtype, [{ system: 'http://hl7.org/fhir/restful-interaction', code: 'read', display: 'read' }])
  t.equal(event.action, 'R')
  t.equal(event.recorded, '2026-11-24T23:05:06.789Z')
  t.equal(event.outcome, '0')
  t.notOk(event.outcomeDesc)
  t.same(event.agent[0], {
    type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'IRCP', display: 'information recipient' }] },
    who: { identifier: { type: { text: 'user' }, value: '12' }, display: 'Olivia Owner' }, name: 'Olivia Owner', requestor: true
  }, 'the user, by id and name, with no network address (BALP: users are not network devices)')
  t.match(agentTyped(event, '110152'), { who: { display: 'Web browser' }, requestor: false, network: { address: '203.0.113.10', type: '2' } }, 'the browser receives the data')
  t.match(agentTyped(event, '110153'), { who: { display: 'Practice Audit' }, requestor: false, network: { address: 'https://clinic.example.test', type: '5' } })
  t.same(event.source, {
    site: 'Harbour Street Clinic', observer: { display: 'Practice Audit' },
    type: [{ system: 'http://terminology.hl7.org/CodeSystem/security-source-type', code: '4', display: 'Application Server' }]
  })
  t.match(entityIn(event, '1'), { what: { reference: 'Patient/31' }, type: { code: '1', display: 'Person' }, role: { system: 'http://terminology.hl7.org/CodeSystem/object-role', display: 'Patient' } })
  t.same(entityIn(event, '4')?.what, { reference: 'Patient/31' })
  t.same(entityIn(event, '4')?.detail, [
    { type: 'page', valueString: 'Patient profile' }, { type: 'description', valueString: 'Viewed patient Ben Baker' }, { type: 'url', valueString: '/patients/31' }
  ])
  t.equal(event.text.div, '<div xmlns="http://www.w3.org/1999/xhtml"><p>Patient profile: Viewed patient Ben Baker</p></div>')
})

t.test('when an appointment is changed, then it is a BALP PatientUpdate naming the appointment and its patient, with the user as author', async t => {
  const event = eventOf(t, { action: 'update', page: 'Appointment', recordType: 'appointment', recordId: '77', patientId: 31, description: 'Status: Booked → Arrived', url: '/appointments/77' })
  t.equal(profileOf(event), `${BALP}PatientUpdate`)
  t.equal(event.subtype![0]!.code, 'update')
  t.equal(event.action, 'U')
  t.equal(event.agent[0]!.type!.coding[0]!.code, 'AUT')
  t.ok(agentTyped(event, '110153'), 'the browser is the source of the change')
  t.ok(agentTyped(event, '110152'), 'this server its destination')
  t.same(entityIn(event, '4')?.what, { reference: 'Appointment/77' })
  t.same(entityIn(event, '1')?.what, { reference: 'Patient/31' })
})

t.test('when records are created and deleted, then they are BALP Create and Delete, and kinds that are no FHIR resource are named by an identifier', async t => {
  const created = eventOf(t, { action: 'create', page: 'Settings > Users', recordType: 'user', recordId: '40', description: 'Created user Rita', url: '/settings/users' })
  t.equal(profileOf(created), `${BALP}Create`, 'a user is about no patient')
  t.equal(created.action, 'C')
  t.same(entityIn(created, '4')?.what, { identifier: { type: { text: 'user' }, value: '40' }, display: 'user 40' })
  const deleted = eventOf(t, { action: 'delete', page: 'Invoice', recordType: 'invoice', recordId: '9', patientId: 31, description: 'Deleted invoice 9', url: '/invoices/9/delete' })
  t.equal(profileOf(deleted), `${BALP}PatientDelete`)
  t.equal(deleted.action, 'D')
  t.ok(agentTyped(deleted, '110150'), 'BALP names the client of a delete an Application')
  t.ok(agentTyped(deleted, 'custodian'), 'and the server its custodian')
})

t.test('when a list or a history is viewed, then it is a BALP Query carrying the request, and a patient\'s history a PatientQuery', async t => {
  const list = eventOf(t, { url: '/patients?q=ba&page=2' })
  t.equal(profileOf(list), `${BALP}Query`)
  t.equal(list.subtype![0]!.code, 'search-type')
  t.equal(list.action, 'E')
  const query = entityIn(list, '24')!
  t.equal(Buffer.from(query.query!, 'base64').toString('utf8'), '/patients?q=ba&page=2', 'the raw request, base64')
  t.equal(query.description, '/patients?q=ba&page=2')
  t.notOk(query.what)
  t.notOk(query.detail, 'BALP allows no detail on the query')
  const history = eventOf(t, { page: 'Appointment > History', recordType: 'appointment', recordId: '77', patientId: 31, url: '/appointments/77/history?action=view' })
  t.equal(profileOf(history), `${BALP}PatientQuery`, 'a history is read from the audit log, not from the record')
  t.equal(history.entity!.filter(e => e.type.code === '2').length, 1, 'one system object, the query, as BALP slices them')
  t.same(entityIn(history, '1')?.what, { reference: 'Patient/31' })
  const report = eventOf(t, { page: 'Patient > Access report', recordType: 'patient', recordId: '31', patientId: 31, url: '/patients/31/access-report' })
  t.equal(profileOf(report), `${BALP}PatientQuery`)
})

t.test('when a blank form is opened, then it is a read of no record yet, with no profile', async t => {
  const event = eventOf(t, { page: 'Appointment', recordType: 'appointment', description: 'Opened the form for a new appointment', url: '/appointments/new' })
  t.equal(event.subtype![0]!.code, 'read')
  t.notOk(event.meta)
  t.notOk(entityIn(event, '4')?.what)
})

t.test('when someone signs in, fails to, or signs out, then it is a DICOM User Authentication with Login or Logout', async t => {
  const signedIn = eventOf(t, { action: 'login', page: 'Sign in', recordType: 'user', recordId: '12', description: 'Olivia Owner signed in', url: '/login' })
  t.same(signedIn.type, { system: 'http://dicom.nema.org/resources/ontology/DCM', code: '110114', display: 'User Authentication' })
  t.same(signedIn.subtype, [{ system: 'http://dicom.nema.org/resources/ontology/DCM', code: '110122', display: 'Login' }])
  t.equal(signedIn.action, 'E')
  t.equal(signedIn.outcome, '0')
  t.notOk(signedIn.meta, 'BALP has no sign-in profile')
  t.equal(signedIn.agent[0]!.type!.coding[0]!.code, 'humanuser')
  const failed = eventOf(t, { action: 'login_failed', page: 'Sign in', recordType: 'user', recordId: '12', description: 'Sign-in failed: wrong password', url: '/login' })
  t.equal(failed.outcome, '4', 'a minor failure')
  t.equal(failed.outcomeDesc, 'Sign-in failed: wrong password')
  const signedOut = eventOf(t, { action: 'logout', page: 'Sign in', recordType: 'user', recordId: '12', description: 'Olivia Owner signed out', url: '/logout' })
  t.equal(signedOut.subtype![0]!.code, '110123')
})

t.test('when a history is exported, then it is a DICOM Export naming the request and the patient', async t => {
  const event = eventOf(t, { action: 'export', page: 'Patient > History', recordType: 'patient', recordId: '31', patientId: 31, description: 'Exported 3 records as CSV', url: '/patients/31/history/export.csv' })
  t.same(event.type, { system: 'http://dicom.nema.org/resources/ontology/DCM', code: '110106', display: 'Export' })
  t.equal(event.action, 'R')
  t.notOk(event.meta)
  t.equal(Buffer.from(entityIn(event, '24')!.query!, 'base64').toString(), '/patients/31/history/export.csv')
  t.same(entityIn(event, '1')?.what, { reference: 'Patient/31' })
})

t.test('when an attempt was refused, then the event failed (4) with the reason, names what was asked for, and claims no profile', async t => {
  const event = eventOf(t, {
    action: 'denied', outcome: 'denied', page: 'Access check', recordType: 'invoice', recordId: '9', patientId: 31,
    description: 'Refused POST /invoices/9: Reception may not void an invoice.', url: '/invoices/9'
  })
  t.equal(event.outcome, '4')
  t.equal(event.outcomeDesc, 'Refused POST /invoices/9: Reception may not void an invoice.')
  t.notOk(event.action, 'which interaction was refused is not known in coded form')
  t.notOk(event.meta)
  t.same(entityIn(event, '4')?.what, { reference: 'Invoice/9' })
  t.ok(entityIn(event, '24'), 'the request')
  t.same(entityIn(event, '1')?.what, { reference: 'Patient/31' })
})

t.test('when the scheduled job acted, then there is no browser and no profile', async t => {
  const event = eventOf(t, { action: 'purchase', userName: 'System', page: 'Settings > Add-ons', recordType: 'subscription', recordId: '5', url: '(scheduled job)', ip: null })
  t.equal(event.agent.length, 2)
  t.notOk(event.agent.some(a => a.network?.type === '2'))
  t.notOk(event.meta)
})

t.test('when the address the export was asked at is not known, then this server has no network address and no profile is claimed', async t => {
  const event = toAuditEvent(row({ recordType: 'patient', recordId: '31', patientId: 31, url: '/patients/31' }), { ...SOURCE, serverAddress: null })
  t.same(auditEventProblems(event), [])
  t.notOk(event.meta)
  t.same(event.agent.find(a => a.who.display === 'Practice Audit')?.network, undefined)
})

t.test('when a record\'s patient is withheld from the viewer, then its event claims neither BALP variant', async t => {
  const event = eventOf(t, { recordType: 'appointment', recordId: '77', patientId: null, description: 'Details withheld', url: '/appointments/77' })
  t.notOk(event.meta)
  t.notOk(entityIn(event, '1'))
})

t.test('when recorded text holds markup or control characters, then the narrative is inert and every string is valid FHIR', async t => {
  const event = eventOf(t, { description: '<script>alert("x")</script> & \u000b\u0001 done', url: '/patients?q=%0B', userName: 'Zoë <b>' })
  t.equal(event.text.div, '<div xmlns="http://www.w3.org/1999/xhtml"><p>Patients: &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; \ufffd\ufffd done</p></div>')
  t.equal(event.agent[0]!.name, 'Zoë <b>')
})

t.test('the schema check can fail', async t => {
  const event = toAuditEvent(row({}), SOURCE)
  t.not(auditEventProblems({ ...event, outcome: 'success' }).length, 0, 'an R5-style outcome')
  t.not(auditEventProblems({ ...event, agent: [{ ...event.agent[0], network: { address: '1.2.3.4', type: 'ip' } }] }).length, 0)
  t.not(auditEventProblems({ ...event, recorded: '2026-11-25 10:00' }).length, 0)
  t.not(auditEventProblems({ ...event, patient: 'Patient/1' }).length, 0, 'an element R4 does not have')
})
