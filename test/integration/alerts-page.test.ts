import t from 'tap'
import type { MikroORM } from '@mikro-orm/core'
import { build } from '../helpers/app.js'
import { makeClinic } from '../helpers/clinic.js'
import { signedInAgent } from '../helpers/agent.js'
import { alertsOf, happened, makePatient, scanEverything } from '../helpers/alerts.js'
import { unique, makeUser } from '../../src/seed/factories.js'
import { inPracticeScope } from '../../src/db/practice-scope.js'
import { fromLocalInput } from '../../src/domain/time/zoned.js'

const ctx = await build(t)
ctx.clock.set('2026-11-25T03:00:00Z')
const clinic = await makeClinic(ctx.em())
const other = await makeClinic(ctx.em())
const family = unique('Wren')
const nosy = await makeUser(ctx.em(), clinic.group, { name: `Kit ${family}` })
const relative = await makePatient(ctx.em(), clinic.group.id, `Jo ${family}`)
const evening = fromLocalInput('2026-11-24T21:30', 'Australia/Sydney')!
await happened(ctx.em(), nosy, evening, { patientId: relative })
await happened(ctx.em(), other.reception, evening)
await scanEverything(ctx)
const [familyAlert, afterHoursAlert] = await alertsOf(ctx.em(), clinic.group.id)

const owner = await signedInAgent(ctx.app, clinic.owner.email)

const badge = (html: string): string | null => /id="alert-badge"[^>]*>(\d*)</.exec(html)?.[1] ?? null

interface Recorded { action: string, record_type: string | null, description: string, changes: unknown }
async function lastRecord (userId: number): Promise<Recorded> {
  const [row] = await ctx.em().getConnection().execute<Recorded[]>(
    'select action, record_type, description, changes from audit_records where user_id = ? order by id desc limit 1', [userId])
  return row!
}

t.test('when a Full Access user opens Settings > Alerts, then the alerts are listed newest first with the person, the patient and the evidence', async t => {
  t.ok(familyAlert && afterHoursAlert, 'the pass raised a family-name and an after-hours alert')
  const page = await owner.get('/settings/alerts')
  t.equal(page.statusCode, 200)
  t.match(page.body, 'Shared family name')
  t.match(page.body, `Jo ${family}`)
  t.match(page.body, `Kit ${family}`)
  t.notMatch(page.body, other.reception.name, 'nothing of another practice')
  t.equal(badge(page.body), '2', 'the top bar counts two open alerts')
  const evidence = [...page.body.matchAll(/class="alert-evidence" href="([^"]+)"/g)].map(m => m[1]!.replace(/&amp;/g, '&'))
  t.ok(evidence.some(href => href.startsWith(`/patients/${relative}/history?range=custom&from=2026-11-24T21%3A30&to=2026-11-24T21%3A30&user=${nosy.id}`)), 'the family-name evidence is the patient\'s history for that person and minute')
  for (const href of evidence) {
    const history = await owner.get(href)
    t.equal(history.statusCode, 200, `${href} opens`)
    t.match(history.body, `Kit ${family}`)
  }
  t.equal((await lastRecord(clinic.owner.id)).action, 'view')
})

t.test('when other users look for alerts, then they see no tab, no badge, and a refusal that is recorded', async t => {
  const practitioner = await signedInAgent(ctx.app, clinic.practitioner.email)
  const patients = await practitioner.get('/settings/users')
  t.equal(badge(patients.body), null, 'no badge')
  t.notMatch(patients.body, 'href="/settings/alerts"', 'no Alerts tab')
  const refused = await practitioner.get('/settings/alerts')
  t.equal(refused.statusCode, 403)
  t.equal((await lastRecord(clinic.practitioner.id)).action, 'denied')
  const refusedPost = await practitioner.post(`/settings/alerts/${familyAlert!.id}/acknowledge`, { note: 'Not mine to say' })
  t.equal(refusedPost.statusCode, 403)
  const otherOwner = await signedInAgent(ctx.app, other.owner.email)
  const elsewhere = await otherOwner.post(`/settings/alerts/${familyAlert!.id}/acknowledge`, { note: 'Not our practice' })
  t.equal(elsewhere.statusCode, 404, 'another practice\'s alert does not exist for them')
  t.equal((await alertsOf(ctx.em(), clinic.group.id)).length, 2)
})

