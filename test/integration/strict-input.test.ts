import t from 'tap'
import { build } from '../helpers/app.js'
import { Agent, signedInAgent } from '../helpers/agent.js'
import { makeClinic } from '../helpers/clinic.js'
import { addRecord, shownRows } from '../helpers/history.js'
import { Patient } from '../../src/domain/patients/patient.entity.js'
import { Appointment } from '../../src/domain/appointments/appointment.entity.js'

const ctx = await build(t)
ctx.clock.set('2026-11-25T03:00:00Z')
const clinic = await makeClinic(ctx.em())
const owner = await signedInAgent(ctx.app, clinic.owner.email)
await addRecord(ctx.em(), clinic.reception, { at: '2026-11-25T01:00:00Z', description: 'Seen from ten one two three', ip: '10.1.2.3' })
await addRecord(ctx.em(), clinic.reception, { at: '2026-11-25T01:10:00Z', description: 'Seen from a mapped address', ip: '::ffff:10.1.2.3' })

const created = await owner.post('/patients', { name: 'Strict Input Patient' })
const patientId = Number(/\/patients\/(\d+)/.exec(String(created.headers.location))![1])
await owner.get('/patients')

const shownDescriptions = async (query: string): Promise<string[]> => {
  const response = await owner.get(`/settings/users/history?${query}`, { 'hx-request': 'true' })
  if (response.statusCode !== 200) throw new Error(`${query} answered ${response.statusCode}`)
  return shownRows(response.body).map(row => row.description)
}

t.test('when the IP filter is something PostgreSQL cannot read, then the page, its fragment, its chart and its export say so with a 400', async t => {
  const refused = ['::ffff:01.2.3.4', '::ffff:1.2.3.04', 'fe80::1%eth0', '1.2.3.4/33', '::1/129', '::1/0128', '10.0.0.0/', '1.2.3', '[::1]', '1:2:3:4:5:6:7::8', '1.2.3.4/+8', '0x01020304']
  for (const ip of refused) {
    const query = `ip=${encodeURIComponent(ip)}`
    const page = await owner.get(`/settings/users/history?${query}`)
    t.equal(page.statusCode, 400, `page: ${ip}`)
    t.match(page.body, 'is not an IP address or range', `page says why: ${ip}`)
    const fragment = await owner.get(`/settings/users/history?${query}`, { 'hx-request': 'true' })
    t.equal(fragment.statusCode, 400, `fragment: ${ip}`)
    t.match(fragment.body, 'is not an IP address or range')
    const chart = await owner.get(`/settings/users/history/activity?${query}`)
    t.equal(chart.statusCode, 400, `chart: ${ip}`)
    t.match(chart.body, 'The chart could not be drawn')
    const exported = await owner.get(`/settings/users/history/export.csv?${query}`)
    t.equal(exported.statusCode, 400, `export: ${ip}`)
    t.match(exported.body, 'Nothing was exported')
    const record = await owner.get(`/patients/${patientId}/history?${query}`)
    t.equal(record.statusCode, 400, `a record's history: ${ip}`)
  }
})

t.test('when the IP filter is written in any form PostgreSQL reads, then it filters by that address or range', async t => {
  t.same(await shownDescriptions('ip=010.001.002.003'), ['Seen from ten one two three'], 'leading zeros in IPv4')
  t.same(await shownDescriptions(`ip=${encodeURIComponent('10.1/16')}`), ['Seen from ten one two three'], 'a shortened network')
  t.same(await shownDescriptions(`ip=${encodeURIComponent('::FFFF:10.1.2.3')}`), ['Seen from a mapped address'], 'an IPv4-mapped IPv6 address')
  t.same(await shownDescriptions(`ip=${encodeURIComponent('::ffff:10.1.2.0/120')}`), ['Seen from a mapped address'], 'an IPv4-mapped range')
})

t.test('when an ID in the address is not written as plain digits, then it is a 404 for no such record', async t => {
  const hex = `0x${patientId.toString(16)}`
  for (const id of [hex, `${patientId}%20`, `%20${patientId}`, `0${patientId}`, `${patientId}e0`, `${patientId}.0`, `%2B${patientId}`, '2147483648', '99999999999', '-1', '0']) {
    for (const path of [`/patients/${id}`, `/patients/${id}/edit`, `/patients/${id}/history`, `/patients/${id}/history/activity`, `/patients/${id}/history/export.csv`]) {
      const response = await owner.get(path)
      t.equal(response.statusCode, 404, path)
      t.match(response.body, 'That patient does not exist', `${path} says so`)
      t.notMatch(response.body, 'Strict Input Patient', `${path} shows no patient`)
    }
  }
  for (const id of [`0x${clinic.reception.id.toString(16)}`, `0${clinic.reception.id}`, `${clinic.reception.id}%20`]) {
    const response = await owner.get(`/settings/users/${id}/edit`)
    t.equal(response.statusCode, 404, `user ${id}`)
    t.match(response.body, 'That user does not exist')
  }
  const update = await owner.post(`/patients/0x${patientId.toString(16)}`, { name: 'Renamed by hex' })
  t.equal(update.statusCode, 404, 'an update by a hex id is refused')
  const stored = await ctx.em().findOneOrFail(Patient, { id: patientId })
  t.equal(stored.name, 'Strict Input Patient', 'and changes nothing')
})

