import t, { type Test } from 'tap'
import { unzipSync, strFromU8 } from 'fflate'
import { build } from '../helpers/app.js'
import { Agent } from '../helpers/agent.js'
import { DEMO_PASSWORD, seedDemo } from '../../src/seed/demo.js'
import { sealPracticeBefore } from '../../src/domain/chain/sealer.js'
import { PracticeGroup } from '../../src/domain/practice-groups/practice-group.entity.js'
import { DAY_MS, fromLocalInput, localIsoDate, toLocalInput } from '../../src/domain/time/zoned.js'
import { simulateEverydayUse } from '../../src/seed/everyday-use.js'
import { makePracticeGroup, makeUser, unique } from '../../src/seed/factories.js'

const ZONE = 'Australia/Sydney'

/** The latest moment before `before` at which Sydney's clocks show `time` on the ISO weekday given. */
function latestSydney (weekday: number, time: string, before = new Date()): Date {
  for (let daysAgo = 0; ; daysAgo++) {
    const date = localIsoDate(new Date(before.getTime() - daysAgo * DAY_MS), ZONE)
    const at = fromLocalInput(`${date}T${time}`, ZONE)!
    if (localWeekday(at) === weekday && at < before) return at
  }
}

function localWeekday (instant: Date): number {
  const day = new Date(`${localIsoDate(instant, ZONE)}T00:00:00Z`).getUTCDay()
  return day === 0 ? 7 : day
}

/** What anyone reading the demo expects of a clinic: weekdays 08:00–18:00 but for lunch, 12:30–13:30; Saturday 08:00–12:00; closed on Sunday. */
function inClinicHours (instant: Date): boolean {
  const time = toLocalInput(instant, ZONE).slice(11)
  const weekday = localWeekday(instant)
  if (weekday === 7) return false
  if (weekday === 6) return time >= '08:00' && time < '12:00'
  return time >= '08:00' && time < '18:00' && !(time >= '12:30' && time < '13:30')
}

const ctx = await build(t)
// Loaded on a Monday morning, after a closed Sunday, with the day's first appointments seen or under way.
ctx.clock.set(latestSydney(1, '10:20'))
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

interface SeededAppointment { id: number, starts_at: string, duration_minutes: number, status: string }

async function appointmentsOf (practiceGroupId: number): Promise<SeededAppointment[]> {
  return await ctx.em().getConnection().execute<SeededAppointment[]>(
    'select id, starts_at, duration_minutes, status from appointments where practice_group_id = ? order by id', [practiceGroupId])
}

async function recordTimesOf (practiceGroupId: number): Promise<{ occurred_at: string, user_name: string, action: string, description: string }[]> {
  return await ctx.em().getConnection().execute(
    'select occurred_at, user_name, action, description from audit_records where practice_group_id = ? order by occurred_at', [practiceGroupId])
}

/** Each appointment's start, on the quarter hour, and its end inside the same opening hours; its status as the clock says. */
function checkAppointments (t: Test, appointments: SeededAppointment[], now: Date): void {
  const wrong: string[] = []
  for (const a of appointments) {
    const start = new Date(a.starts_at)
    const end = new Date(start.getTime() + a.duration_minutes * 60_000)
    const lastMinute = new Date(end.getTime() - 60_000)
    const at = `${a.id} ${toLocalInput(start, ZONE)} ${a.status}`
    if (start.getTime() % (15 * 60_000) !== 0) wrong.push(`${at}: not on the quarter hour`)
    if (!inClinicHours(start) || !inClinicHours(lastMinute)) wrong.push(`${at}: outside opening hours`)
    const expected = now < start ? 'Booked' : now < end ? 'Arrived' : 'Completed'
    if (a.status !== expected) wrong.push(`${at}: should be ${expected} at ${toLocalInput(now, ZONE)}`)
  }
  t.same(wrong.slice(0, 10), [], `${appointments.length} appointments in opening hours, with their status as of now`)
  t.ok(appointments.some(a => a.status === 'Booked'), 'some appointments are still to come')
  t.ok(appointments.some(a => a.status === 'Completed'), 'some have been seen')
}

/** No appointment was marked Arrived (or Completed) before it started. */
async function checkNoEarlyArrivals (t: Test, practiceGroupId: number): Promise<void> {
  const early = await ctx.em().getConnection().execute(
    `select r.description from audit_records r join appointments a on a.practice_group_id = r.practice_group_id and a.id::text = r.record_id
      where r.practice_group_id = ? and r.record_type = 'appointment' and r.action = 'update'
        and r.changes @> '[{"field": "status"}]' and r.occurred_at < a.starts_at`, [practiceGroupId])
  t.same(early, [], 'no appointment changes status before it starts')
}

t.test('the demo clinic works in its opening hours: every record and appointment falls inside them, but for the evening view the after-hours alert is about', async t => {
  const now = ctx.clock.now()
  const records = await recordTimesOf(harbour.id)
  t.ok(records.length > 500, `${records.length} records`)
  const outside = records.filter(r => !inClinicHours(new Date(r.occurred_at)))
    .map(r => `${toLocalInput(new Date(r.occurred_at), ZONE)} ${r.user_name} ${r.action}`)
  t.equal(outside.length, 1, outside.slice(0, 10).join('; '))
  t.match(outside[0], /^\d{4}-\d\d-\d\dT21:40 Riley Reception view$/)
  checkAppointments(t, await appointmentsOf(harbour.id), now)
  await checkNoEarlyArrivals(t, harbour.id)
})

t.test('when the demo is loaded in the small hours of a Sunday, the clinic still worked only in its opening hours', async t => {
  const now = latestSydney(7, '02:13')
  const group = await makePracticeGroup(ctx.em(), { name: unique('Night Clinic'), timeZone: ZONE })
  const users = [
    await makeUser(ctx.em(), group, { accessLevel: 'Full Access' }),
    await makeUser(ctx.em(), group, { accessLevel: 'Practitioner' }),
    await makeUser(ctx.em(), group, { accessLevel: 'Reception' })
  ]
  await simulateEverydayUse(ctx.em(), group, users, now, 14, 99)
  const records = await recordTimesOf(group.id)
  t.ok(records.length > 100, `${records.length} records`)
  t.same(records.filter(r => !inClinicHours(new Date(r.occurred_at))).map(r => `${toLocalInput(new Date(r.occurred_at), ZONE)} ${r.description}`).slice(0, 10), [])
  checkAppointments(t, await appointmentsOf(group.id), now)
  await checkNoEarlyArrivals(t, group.id)
})
