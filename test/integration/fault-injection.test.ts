import t from 'tap'
import pg from 'pg'
import { build } from '../helpers/app.js'
import { Agent, PASSWORD } from '../helpers/agent.js'
import { makeClinic } from '../helpers/clinic.js'
import { auditCount } from '../helpers/audit.js'
import { seededRandom } from '../../src/seed/everyday-use.js'
import { Patient } from '../../src/domain/patients/patient.entity.js'

const ctx = await build(t)
const clinic = await makeClinic(ctx.em())

// A real database fault: while `fault_plan.fail` is on, every insert into the history raises.
const owner = new pg.Client({ connectionString: ctx.databaseUrl })
await owner.connect()
t.teardown(() => owner.end())
await owner.query('create table fault_plan (fail boolean not null)')
await owner.query('insert into fault_plan values (false)')
await owner.query('grant select on fault_plan to practice_audit_app')
await owner.query(`create function inject_audit_fault() returns trigger language plpgsql as $$
  begin
    if (select fail from fault_plan) then raise exception 'injected fault: history unavailable'; end if;
    return new;
  end $$`)
await owner.query('create trigger inject_audit_fault before insert on audit_records for each row execute function inject_audit_fault()')
const planFault = (fail: boolean) => owner.query('update fault_plan set fail = $1', [fail])

const agent = new Agent(ctx.app)
await agent.signIn(clinic.owner.email, PASSWORD)
await agent.get('/patients')
const random = seededRandom(42)

const patientCount = () => ctx.em().count(Patient, { practiceGroupId: clinic.group.id })
const history = () => auditCount(ctx.em(), clinic.group.id)

async function anyPatientId (): Promise<number | undefined> {
  const patients = await ctx.em().find(Patient, { practiceGroupId: clinic.group.id }, { fields: ['id'] })
  return patients.length ? patients[Math.floor(random() * patients.length)]!.id : undefined
}

t.test('when the history insert fails at random during 200 changes, then no change is kept without its record and no record without its change', async t => {
  let failures = 0
  let mismatches = 0
  for (let i = 0; i < 200; i++) {
    const fail = random() < 0.35
    const target = await anyPatientId()
    const op = !target || random() < 0.4 ? 'create' : random() < 0.7 ? 'update' : 'delete'
    const before = { patients: await patientCount(), history: await history(), name: target ? (await ctx.em().findOne(Patient, { id: target }))?.name : undefined }
    await planFault(fail)
    const response = op === 'create'
      ? await agent.post('/patients', { name: `Fault patient ${i}` })
      : op === 'update'
        ? await agent.post(`/patients/${target}`, { name: `Renamed ${i}` })
        : await agent.post(`/patients/${target}/delete`)
    await planFault(false)
    const after = { patients: await patientCount(), history: await history(), name: target ? (await ctx.em().findOne(Patient, { id: target }))?.name : undefined }

    if (fail) {
      failures += 1
      const untouched = response.statusCode === 503 && after.history === before.history && after.patients === before.patients && after.name === before.name
      if (!untouched) mismatches += 1
    } else {
      const expectedPatients = before.patients + (op === 'create' ? 1 : op === 'delete' ? -1 : 0)
      const done = response.statusCode === 303 && after.history === before.history + 1 && after.patients === expectedPatients
      if (!done) mismatches += 1
    }
  }
  t.ok(failures > 40, `faults were injected (${failures})`)
  t.equal(mismatches, 0, 'every change and its record stood or fell together')
})

t.test('when the history insert fails at random during 200 profile views, then no profile is shown without its record', async t => {
  await planFault(false)
  await agent.post('/patients', { name: 'Zed Confidential-Profile' })
  const [patient] = await ctx.em().find(Patient, { practiceGroupId: clinic.group.id, name: 'Zed Confidential-Profile' })
  let shownWithoutRecord = 0
  let refusedWithRecord = 0
  let failures = 0
  for (let i = 0; i < 200; i++) {
    const fail = random() < 0.35
    const before = await history()
    await planFault(fail)
    const response = await agent.get(`/patients/${patient!.id}`)
    await planFault(false)
    const recorded = await history() - before
    const shown = response.body.includes('Zed Confidential-Profile')
    if (fail) failures += 1
    if (shown && recorded !== 1) shownWithoutRecord += 1
    if (!shown && (recorded !== 0 || response.statusCode !== 503)) refusedWithRecord += 1
    if (fail === shown) t.fail(`view ${i}: fault ${fail} but page ${shown ? 'shown' : 'refused'}`)
  }
  t.ok(failures > 40, `faults were injected (${failures})`)
  t.equal(shownWithoutRecord, 0)
  t.equal(refusedWithRecord, 0)
  const refused = await agent.get(`/patients/${patient!.id}`, {}).then(async () => {
    await planFault(true)
    const response = await agent.get(`/patients/${patient!.id}`)
    await planFault(false)
    return response
  })
  t.match(refused.body, 'could not be recorded in the User Action History', 'the user is told why')
})

t.test('when one view of a burst cannot be recorded, then only that page is refused and the others are shown and recorded', async t => {
  await planFault(false)
  await owner.query(`create function refuse_marked_view() returns trigger language plpgsql as $$
    begin
      if new.url like '%refuse-me%' then raise exception 'injected fault for one record'; end if;
      return new;
    end $$`)
  await owner.query('create trigger refuse_marked_view before insert on audit_records for each row execute function refuse_marked_view()')
  t.teardown(() => owner.query('drop trigger refuse_marked_view on audit_records'))
  const patient = await anyPatientId()
  const urls = Array.from({ length: 24 }, (_, i) => `/patients/${patient}?burst=${i}${i === 13 ? '&refuse-me' : ''}`)
  const before = await history()
  const pages = await Promise.all(urls.map(url => agent.get(url)))
  t.same(pages.map(p => p.statusCode), urls.map(url => url.includes('refuse-me') ? 503 : 200))
  const rows = await ctx.em().getConnection().execute<{ url: string }[]>(
    'select url from audit_records where practice_group_id = ? and url like ?', [clinic.group.id, `/patients/${patient}?burst=%`])
  t.same(rows.map(r => r.url).sort(), urls.filter(url => !url.includes('refuse-me')).sort(), 'every other view is recorded, once')
  t.equal(await history(), before + urls.length - 1)
})
