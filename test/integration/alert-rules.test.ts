import t from 'tap'
import pg from 'pg'
import { build } from '../helpers/app.js'
import { makeClinic, type Clinic } from '../helpers/clinic.js'
import { alertsOf, happened, makePatient, scanEverything } from '../helpers/alerts.js'
import { makeUser, unique } from '../../src/seed/factories.js'
import { scanForAlerts } from '../../src/domain/alerts/alert-scan.js'
import { fromLocalInput } from '../../src/domain/time/zoned.js'

const ctx = await build(t)
/** A Tuesday, in the clinic's own time zone: 10:00 is well inside the default opening hours. */
const at = (localTime: string): Date => fromLocalInput(localTime, 'Australia/Sydney')!
const TUESDAY = (time: string): Date => at(`2026-11-24T${time}`)
const scan = (): Promise<number> => scanEverything(ctx)

async function clinicWithScan (): Promise<Clinic> {
  return makeClinic(ctx.em())
}

async function rulesFired (clinic: Clinic): Promise<string[]> {
  await scan()
  return (await alertsOf(ctx.em(), clinic.group.id)).map(a => a.rule)
}

t.test('when a user opens a patient who shares their family name, then an alert names both; a similar name does not', async t => {
  const clinic = await clinicWithScan()
  const family = unique('Quill')
  const nora = await makeUser(ctx.em(), clinic.group, { name: `Nora ${family}` })
  const relative = await makePatient(ctx.em(), clinic.group.id, `Sam ${family}`)
  const stranger = await makePatient(ctx.em(), clinic.group.id, `Sam ${family}son`)
  await happened(ctx.em(), nora, TUESDAY('10:00'), { patientId: stranger })
  t.same(await rulesFired(clinic), [], 'a longer family name is a near miss')
  await happened(ctx.em(), nora, TUESDAY('10:05'), { patientId: relative })
  await happened(ctx.em(), nora, TUESDAY('10:06'), { patientId: relative })
  const alerts = await alertsOf(ctx.em(), clinic.group.id)
  await scan()
  const after = await alertsOf(ctx.em(), clinic.group.id)
  t.same(after.map(a => [a.rule, a.user_id, a.patient_id]), [['family-name', nora.id, relative]], 'one alert for the two openings')
  t.equal(alerts.length, 0, 'nothing before the pass')
  t.match(after[0]!.summary, `opened Sam ${family}`)
})

t.test('when a user opens a patient record with their own email, then it is flagged; the same first name is not', async t => {
  const clinic = await clinicWithScan()
  const self = await makePatient(ctx.em(), clinic.group.id, 'Pat Example', clinic.practitioner.email.toUpperCase())
  const namesake = await makePatient(ctx.em(), clinic.group.id, `${clinic.practitioner.name} Other`, 'someone@example.test')
  await happened(ctx.em(), clinic.practitioner, TUESDAY('11:00'), { patientId: namesake })
  t.same(await rulesFired(clinic), [])
  await happened(ctx.em(), clinic.practitioner, TUESDAY('11:01'), { patientId: self })
  t.same(await rulesFired(clinic), ['own-record'])
})

t.test('when someone uses the records outside opening hours, then it is flagged; a minute before closing is not', async t => {
  const clinic = await clinicWithScan()
  await happened(ctx.em(), clinic.reception, TUESDAY('18:59'))
  await happened(ctx.em(), clinic.reception, at('2026-11-28T12:30'))
  t.same(await rulesFired(clinic), [], 'Tuesday 18:59 and Saturday 12:30 are open')
  await happened(ctx.em(), clinic.reception, TUESDAY('19:00'))
  await happened(ctx.em(), clinic.reception, TUESDAY('19:50'))
  await happened(ctx.em(), clinic.reception, TUESDAY('20:35'))
  await happened(ctx.em(), clinic.reception, TUESDAY('21:15'))
  await happened(ctx.em(), clinic.owner, at('2026-11-29T10:00'))
  const alerts = (await scan(), await alertsOf(ctx.em(), clinic.group.id))
  t.same(alerts.map(a => [a.rule, a.user_id]), [['after-hours', clinic.reception.id], ['after-hours', clinic.owner.id]], 'closing time, the evening and Sunday')
  t.same([alerts[0]!.evidence_from, alerts[0]!.evidence_to], [TUESDAY('19:00'), TUESDAY('21:15')], 'the evidence spans the evening')
})