t.test('when a page number is not plain digits, then the list says so with a 400', async t => {
  for (const page of ['1e0', '0x1', '%201', '01', '1.0', '%2B1']) {
    const response = await owner.get(`/patients?page=${page}`)
    t.equal(response.statusCode, 400, `page=${page}`)
    t.match(response.body, 'page must be a whole number', `page=${page} says why`)
  }
  t.equal((await owner.get('/patients?page=1')).statusCode, 200)
})

t.test('when a number in a form is not plain digits, then the form shows the problem beside the field and nothing is saved', async t => {
  const appointment = {
    patientId: String(patientId), practitionerId: String(clinic.practitioner.id), startsAt: '2026-11-26T09:00', durationMinutes: '30', status: 'Booked'
  }
  const before = await ctx.em().count(Appointment, { practiceGroupId: clinic.group.id })
  for (const minutes of ['1e2', '0x3c', '60.0', '060', '+60', '６０']) {
    const response = await owner.post('/appointments', { ...appointment, durationMinutes: minutes })
    t.equal(response.statusCode, 422, `durationMinutes=${minutes}`)
    t.match(response.body, 'Duration must be a whole number of minutes from 5 to 720', `durationMinutes=${minutes} says why`)
  }
  for (const id of [`0x${patientId.toString(16)}`, `0${patientId}`, '2147483648', '99999999999']) {
    const response = await owner.post('/appointments', { ...appointment, patientId: id })
    t.equal(response.statusCode, 422, `patientId=${id}`)
    t.match(response.body, 'Choose a patient', `patientId=${id} says why`)
  }
  t.equal(await ctx.em().count(Appointment, { practiceGroupId: clinic.group.id }), before, 'no appointment was saved')
  t.equal((await owner.post('/appointments', appointment)).statusCode, 303, 'the same form with plain numbers is saved')
})

t.test('when a user or record ID filter is not plain digits, then the history says so', async t => {
  const user = await owner.get(`/settings/users/history?user=0${clinic.reception.id}`)
  t.equal(user.statusCode, 400)
  t.match(user.body, `There is no user &quot;0${clinic.reception.id}&quot;`)
  for (const id of [`0${patientId}`, `${patientId}.0`, `0x${patientId.toString(16)}`, 'abc']) {
    const response = await owner.get(`/settings/users/history?id=${id}`)
    t.equal(response.statusCode, 400, `id=${id}`)
    t.match(response.body, `&quot;${id}&quot; is not a record ID`, `id=${id} says why`)
  }
  t.equal((await owner.get(`/settings/users/history?id=${patientId}`)).statusCode, 200, 'a plain ID is understood')
})

t.test('when a form names a character set other than UTF-8, then it is refused with a 415 and nothing is saved', async t => {
  const before = await ctx.em().count(Patient, { practiceGroupId: clinic.group.id })
  for (const charset of ['utf-16', 'UTF-16LE', 'iso-8859-1', '"windows-1252"']) {
    const response = await owner.post('/patients', { name: 'Charset Patient' }, { headers: { 'content-type': `application/x-www-form-urlencoded; charset=${charset}` } })
    t.equal(response.statusCode, 415, charset)
    t.match(response.body, 'Forms must be sent as UTF-8', `${charset}: says why`)
  }
  t.equal(await ctx.em().count(Patient, { practiceGroupId: clinic.group.id }), before, 'no patient was saved')
  for (const charset of ['utf-8', 'UTF-8', '"utf-8"']) {
    const response = await owner.post('/patients', { name: 'Charset Patient' }, { headers: { 'content-type': `application/x-www-form-urlencoded; charset=${charset}` } })
    t.equal(response.statusCode, 303, `${charset} is accepted`)
    await owner.get('/patients')
  }
})

t.test('when a form is sent as JSON or plain text, then it is refused with a 415', async t => {
  const before = await ctx.em().count(Patient, { practiceGroupId: clinic.group.id })
  for (const [type, payload] of [['application/json', '{"name":"Json Patient"}'], ['text/plain', 'name=Text Patient']] as const) {
    const response = await ctx.app.inject({
      method: 'POST', url: '/patients', payload, headers: { cookie: owner.cookieHeader, 'content-type': type, 'x-csrf-token': owner.csrfToken }
    })
    t.equal(response.statusCode, 415, type)
    t.match(response.body, 'Forms must be sent as', `${type}: says why`)
  }
  t.equal(await ctx.em().count(Patient, { practiceGroupId: clinic.group.id }), before, 'no patient was saved')
})

t.test('when a POST without the CSRF token also has a bad body or address, then it is refused as a forgery (403), not as bad input', async t => {
  const refusedAsForgery = async (url: string, form: Record<string, string>): Promise<void> => {
    const response = await owner.post(url, form, { csrf: false })
    t.equal(response.statusCode, 403, `${url} ${JSON.stringify(form)}`)
    t.match(response.body, 'did not come from this site')
  }
  await refusedAsForgery('/settings/add-ons/subscribe', { unexpected: '1' })
  await refusedAsForgery('/settings/credits/top-up', { credits: 'lots' })
  await refusedAsForgery('/settings/users/abc', { accessLevel: 'Reception' })
  await refusedAsForgery(`/patients/${patientId}`, { name: 'Nul\u0000Name' })
  await refusedAsForgery('/login', {})
  const stranger = new Agent(ctx.app, '203.0.113.99')
  const response = await stranger.post('/login', { email: 'x'.repeat(5000) }, { csrf: false })
  t.equal(response.statusCode, 403, 'a stranger without a session')
})
