import t from 'tap'
import { build } from '../helpers/app.js'
import { buildApp } from '../../src/app.js'
import { Agent, PASSWORD } from '../helpers/agent.js'
import { makeClinic } from '../helpers/clinic.js'
import { auditRows } from '../helpers/audit.js'
import { addRecord } from '../helpers/history.js'
import { subscribeAt } from '../helpers/subscriptions.js'

const ctx = await build(t, { METRICS_TOKEN: 'completeness-metrics-token-0123456789abcdef' })
const DAY = 86_400_000
const clinic = await makeClinic(ctx.em(), { creditBalance: 1000 })
// Subscribed, with a record the end of the period would delete, so the archive route has something to serve.
await subscribeAt(ctx.em(), clinic.owner, new Date(Date.now() - 20 * DAY))
await addRecord(ctx.em(), clinic.owner, { at: new Date(Date.now() - 45 * DAY), description: 'Old enough to be archived' })
const agent = new Agent(ctx.app, '203.0.113.40')
await agent.signIn(clinic.owner.email, PASSWORD)
await agent.get('/patients')

const patient = await agent.post('/patients', { name: 'Route Walker' })
const patientId = /\/patients\/(\d+)/.exec(String(patient.headers.location))![1]!
const appointment = await agent.post('/appointments', { patientId, practitionerId: String(clinic.practitioner.id), startsAt: '2026-12-02T09:30', durationMinutes: '30', status: 'Booked' })
const invoice = await agent.post('/invoices', { patientId, issueDate: '2026-11-20', description: 'Consult', amountCents: '80', status: 'Draft' })
// A patient restricted with nobody named, so the reason page asks rather than sending the owner on.
const restricted = /\/patients\/(\d+)/.exec(String((await agent.post('/patients', { name: 'Restricted Walker' })).headers.location))![1]!
await agent.post(`/patients/${restricted}/restriction`, { restricted: 'on' })
const ids: Record<string, string> = {
  '/patients/:id/break-glass': restricted,
  '/patients/:id': patientId,
  '/appointments/:id': /\/appointments\/(\d+)/.exec(String(appointment.headers.location))![1]!,
  '/invoices/:id': /\/invoices\/(\d+)/.exec(String(invoice.headers.location))![1]!,
  '/settings/users/:id': String(clinic.reception.id)
}

function concreteUrl (url: string): string {
  const base = Object.keys(ids).find(prefix => url.startsWith(prefix))
  const concrete = base ? url.replace(':id', ids[base]!) : url
  return concrete.replace(':format', 'csv')
}

t.test('when the app starts, then every route declares how it is recorded', async t => {
  const undeclared = ctx.app.routeRecordings.filter(r => !['view', 'change', 'sign-in', 'exempt'].includes(r.recording))
  t.same(undeclared, [])
  const exempt = ctx.app.routeRecordings.filter(r => r.recording === 'exempt' && r.method !== 'HEAD').map(r => `${r.method} ${r.url}`)
  const chartToggles = ['POST /settings/users/history/chart', 'POST /patients/:id/history/chart', 'POST /appointments/:id/history/chart', 'POST /invoices/:id/history/chart']
  t.same(exempt.filter(r => !r.includes('/public/') && !r.includes('/vendor/')).sort(), ['GET /', 'GET /health', 'GET /ready', 'GET /login', 'GET /metrics', 'GET /settings/users/new', ...chartToggles].sort(),
    'only assets, the health and readiness checks, the metrics, the sign-in form, the start redirect, the blank user form and the history chart\'s show/hide toggle (a display preference) go unrecorded')
})

t.test('when every page that shows practice data is opened, then each records exactly one view of itself', async t => {
  const views = ctx.app.routeRecordings.filter(r => r.recording === 'view' && r.method === 'GET')
  t.ok(views.length >= 10, `${views.length} view routes`)
  for (const route of views) {
    const url = concreteUrl(route.url)
    const [last] = (await auditRows(ctx.em(), clinic.group.id)).slice(-1)
    const response = await agent.get(url)
    const added = await auditRows(ctx.em(), clinic.group.id, 'id > ?', [last!.id])
    if (url === '/settings/add-ons/subscribe') {
      t.same([response.statusCode, response.headers.location, added.length], [303, '/settings/add-ons', 0], 'a subscribed practice has no purchase to confirm: sent back to the add-ons, nothing shown, nothing recorded')
      continue
    }
    t.equal(response.statusCode, 200, `${url} opens`)
    t.equal(added.length, 1, `${url} records one row`)
    const exports = url.includes('/export.') || url.endsWith('/archive.zip') || url.endsWith('/receipt.json') || url.includes('/access-report')
    t.match(added[0], { action: exports ? 'export' : 'view', url, user_id: clinic.owner.id, ip: '203.0.113.40' }, `${url} records who, where and what`)
  }
})

t.test('when a view route answers without recording its view, then the page is withheld with 503', async t => {
  const probe = buildApp({ config: ctx.config, orm: ctx.orm, keeperOrm: ctx.keeper, clock: ctx.clock })
  probe.get('/probe', { config: { recording: 'view' } }, async (_request, reply) => reply.type('text/html').send('patient data'))
  await probe.ready()
  t.teardown(() => probe.close())
  const response = await probe.inject({ method: 'GET', url: '/probe' })
  t.equal(response.statusCode, 503)
  t.notMatch(response.body, 'patient data')
})

t.test('when a route forgets to declare how it is recorded, then the app refuses to start', async t => {
  const careless = buildApp({ config: ctx.config, orm: ctx.orm, keeperOrm: ctx.keeper, clock: ctx.clock })
  careless.register(async app => { app.get('/undeclared', async () => 'x') })
  await t.rejects(async () => { await careless.ready() }, /must declare config.recording/)
})