t.test('when one user opens more than 30 patients within 10 minutes, then it is flagged once; 30, or 31 over 11 minutes, are not', async t => {
  const clinic = await clinicWithScan()
  const patients: number[] = []
  for (let i = 0; i < 31; i++) patients.push(await makePatient(ctx.em(), clinic.group.id, `Patient ${i}`))
  for (let i = 0; i < 30; i++) await happened(ctx.em(), clinic.practitioner, new Date(TUESDAY('09:00').getTime() + i * 10_000), { patientId: patients[i] })
  await happened(ctx.em(), clinic.practitioner, TUESDAY('09:06'), { patientId: patients[0] })
  t.same(await rulesFired(clinic), [], '30 distinct patients, one opened twice')
  await happened(ctx.em(), clinic.practitioner, TUESDAY('09:11'), { patientId: patients[30] })
  t.same(await rulesFired(clinic), [], 'the 31st comes 11 minutes after the first')

  for (let i = 0; i < 30; i++) await happened(ctx.em(), clinic.reception, new Date(TUESDAY('14:00').getTime() + i * 10_000), { patientId: patients[i] })
  t.same(await rulesFired(clinic), [], 'a pass in the middle of the burst sees 30')
  await happened(ctx.em(), clinic.reception, TUESDAY('14:09'), { patientId: patients[30] })
  await happened(ctx.em(), clinic.reception, TUESDAY('14:09:30'), { patientId: patients[29] })
  const alerts = (await scan(), await alertsOf(ctx.em(), clinic.group.id))
  t.same(alerts.map(a => [a.rule, a.user_id]), [['many-patients', clinic.reception.id]], 'the next pass completes it from records the first one read')
  t.same([alerts[0]!.evidence_from, alerts[0]!.evidence_to], [TUESDAY('14:00'), TUESDAY('14:09')])
  await happened(ctx.em(), clinic.reception, TUESDAY('14:10'), { patientId: patients[1] })
  t.same(await rulesFired(clinic), ['many-patients'], 'the burst going on raises nothing new')
})

t.test('when a burst is read in passes of a few records each, as a backlog is, then it is flagged once, as one pass would flag it', async t => {
  const clinic = await clinicWithScan()
  await scan()
  const patients: number[] = []
  for (let i = 0; i < 31; i++) patients.push(await makePatient(ctx.em(), clinic.group.id, `Patient ${i}`))
  for (let i = 0; i < 31; i++) await happened(ctx.em(), clinic.practitioner, new Date(TUESDAY('09:00').getTime() + i * 10_000), { patientId: patients[i] })
  let cutShort = 0
  let read = 0
  for (;;) {
    const pass = await scanForAlerts(ctx.keeper.em.fork(), ctx.clock.now(), 4)
    read += pass.records
    if (pass.caughtUp) break
    cutShort++
  }
  t.ok(cutShort >= 5, `${cutShort} passes stopped short of the end`)
  t.ok(read >= 31, 'together they read every record')
  const alerts = await alertsOf(ctx.em(), clinic.group.id)
  t.same(alerts.map(a => [a.rule, a.user_id]), [['many-patients', clinic.practitioner.id]])
  t.same([alerts[0]!.evidence_from, alerts[0]!.evidence_to], [TUESDAY('09:00'), TUESDAY('09:05')])
})

t.test('when an export holds more than 1,000 records, then it is flagged; exactly 1,000 is not', async t => {
  const clinic = await clinicWithScan()
  await happened(ctx.em(), clinic.owner, TUESDAY('12:00'), { action: 'export', description: 'Exported 1000 records as CSV from Group history (no filters)' })
  t.same(await rulesFired(clinic), [])
  await happened(ctx.em(), clinic.owner, TUESDAY('12:01'), { action: 'export', description: 'Archived 1001 records from before 01/01/2026 00:00, which the end of the subscription would delete' })
  t.same(await rulesFired(clinic), ['large-export'])
})

