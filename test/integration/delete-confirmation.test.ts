import t from 'tap'
import { build } from '../helpers/app.js'
import { signedInAgent } from '../helpers/agent.js'
import { makeClinic } from '../helpers/clinic.js'
import { auditRows } from '../helpers/audit.js'
import { createdRecord } from '../helpers/records.js'
import { unique } from '../../src/seed/factories.js'
import { Patient } from '../../src/domain/patients/patient.entity.js'
import { Appointment } from '../../src/domain/appointments/appointment.entity.js'

const ctx = await build(t)
ctx.clock.set('2026-11-25T00:00:00Z')
const clinic = await makeClinic(ctx.em())

t.test('when a Full Access user opens a patient\'s delete address, then it asks first, deletes nothing, and the question is recorded as a view', async t => {
  const owner = await signedInAgent(ctx.app, clinic.owner.email)
  const name = unique('Ivy Ask')
  const id = await createdRecord(owner, '/patients', { name, dateOfBirth: '1980-04-02', phone: '', email: '', notes: '' })

  const profile = await owner.get(`/patients/${id}`)
  t.match(profile.body, `<form method="get" action="/patients/${id}/delete"`, 'the profile\'s Delete button only leads to the question')

  const question = await owner.get(`/patients/${id}/delete`)
  t.equal(question.statusCode, 200)
  t.match(question.body, `Delete patient ${name}?`)
  t.match(question.body, 'This cannot be undone.')
  t.match(question.body, `<form method="post" action="/patients/${id}/delete"`)
  t.match(question.body, 'name="_csrf"', 'the form that deletes carries the session\'s CSRF token')
  t.equal(await ctx.em().count(Patient, { id }), 1, 'the GET deleted nothing')
  const [asked] = await auditRows(ctx.em(), clinic.group.id, "record_type = 'patient' and record_id = ? and url = ?", [String(id), `/patients/${id}/delete`])
  t.match(asked, { action: 'view', page: 'Patient profile', description: `Opened the delete confirmation of patient ${name}` })

  t.equal((await owner.post(`/patients/${id}/delete`, {}, { csrf: false })).statusCode, 403, 'a post without the token is refused')
  t.equal(await ctx.em().count(Patient, { id }), 1)

  t.equal((await owner.post(`/patients/${id}/delete`)).statusCode, 303)
  t.equal(await ctx.em().count(Patient, { id }), 0)
  const deletes = await auditRows(ctx.em(), clinic.group.id, "action = 'delete' and record_type = 'patient' and record_id = ?", [String(id)])
  t.equal(deletes.length, 1, 'the deletion is recorded once')
  t.match(deletes[0], { page: 'Patient profile', description: `Deleted patient ${name}`, url: `/patients/${id}/delete` })
})

t.test('when someone who may not delete an appointment opens its delete address, then it is refused and nothing is deleted', async t => {
  const owner = await signedInAgent(ctx.app, clinic.owner.email)
  const patientId = await createdRecord(owner, '/patients', { name: unique('Ava Kept'), dateOfBirth: '', phone: '', email: '', notes: '' })
  const id = await createdRecord(owner, '/appointments', {
    patientId: String(patientId), practitionerId: String(clinic.practitioner.id), startsAt: '2026-12-01T09:00', durationMinutes: '30', status: 'Booked', notes: ''
  })
  const reception = await signedInAgent(ctx.app, clinic.reception.email)
  const profile = await reception.get(`/appointments/${id}`)
  t.notMatch(profile.body, 'Delete this appointment', 'no Delete button for them')
  const refused = await reception.get(`/appointments/${id}/delete`)
  t.equal(refused.statusCode, 403)
  t.match(refused.body, 'cancel it instead')
  t.equal(await ctx.em().count(Appointment, { id }), 1)

  const question = await owner.get(`/appointments/${id}/delete`)
  t.match(question.body, /Delete appointment .* with .* at 01\/12\/2026 09:00\?/)
  t.equal(await ctx.em().count(Appointment, { id }), 1)
})

t.test('when another practice\'s record is asked for, then its delete address is a 404 like its page', async t => {
  const other = await makeClinic(ctx.em())
  const owner = await signedInAgent(ctx.app, clinic.owner.email)
  const theirs = await createdRecord(await signedInAgent(ctx.app, other.owner.email), '/patients', { name: unique('Not Yours'), dateOfBirth: '', phone: '', email: '', notes: '' })
  t.equal((await owner.get(`/patients/${theirs}/delete`)).statusCode, 404)
  t.equal(await ctx.em().count(Patient, { id: theirs }), 1)
})