t.test('when a Full Access user acknowledges an alert, then a note is required, it is recorded, and the badge counts one fewer', async t => {
  await owner.get('/settings/alerts')
  const empty = await owner.post(`/settings/alerts/${familyAlert!.id}/acknowledge`, { note: '  ' })
  t.equal(empty.statusCode, 422)
  t.match(empty.body, 'Write a note')
  const emptyHtmx = await owner.post(`/settings/alerts/${familyAlert!.id}/acknowledge`, { note: '' }, { headers: { 'hx-request': 'true' } })
  t.equal(emptyHtmx.statusCode, 400, 'htmx swaps the alert back with its error')
  t.match(emptyHtmx.body, /^<li id="alert-/)

  const done = await owner.post(`/settings/alerts/${familyAlert!.id}/acknowledge`, { note: 'Kit looked up their cousin at the front desk; spoken to.' }, { headers: { 'hx-request': 'true' } })
  t.equal(done.statusCode, 200)
  t.match(done.body, 'Acknowledged by')
  t.match(done.body, /id="alert-badge" class="badge"[^>]*hx-swap-oob="true"[^>]*>1</, 'the badge swaps to one')
  t.match(done.body, 'aria-label="1 unacknowledged alert"', 'and says so in the singular')
  const recorded = await lastRecord(clinic.owner.id)
  t.equal(recorded.action, 'update')
  t.equal(recorded.record_type, 'alert')
  t.match(recorded.description, 'spoken to')

  const again = await owner.post(`/settings/alerts/${familyAlert!.id}/acknowledge`, { note: 'Twice' })
  t.equal(again.statusCode, 422, 'an acknowledgement stands')
  const plain = await owner.post(`/settings/alerts/${afterHoursAlert!.id}/acknowledge`, { note: 'Late clinic that evening.' })
  t.equal(plain.statusCode, 303, 'without JavaScript the form posts and comes back')
  const page = await owner.get('/settings/alerts')
  t.equal(badge(page.body), '', 'no open alerts left')
})

t.test('when the rules are changed, then bad values are explained in place and a good change is recorded with its changes', async t => {
  const form = await owner.get('/settings/alerts/rules')
  t.equal(form.statusCode, 200)
  t.match(form.body, 'value="07:00"')
  const values: Record<string, string> = {
    'rule-family-name': 'on', 'rule-own-record': 'on', 'rule-many-patients': 'on', 'rule-large-export': 'on', 'rule-denied-attempts': 'on', 'rule-break-the-glass': 'on',
    manyPatientsCount: '30', manyPatientsMinutes: '10', largeExportCount: '1000', deniedAttemptsCount: '10', deniedAttemptsMinutes: '10',
    'opens-1': '07:00', 'closes-1': '19:00', 'opens-2': '07:00', 'closes-2': '19:00', 'opens-3': '07:00', 'closes-3': '19:00',
    'opens-4': '07:00', 'closes-4': '19:00', 'opens-5': '07:00', 'closes-5': '19:00', 'opens-6': '08:00', 'closes-6': '13:00'
  }
  const bad = await owner.post('/settings/alerts/rules', { ...values, manyPatientsCount: '1e2', 'opens-7': '25:00', 'closes-7': '26:00', 'opens-1': '19:00', 'closes-1': '07:00' })
  t.equal(bad.statusCode, 422)
  t.match(bad.body, 'The number of patients must be a whole number from 1 to 10,000.')
  t.match(bad.body, 'Monday must close after it opens.')
  t.match(bad.body, /Give Sunday(&#39;|')s opening and closing times as HH:MM/)
  const saved = await owner.post('/settings/alerts/rules', { ...values, largeExportCount: '500', 'opens-7': '09:00', 'closes-7': '12:00' })
  t.equal(saved.statusCode, 303)
  const recorded = await lastRecord(clinic.owner.id)
  t.equal(recorded.action, 'update')
  t.match(recorded.description, 'Outside opening hours: On → Off')
  t.match(recorded.description, 'Large export: records: 1,000 → 500')
  t.match(recorded.description, 'Sunday hours: Closed → 09:00–12:00')
  t.ok(Array.isArray(recorded.changes) && (recorded.changes as unknown[]).length === 3)
  const reread = await owner.get('/settings/alerts/rules')
  t.match(reread.body, 'name="largeExportCount" inputmode="numeric" value="500"')
  t.notMatch(reread.body, 'id="rule-after-hours" name="rule-after-hours" type="checkbox" checked')
})

t.test('when the history is marked reviewed, then the page says up to when and by whom, what arrived since, and lists earlier reviews', async t => {
  const before = await owner.get('/settings/alerts')
  t.match(before.body, 'has not been reviewed yet')
  t.match(before.body, '2 alerts and 2 denied attempts since records began')
  const future = await owner.post('/settings/alerts/reviews', { reviewedUpTo: '2026-12-31', note: 'Looked ahead' })
  t.equal(future.statusCode, 422)
  t.match(future.body, 'cannot cover days still to come')
  const first = await owner.post('/settings/alerts/reviews', { reviewedUpTo: '2026-11-23', note: 'Monthly review: nothing found.' })
  t.equal(first.statusCode, 303)
  t.equal((await lastRecord(clinic.owner.id)).record_type, 'access review')
  await owner.post('/settings/alerts/reviews', { reviewedUpTo: '2026-11-24', note: 'Followed up the evening access.' })
  const page = await owner.get('/settings/alerts')
  t.match(page.body, /Reviewed up to <strong>24\/11\/2026<\/strong> by [^<]*Owner/)
  t.match(page.body, '0 alerts and 2 denied attempts since the last review', 'the practitioner\'s refusals came on the 25th')
  t.match(page.body, 'Monthly review: nothing found.')
  const earlier = await owner.post('/settings/alerts/reviews', { reviewedUpTo: '2026-11-20', note: 'Going back' })
  t.equal(earlier.statusCode, 422)
  t.match(earlier.body, 'already reviewed up to 24/11/2026')
})

async function sendAsApp (orm: MikroORM, sql: string, params: unknown[], practiceGroupId: number): Promise<unknown> {
  return inPracticeScope(practiceGroupId, () => orm.em.getConnection().execute(sql, params, 'all'))
}

t.test('when the app\'s own login tries to raise, rewrite or hide alerts, then the database refuses', async t => {
  await t.rejects(sendAsApp(ctx.orm, `insert into alerts (practice_group_id, rule, subject_key, raised_at, summary, evidence_from, evidence_to)
    values (?, 'after-hours', 'x', now(), 'Made up', now(), now())`, [clinic.group.id], clinic.group.id), /permission denied/)
  await t.rejects(sendAsApp(ctx.orm, 'update alerts set summary = ? where id = ?', ['Rewritten', familyAlert!.id], clinic.group.id), /permission denied/)
  await t.rejects(sendAsApp(ctx.orm, 'delete from alerts where id = ?', [familyAlert!.id], clinic.group.id), /permission denied/)
  await t.rejects(sendAsApp(ctx.orm, "update alert_scan_state set scanned_below = '0'", [], clinic.group.id), /permission denied/)
  const seen = await sendAsApp(ctx.orm, 'select id from alerts where practice_group_id = ?', [clinic.group.id], other.group.id) as unknown[]
  t.same(seen, [], 'another practice sees none of these alerts')
})

t.test('when a Full Access user tries to acknowledge an alert about their own actions, then it is refused in place', async t => {
  const secondOwner = await makeUser(ctx.em(), clinic.group, { name: unique('Second Owner'), accessLevel: 'Full Access', canViewHistory: true })
  await ctx.em().getConnection().execute(
    `insert into alerts (practice_group_id, rule, subject_key, raised_at, user_id, user_name, summary, evidence_from, evidence_to)
     values (?, 'after-hours', ?, now(), ?, ?, 'Used the records at night.', now(), now())`, [clinic.group.id, String(clinic.owner.id), clinic.owner.id, clinic.owner.name])
  const [own] = (await alertsOf(ctx.em(), clinic.group.id)).filter(a => a.user_id === clinic.owner.id)
  await owner.get('/settings/alerts')
  const refused = await owner.post(`/settings/alerts/${own!.id}/acknowledge`, { note: 'It was me, all fine' })
  t.equal(refused.statusCode, 422)
  t.match(refused.body, 'another Full Access user must acknowledge it')
  const colleague = await signedInAgent(ctx.app, secondOwner.email)
  await colleague.get('/settings/alerts')
  t.equal((await colleague.post(`/settings/alerts/${own!.id}/acknowledge`, { note: 'Checked with them' })).statusCode, 303)
})