t.test('when more than 10 attempts are denied to one user or from one address within 10 minutes, then each is flagged; 10 are not', async t => {
  const clinic = await clinicWithScan()
  for (let i = 0; i < 10; i++) await happened(ctx.em(), clinic.reception, new Date(TUESDAY('15:00').getTime() + i * 30_000), { action: 'denied', ip: '198.51.100.7' })
  t.same(await rulesFired(clinic), [], 'ten denied attempts')
  await happened(ctx.em(), clinic.practitionerWithoutHistory, TUESDAY('15:06'), { action: 'denied', ip: '198.51.100.7' })
  const byAddress = (await scan(), await alertsOf(ctx.em(), clinic.group.id))
  t.same(byAddress.map(a => [a.rule, a.user_id, a.ip]), [['denied-attempts', null, '198.51.100.7']], 'eleven from one address, by two people')
  await happened(ctx.em(), clinic.reception, TUESDAY('15:07'), { action: 'denied', ip: '198.51.100.8' })
  const byUser = (await scan(), await alertsOf(ctx.em(), clinic.group.id))
  t.same(byUser.map(a => [a.rule, a.user_id, a.ip]), [['denied-attempts', null, '198.51.100.7'], ['denied-attempts', clinic.reception.id, null]], 'eleven by one person')
})

t.test('when someone gives a reason to open a restricted patient, then every such opening raises an alert; a plain view does not', async t => {
  const clinic = await clinicWithScan()
  const patient = await makePatient(ctx.em(), clinic.group.id, 'Restricted Person')
  await happened(ctx.em(), clinic.reception, TUESDAY('10:00'), { patientId: patient, page: 'Break the glass', description: 'Viewed the reason page' })
  t.same(await rulesFired(clinic), [])
  for (const minute of ['10:01', '10:02']) {
    await happened(ctx.em(), clinic.reception, TUESDAY(minute), { patientId: patient, page: 'Break the glass', description: 'Gave a reason to open Restricted Person: covering for a colleague' })
  }
  const alerts = (await scan(), await alertsOf(ctx.em(), clinic.group.id))
  t.same(alerts.map(a => [a.rule, a.patient_id]), [['break-the-glass', patient], ['break-the-glass', patient]])
  t.match(alerts[0]!.summary, 'covering for a colleague')
})

t.test('when a practice turns a rule off, then it raises nothing under that rule', async t => {
  const clinic = await clinicWithScan()
  await ctx.em().getConnection().execute('insert into alert_settings (practice_group_id, after_hours) values (?, false)', [clinic.group.id])
  await happened(ctx.em(), clinic.reception, TUESDAY('23:00'))
  t.same(await rulesFired(clinic), [])
})

t.test('when the pass runs again, or a transaction commits late, then every record is read exactly once', async t => {
  const clinic = await clinicWithScan()
  const family = unique('Lark')
  const ida = await makeUser(ctx.em(), clinic.group, { name: `Ida ${family}` })
  const relative = await makePatient(ctx.em(), clinic.group.id, `Max ${family}`)
  const late = new pg.Client({ connectionString: ctx.databaseUrl })
  await late.connect()
  t.teardown(() => late.end())
  await late.query('begin')
  await late.query(`insert into audit_records (practice_group_id, occurred_at, user_id, user_name, action, page, record_type, record_id, description, url, patient_id)
    values ($1, $2, $3, $4, 'view', 'Patients', 'patient', $5, 'Viewed a patient', '/patients', $6)`, [clinic.group.id, TUESDAY('10:00'), ida.id, ida.name, String(relative), relative])
  await happened(ctx.em(), clinic.owner, TUESDAY('22:00'))
  const first = await scanForAlerts(ctx.keeper.em.fork(), ctx.clock.now())
  t.equal(first.records, 0, 'a record after a running transaction waits with it')
  t.same(await alertsOf(ctx.em(), clinic.group.id), [])
  await late.query('commit')
  t.ok(await scan() >= 2, 'both read once the transaction finished')
  t.same((await alertsOf(ctx.em(), clinic.group.id)).map(a => a.rule).sort(), ['after-hours', 'family-name'])
  const third = await scanForAlerts(ctx.keeper.em.fork(), ctx.clock.now())
  t.same(third, { records: 0, alerts: 0, caughtUp: true }, 'a pass over nothing new reads nothing')
  t.equal((await alertsOf(ctx.em(), clinic.group.id)).length, 2, 'and raises nothing twice')
})

