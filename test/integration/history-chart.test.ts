import t from 'tap'
import { build } from '../helpers/app.js'
import { signedInAgent } from '../helpers/agent.js'
import { makeClinic } from '../helpers/clinic.js'
import { addRecord } from '../helpers/history.js'
import { subscribeAt } from '../helpers/subscriptions.js'

const ctx = await build(t)
ctx.clock.set('2026-11-25T03:00:00Z') // 14:00 in Sydney
const em = ctx.em()

/** The chart's days as its table states them, newest first: "25/11/2026 2". */
function chartDays (html: string): string[] {
  const table = /<details class="chart-table">([\s\S]*?)<\/details>/.exec(html)?.[1] ?? ''
  return [...table.matchAll(/<tr><td>([^<]+)<\/td><td class="num">([^<]+)<\/td><\/tr>/g)].map(m => `${m[1]} ${m[2]}`)
}
const summary = (html: string): string => /<p id="activity-chart-summary" class="chart-summary">([^<]*)<\/p>/.exec(html)?.[1] ?? ''
const bars = (html: string): number => [...html.matchAll(/<rect /g)].length

const clinic = await makeClinic(em)
await addRecord(em, clinic.owner, { at: '2026-11-24T13:30:00Z', description: 'Just after midnight in Sydney' }) // 25/11 00:30
await addRecord(em, clinic.owner, { at: '2026-11-24T12:30:00Z', description: 'Just before midnight in Sydney' }) // 24/11 23:30
for (let i = 0; i < 3; i++) await addRecord(em, clinic.owner, { at: '2026-11-21T05:00:00Z', description: `Busy day ${i}` }) // 21/11 16:00
await addRecord(em, clinic.practitioner, { at: '2026-11-21T06:00:00Z', action: 'update', description: 'Changed an appointment' })
await addRecord(em, clinic.owner, { at: '2026-11-10T05:00:00Z', description: 'Outside the free window' })

const owner = await signedInAgent(ctx.app, clinic.owner.email)
await owner.get('/settings/users/history')

t.test('the history page loads the chart for its own filters after the table', async t => {
  const page = await owner.get(`/settings/users/history?action=update&sort=user&dir=asc&page=1`)
  t.match(page.body, `hx-get="/settings/users/history/activity?action=update"`, 'the chart follows the filters, not the sort or the page')
  t.match(page.body, /<a href="\/settings\/users\/history\/activity\?action=update" hx-boost="false">Activity per day \(chart\)<\/a>/, 'and is a link without JavaScript')
})

t.test('records are counted on the practice\'s calendar days, every day of the visible window drawn', async t => {
  // Signing in and opening pages are recorded today too: the Page filter keeps to the records made here.
  const chart = await owner.get('/settings/users/history/activity?pageName=Patients', { 'hx-request': 'true' })
  t.equal(chart.statusCode, 200)
  t.notMatch(chart.body, /<html/)
  t.same(chartDays(chart.body), ['25/11/2026 1', '24/11/2026 1', '21/11/2026 4'], 'midnight falls in Sydney, not UTC; the free window hides 10/11')
  t.equal(bars(chart.body), 8, 'one bar for each day from 18/11 to 25/11, empty days included')
  t.match(summary(chart.body), '6 records from 18/11/2026 to 25/11/2026; the busiest day was 21/11/2026 with 4 records.')
  t.match(chart.body, /role="img" aria-labelledby="activity-chart-title activity-chart-summary"/)
  t.match(chart.body, /<title>21\/11\/2026: 4 records<\/title>/, 'each bar names its day and count')
})

t.test('filters change the counts', async t => {
  const updates = await owner.get('/settings/users/history/activity?action=update', { 'hx-request': 'true' })
  t.same(chartDays(updates.body), ['21/11/2026 1'])
  const text = await owner.get(`/settings/users/history/activity?description=${encodeURIComponent('busy')}`, { 'hx-request': 'true' })
  t.same(chartDays(text.body), ['21/11/2026 3'])
  const none = await owner.get(`/settings/users/history/activity?description=${encodeURIComponent('nothing like this')}`, { 'hx-request': 'true' })
  t.match(summary(none.body), 'No records in this view from 18/11/2026 to 25/11/2026.')
  t.same(chartDays(none.body), [])
})

t.test('someone without Full Access sees only their own activity in the chart too', async t => {
  const practitioner = await signedInAgent(ctx.app, clinic.practitioner.email)
  await practitioner.get('/settings/users/history')
  const chart = await practitioner.get('/settings/users/history/activity?pageName=Patients', { 'hx-request': 'true' })
  t.same(chartDays(chart.body), ['21/11/2026 1'])
  const locum = await signedInAgent(ctx.app, clinic.practitionerWithoutHistory.email)
  t.equal((await locum.get('/settings/users/history/activity')).statusCode, 403)
})

t.test('without JavaScript the chart is a page of its own that leads back to the same view', async t => {
  const page = await owner.get('/settings/users/history/activity?action=update')
  t.match(page.body, /<h1>Activity per day: User Action History<\/h1>/)
  t.match(page.body, '<a href="/settings/users/history?action=update">‹ User Action History</a>')
})

t.test('dates that start after today draw nothing and say why', async t => {
  const future = await owner.get('/settings/users/history/activity?from=2026-12-01T00:00', { 'hx-request': 'true' })
  t.equal(future.statusCode, 200)
  t.equal(bars(future.body), 0)
  t.match(summary(future.body), 'Nothing to draw: the chosen dates start after today.')
})

t.test('bad filters get a clear 400, not a chart', async t => {
  const bad = await owner.get('/settings/users/history/activity?from=2026-13-45T10:00', { 'hx-request': 'true' })
  t.equal(bad.statusCode, 400)
  t.match(bad.body, /not a real date/)
})

t.test('a record history charts that record only, and another practice\'s record is not found', async t => {
  const patientHistory = `/patients/4242/history/activity`
  await addRecord(em, clinic.owner, { at: '2026-11-22T05:00:00Z', recordType: 'patient', recordId: '4242', description: 'Viewed patient 4242' })
  const chart = await owner.get(patientHistory, { 'hx-request': 'true' })
  t.equal(chart.statusCode, 200)
  t.same(chartDays(chart.body), ['22/11/2026 1'])
  const other = await makeClinic(em)
  const outsider = await signedInAgent(ctx.app, other.owner.email)
  t.equal((await outsider.get(patientHistory)).statusCode, 404)
})

t.test('a long subscribed window draws its newest 90 days and says so', async t => {
  const subscribed = await makeClinic(ctx.em(), { creditBalance: 1000 })
  await subscribeAt(ctx.em(), subscribed.owner, '2026-08-01T00:00:00Z') // the window opens 02/07/2026, still active: no job has run
  await addRecord(ctx.em(), subscribed.owner, { at: '2026-07-20T05:00:00Z', description: 'Inside the window, before the chart' })
  await addRecord(ctx.em(), subscribed.owner, { at: '2026-11-01T05:00:00Z', description: 'This month' })
  const agent = await signedInAgent(ctx.app, subscribed.owner.email)
  await agent.get('/settings/users/history')
  const chart = await agent.get('/settings/users/history/activity?pageName=Patients', { 'hx-request': 'true' })
  t.equal(bars(chart.body), 90)
  t.match(chart.body, 'Records per day, the newest 90 days of this view')
  t.same(chartDays(chart.body), ['01/11/2026 1'])
})
