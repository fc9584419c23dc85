import t from 'tap'
import pg from 'pg'
import { build } from '../helpers/app.js'
import { makeClinic } from '../helpers/clinic.js'
import { auditCount } from '../helpers/audit.js'
import { recordEvent } from '../../src/domain/recorder/recorder.js'
import { sealPracticeBefore } from '../../src/domain/chain/sealer.js'
import { inPracticeScope } from '../../src/db/practice-scope.js'

const ctx = await build(t)
const clinic = await makeClinic(ctx.em())

async function addRecord (occurredAt: Date): Promise<void> {
  await recordEvent(ctx.em(), {
    practiceGroupId: clinic.group.id, userId: clinic.owner.id, userName: clinic.owner.name, url: '/patients/1',
    ip: '203.0.113.1', timeZone: 'Australia/Sydney', occurredAt
  }, { action: 'view', page: 'Patient profile', recordType: 'patient', recordId: 1, description: 'Viewed patient' })
}

await addRecord(new Date())
await addRecord(new Date(Date.now() - 40 * 86_400_000))
await addRecord(new Date(Date.now() - 45 * 86_400_000))

const asApp = (sql: string) => inPracticeScope(clinic.group.id, () => ctx.orm.em.getConnection().execute(sql, [], 'run'))
const asKeeper = () => ctx.keeper.em.getConnection()

t.test('when the application role tries to rewrite history, then UPDATE, DELETE and TRUNCATE all fail', async t => {
  await t.rejects(asApp(`update audit_records set description = 'nothing to see' where practice_group_id = ${clinic.group.id}`), /permission denied/)
  await t.rejects(asApp(`delete from audit_records where practice_group_id = ${clinic.group.id}`), /permission denied/)
  await t.rejects(asApp('truncate audit_records'), /permission denied/)
  t.equal(await auditCount(ctx.em(), clinic.group.id), 3)
})

t.test('when even the schema owner tries, then the triggers refuse UPDATE, DELETE and TRUNCATE', async t => {
  const owner = new pg.Client({ connectionString: ctx.databaseUrl })
  await owner.connect()
  t.teardown(() => owner.end())
  await t.rejects(owner.query('update audit_records set user_name = $1', ['Someone else']), /append-only/)
  await t.rejects(owner.query('delete from audit_records'), /append-only/)
  await t.rejects(owner.query('truncate audit_records'), /append-only/)
  t.equal(await auditCount(ctx.em(), clinic.group.id), 3)
})

t.test('when the retention function is asked to delete recent records, then it refuses', async t => {
  const purge = (olderThan: string, asOf: string) =>
    asKeeper().execute(`select purge_expired_audit_records(?, ${olderThan}, ${asOf}, 1000)`, [clinic.group.id])
  await t.rejects(purge("now() - interval '10 days'", 'now()'), /never deleted/)
})

t.test('when the retention function deletes expired records, then only older, sealed ones of that practice go, in batches', async t => {
  const other = await makeClinic(ctx.em())
  const purge = async (batch: number): Promise<number> => (await asKeeper().execute<{ n: number }[]>(
    "select cardinality(purge_expired_audit_records(?, now() - interval '30 days', now(), ?)) as n", [clinic.group.id, batch]))[0]!.n
  t.equal(await purge(1000), 0, 'nothing is deleted before it is sealed into the chain')
  t.ok(await sealPracticeBefore(ctx.em(), clinic.group.id, new Date(), new Date()))
  t.equal(await purge(1), 1, 'one per batch')
  t.equal(await purge(1000), 1)
  t.equal(await auditCount(ctx.em(), clinic.group.id), 1, 'the recent record stays')
  t.equal(await auditCount(ctx.em(), other.group.id), 0)
  await t.rejects(asApp(`delete from audit_records where practice_group_id = ${clinic.group.id}`), /permission denied/, 'the session is not left able to delete')
})

t.test("when a caller claims a later time, then the database's own clock still protects the last 30 days", async t => {
  const owner = new pg.Client({ connectionString: ctx.databaseUrl })
  await owner.connect()
  t.teardown(async () => {
    await owner.query('update retention_settings set trust_caller_clock = true')
    await owner.end()
  })
  await owner.query('update retention_settings set trust_caller_clock = false')
  await t.rejects(asKeeper().execute("select purge_expired_audit_records(?, now() - interval '10 days', now() + interval '20 days', 1000)", [clinic.group.id]), /never deleted/)
  await t.rejects(asApp('update retention_settings set trust_caller_clock = true'), /permission denied/, 'the app cannot change who is trusted')
})