t.test('when after-hours use is read in one pass or split across two, then the alerts are the same', async t => {
  const oneGo = await clinicWithScan()
  const split = await clinicWithScan()
  for (const time of ['19:00', '19:40', '21:15']) await happened(ctx.em(), oneGo.reception, TUESDAY(time))
  await happened(ctx.em(), split.reception, TUESDAY('19:00'))
  await scan()
  await happened(ctx.em(), split.reception, TUESDAY('19:40'))
  await happened(ctx.em(), split.reception, TUESDAY('21:15'))
  await scan()
  const spans = async (clinic: typeof oneGo): Promise<Date[][]> => (await alertsOf(ctx.em(), clinic.group.id)).map(a => [a.evidence_from, a.evidence_to])
  const expected = [[TUESDAY('19:00'), TUESDAY('19:40')], [TUESDAY('21:15'), TUESDAY('21:15')]]
  t.same(await spans(split), expected, 'a finding that goes on across passes grows; one an hour and a half later is its own')
  t.same(await spans(oneGo), expected)
})

t.test('when a user opens a patient with their own name and date of birth, then it is flagged; the same name born another day is not', async t => {
  const clinic = await clinicWithScan()
  await ctx.em().getConnection().execute('update users set date_of_birth = ? where id = ?', ['1981-06-14', clinic.reception.id])
  const sameNameOtherDay = await makePatient(ctx.em(), clinic.group.id, clinic.reception.name, null, '1981-06-15')
  const self = await makePatient(ctx.em(), clinic.group.id, `  ${clinic.reception.name.toUpperCase()} `, 'different@example.test', '1981-06-14')
  const ownRecord = async (): Promise<string[]> => (await scan(), await alertsOf(ctx.em(), clinic.group.id)).filter(a => a.rule === 'own-record').map(a => a.summary)
  await happened(ctx.em(), clinic.reception, TUESDAY('10:00'), { patientId: sameNameOtherDay })
  t.same(await ownRecord(), [], 'a namesake is at most a family-name alert')
  await happened(ctx.em(), clinic.reception, TUESDAY('10:05'), { patientId: self })
  const [summary] = await ownRecord()
  t.match(summary, '(same name and date of birth)')
})

t.test('when an alert has been acknowledged and the same person goes on, then a new alert is raised rather than the old one growing', async t => {
  const clinic = await clinicWithScan()
  const family = clinic.practitioner.name.split(' ').pop()!
  const relative = await makePatient(ctx.em(), clinic.group.id, `Kim ${family}`)
  await happened(ctx.em(), clinic.practitioner, TUESDAY('10:00'), { patientId: relative })
  t.same(await rulesFired(clinic), ['family-name'])
  await ctx.em().getConnection().execute(
    "update alerts set acknowledged_at = now(), acknowledged_by = ?, acknowledged_by_name = ?, acknowledgement_note = 'asked about it' where practice_group_id = ?",
    [clinic.owner.id, clinic.owner.name, clinic.group.id])
  await happened(ctx.em(), clinic.practitioner, TUESDAY('10:25'), { patientId: relative })
  const alerts = (await scan(), await alertsOf(ctx.em(), clinic.group.id))
  t.equal(alerts.length, 2, 'the second opening is an alert of its own')
  t.same(alerts.map(a => a.evidence_to), [TUESDAY('10:00'), TUESDAY('10:25')], 'the acknowledged alert kept its evidence')
})

t.test('when a patient\'s access report is downloaded with more than 1,000 accesses, then it is flagged like any large export', async t => {
  const clinic = await clinicWithScan()
  await happened(ctx.em(), clinic.owner, TUESDAY('12:00'), { action: 'export', description: 'Exported the access report of patient Ava Nguyen for 01/01/2026 00:00 to 24/11/2026 23:59 (Australia/Sydney) as CSV: 1,000 accesses' })
  t.same(await rulesFired(clinic), [])
  await happened(ctx.em(), clinic.owner, TUESDAY('12:01'), { action: 'export', description: 'Exported the access report of patient Ava Nguyen for 01/01/2026 00:00 to 24/11/2026 23:59 (Australia/Sydney) as CSV: 1,001 accesses' })
  t.same(await rulesFired(clinic), ['large-export'])
})
