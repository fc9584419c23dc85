import t from 'tap'
import { build } from '../helpers/app.js'
import { signedInAgent } from '../helpers/agent.js'
import { makeClinic } from '../helpers/clinic.js'
import { addRecord, shownRows } from '../helpers/history.js'

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
