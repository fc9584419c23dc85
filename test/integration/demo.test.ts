import t from 'tap'
import { unzipSync, strFromU8 } from 'fflate'
import { build } from '../helpers/app.js'
import { Agent } from '../helpers/agent.js'
import { DEMO_PASSWORD, seedDemo } from '../../src/seed/demo.js'
import { sealPracticeBefore } from '../../src/domain/chain/sealer.js'
import { PracticeGroup } from '../../src/domain/practice-groups/practice-group.entity.js'

const ctx = await build(t)
await seedDemo(ctx.owner, ctx.clock.now())
const harbour = await ctx.em().findOneOrFail(PracticeGroup, { name: 'Harbour Health Clinic' })
// The app's sealer catches up within a minute of start-up; here it is run at once.
const sealed = await sealPracticeBefore(ctx.em(), harbour.id, new Date('9999-01-01T00:00:00Z'), ctx.clock.now())

const olivia = new Agent(ctx.app)
await olivia.signIn('owner@harbour.test', DEMO_PASSWORD)

t.test('Olivia sees her whole 45 days, the chart and the expiry banner on the group history', async t => {
  const page = await olivia.get('/settings/users/history')
  t.equal(page.statusCode, 200)
  t.match(page.body, /Showing everything since \d\d\/\d\d\/\d{4} \d\d:\d\d, 30 days before your subscription began\./)
  t.match(page.body, 'hx-get="/settings/users/history/activity"')
  t.match(page.body, /Your User Action History subscription expires on \d\d\/\d\d\/\d{4} \d\d:\d\d<\/strong>: then [\d,]+ records will be permanently deleted\./)
  t.match(page.body, 'It expires because auto-renew is off.')
  t.match(page.body, /Then <strong>[\d,]+ records<\/strong>, from/)
  const chart = await olivia.get('/settings/users/history/activity', { 'hx-request': 'true' })
  t.equal(/<rect /g.exec(chart.body) !== null, true)
  t.match(chart.body, /[\d,]+ records from \d\d\/\d\d\/\d{4} to \d\d\/\d\d\/\d{4}; the busiest day was/)
})

t.test('Olivia verifies the chain and downloads the archive of what the lapse would delete', async t => {
  t.ok(sealed, 'every demo record is sealed')
  const verified = await olivia.post('/settings/users/history/verify', {}, { headers: { 'hx-request': 'true' } })
  t.match(verified.body, /All [\d,]+ records since \d\d\/\d\d\/\d{4} \d\d:\d\d are exactly as recorded\./)
  const archive = await olivia.get('/settings/users/history/archive.zip')
  t.equal(archive.statusCode, 200)
  const files = unzipSync(new Uint8Array(archive.rawPayload))
  t.ok(JSON.parse(strFromU8(files['manifest.json']!)).records > 100, 'days of everyday activity')
})

t.test('a change in the demo expands to its details', async t => {
  const updates = await olivia.get('/settings/users/history?action=update')
  t.match(updates.body, /<summary>Changes \(\d+\)<\/summary>/)
})

t.test('one Harbour patient is restricted: Riley gave a reason to open them, and is asked again in a new session', async t => {
  const reasons = await olivia.get(`/settings/users/history?${new URLSearchParams({ pageName: 'Break the glass' })}`)
  t.match(reasons.body, /Gave a reason to open patient [^<]+: Billing query/)
  const [restricted] = await ctx.em().getConnection().execute<{ patient_id: number }[]>(
    'select patient_id from restricted_patients where practice_group_id = ?', [harbour.id])
  t.ok(restricted)
  const riley = new Agent(ctx.app)
  await riley.signIn('reception@harbour.test', DEMO_PASSWORD)
  const opened = await riley.get(`/patients/${restricted!.patient_id}`)
  t.equal(opened.statusCode, 303)
  t.match(String(opened.headers.location), `/patients/${restricted!.patient_id}/break-glass`)
})

t.test('Olivia sees the demo\'s alerts on first sign-in: a family-name lookup, an evening view and a break-the-glass reason, with one denied attempt since records began', async t => {
  const page = await olivia.get('/settings/alerts')
  t.equal(page.statusCode, 200)
  t.match(page.body, /id="alert-badge" class="badge"[^>]*>3</, 'three open alerts in the top bar')
  t.match(page.body, 'Dr Priya Nair opened Marcus Nair, who shares their family name.')
  t.match(page.body, /Riley Reception used the practice&#39;s records outside opening hours|Riley Reception used the practice's records outside opening hours/)
  t.match(page.body, /Riley Reception gave a reason to open restricted patient [^<]+: Billing query/)
  t.match(page.body, '3 alerts and 1 denied attempt since records began')
})
