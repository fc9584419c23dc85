import t from 'tap'
import type { Test } from 'tap'
import pg from 'pg'
import { build } from '../helpers/app.js'
import { makeClinic, type Clinic } from '../helpers/clinic.js'
import { addRecord } from '../helpers/history.js'
import { signedInAgent } from '../helpers/agent.js'
import { sealCommittedRecords, sealPracticeBefore } from '../../src/domain/chain/sealer.js'
import { verifyPracticeChain } from '../../src/domain/chain/chain.service.js'
import { chainHead, clientQuery, insertEntry } from '../../src/domain/chain/chain-store.js'
import { nextEntry, storedInstant } from '../../src/domain/chain/chain-encoding.js'
import type { PoolClient } from 'pg'
import { purgeExpired } from '../../src/domain/scheduled-job/purge-expired.js'
import { inPracticeScope } from '../../src/db/practice-scope.js'
import { hasUnsealedBefore } from '../../src/domain/audit-records/chain-reads.js'

const DAY = 86_400_000
const ctx = await build(t)

async function ownerConnection (t: Test): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: ctx.databaseUrl })
  await client.connect()
  t.teardown(() => client.end())
  // The owner can bypass the append-only triggers this way: exactly the tampering the chain has to reveal.
  await client.query("set session_replication_role = 'replica'")
  return client
}

async function clinicWithRecords (count: number, daysAgo = 0): Promise<Clinic> {
  const clinic = await makeClinic(ctx.em())
  for (let i = 0; i < count; i++) {
    await addRecord(ctx.em(), clinic.owner, { at: new Date(ctx.clock.now().getTime() - daysAgo * DAY + i * 1000), description: `Viewed chart ${i}` })
  }
  return clinic
}

/** Other tests' transactions can hold sealing back for a moment: wait until this practice's records are all sealed. */
async function sealAll (clinic: Clinic): Promise<void> {
  t.ok(await sealPracticeBefore(ctx.em(), clinic.group.id, new Date('9999-12-31T00:00:00Z'), ctx.clock.now()), 'every record is sealed')
}

async function recordIds (clinic: Clinic): Promise<number[]> {
  const rows = await ctx.em().getConnection().execute<{ id: string }[]>('select id from audit_records where practice_group_id = ? order by id', [clinic.group.id])
  return rows.map(r => Number(r.id))
}

t.test('when records are sealed, then the chain verifies every one of them', async t => {
  const clinic = await clinicWithRecords(12)
  const before = await verifyPracticeChain(ctx.em(), ctx.plan, clinic.group.id)
  t.equal(before.awaitingSeal, 12, 'unsealed records are reported as waiting, not as a break')
  t.ok(before.intact)
  await sealAll(clinic)
  const after = await verifyPracticeChain(ctx.em(), ctx.plan, clinic.group.id)
  t.match(after, { intact: true, verified: 12, awaitingSeal: 0, deleted: 0, problems: 0 })
  t.equal(after.head.length, 64)
})

t.test('when a sealed record is edited behind the app, then verification names it and says it was changed', async t => {
  const clinic = await clinicWithRecords(5)
  await sealAll(clinic)
  const ids = await recordIds(clinic)
  const db = await ownerConnection(t)
  await db.query("update audit_records set description = 'Viewed nothing' where id = $1", [ids[2]])
  const result = await verifyPracticeChain(ctx.em(), ctx.plan, clinic.group.id)
  t.equal(result.intact, false)
  t.equal(result.firstProblem?.recordId, ids[2])
  t.match(result.firstProblem?.message, /changed/)
  t.equal(result.verified, 4)
})

t.test('when a sealed record is deleted without a checkpoint, then verification reports it missing', async t => {
  const clinic = await clinicWithRecords(5)
  await sealAll(clinic)
  const ids = await recordIds(clinic)
  const db = await ownerConnection(t)
  await db.query('delete from audit_records where id = $1', [ids[4]])
  const result = await verifyPracticeChain(ctx.em(), ctx.plan, clinic.group.id)
  t.equal(result.intact, false)
  t.equal(result.firstProblem?.recordId, ids[4])
  t.match(result.firstProblem?.message, /deleted without a checkpoint/)
})

t.test('when a record is slipped in among sealed ones with an old transaction id, then it is reported as inserted afterwards', async t => {
  const clinic = await clinicWithRecords(3)
  await sealAll(clinic)
  const db = await ownerConnection(t)
  const { rows: [forged] } = await db.query(`insert into audit_records (practice_group_id, occurred_at, user_id, user_name, action, page, description, url, tx_id)
    select practice_group_id, occurred_at, user_id, user_name, action, page, 'Nothing happened here', url, tx_id from audit_records where practice_group_id = $1 order by id limit 1
    returning id`, [clinic.group.id])
  const result = await verifyPracticeChain(ctx.em(), ctx.plan, clinic.group.id)
  t.equal(result.intact, false)
  t.equal(result.firstProblem?.recordId, Number(forged.id))
  t.match(result.firstProblem?.message, /inserted afterwards/)
})

t.test('when a chain entry is altered, then verification names the entry', async t => {
  const clinic = await clinicWithRecords(3)
  await sealAll(clinic)
  const db = await ownerConnection(t)
  await db.query("update audit_chain set created_at = created_at - interval '1 day' where practice_group_id = $1", [clinic.group.id])
  const result = await verifyPracticeChain(ctx.em(), ctx.plan, clinic.group.id)
  t.equal(result.intact, false)
  t.match(result.firstProblem, { seq: 1, message: /entry #1 .* altered/ })
})

t.test('when the owner deletes a recent record and writes a checkpoint for it, then the retention rules give it away', async t => {
  const clinic = await clinicWithRecords(3)
  await sealAll(clinic)
  const ids = await recordIds(clinic)
  const db = await ownerConnection(t)
  await db.query('delete from audit_records where id = $1', [ids[1]])
  const query = clientQuery(db as unknown as PoolClient)
  const now = ctx.clock.now()
  await insertEntry(query, nextEntry(await chainHead(query, clinic.group.id), {
    practiceGroupId: clinic.group.id, kind: 'checkpoint', createdAt: storedInstant(now), recordIds: [ids[1]!], recordDigests: null, recordTimes: null,
    cutoff: storedInstant(new Date(now.getTime() - 30 * DAY))
  }))
  const result = await verifyPracticeChain(ctx.em(), ctx.plan, clinic.group.id)
  t.equal(result.intact, false)
  t.match(result.firstProblem?.message, new RegExp(`Checkpoint #\\d+ deletes record #${ids[1]} of .*, which was not older than its cutoff`))
})

t.test('when a record claims a transaction that has not happened yet, then it is reported as forged', async t => {
  const clinic = await clinicWithRecords(1)
  await sealAll(clinic)
  const db = await ownerConnection(t)
  await db.query(`insert into audit_records (practice_group_id, occurred_at, user_name, action, page, description, url, tx_id)
    values ($1, now(), 'Nobody', 'view', 'Patients', 'Never happened', '/patients', '999999999999')`, [clinic.group.id])
  const result = await verifyPracticeChain(ctx.em(), ctx.plan, clinic.group.id)
  t.equal(result.intact, false)
  t.match(result.firstProblem?.message, /claims a transaction that has not happened yet/)
})

t.test('when retention deletes expired records, then checkpoints account for them and the chain still verifies', async t => {
  const clinic = await clinicWithRecords(7, 45)
  await addRecord(ctx.em(), clinic.owner, { at: ctx.clock.now(), description: 'Recent' })
  const { deleted } = await purgeExpired(ctx.em(), ctx.plan, clinic.group, ctx.clock.now(), { batchSize: 3 })
  t.equal(deleted, 7)
  const { rows } = await (await ownerConnection(t)).query("select kind, cardinality(record_ids) as n from audit_chain where practice_group_id = $1 and kind = 'checkpoint' order by seq", [clinic.group.id])
  t.same(rows.map(r => r.n), [3, 3, 1], 'one checkpoint per batch, naming what it deleted')
  await sealAll(clinic)
  const result = await verifyPracticeChain(ctx.em(), ctx.plan, clinic.group.id)
  t.match(result, { intact: true, deleted: 7, problems: 0 })
  t.equal(result.verified, 1 + 3, 'the recent record and the three System records of the deletion')
})

t.test('when the application role tries to get round the chain, then the database refuses', async t => {
  const clinic = await clinicWithRecords(1)
  await sealAll(clinic)
  const asApp = (sql: string, params: unknown[] = []) => inPracticeScope(clinic.group.id, () => ctx.orm.em.getConnection().execute(sql, params, 'run'))
  const asKeeper = (sql: string, params: unknown[] = []) => ctx.keeper.em.getConnection().execute(sql, params, 'run')
  await t.rejects(asApp(`insert into audit_records (practice_group_id, occurred_at, user_name, action, page, description, url, tx_id)
    values (?, now(), 'x', 'view', 'x', 'x', 'x', '5')`, [clinic.group.id]), /permission denied/, 'it cannot choose the transaction id')
  await t.rejects(asApp('update audit_chain set hash = previous_hash where practice_group_id = ?', [clinic.group.id]), /append-only|permission denied/)
  await t.rejects(asApp('delete from audit_chain where practice_group_id = ?', [clinic.group.id]), /append-only|permission denied/)
  await t.rejects(asApp("update audit_seal_state set sealed_below = '3'"), /permission denied/, 'only the sealer moves the sealing position')
  await t.rejects(asKeeper("update audit_seal_state set sealed_below = '3'"), /only moves forward/, 'and only forward')
})

t.test('when many writers record while sealers run, some in short passes, then every record ends up sealed once and the chain verifies', async t => {
  const clinic = await makeClinic(ctx.em())
  const writers = Array.from({ length: 8 }, async (_, w) => {
    for (let i = 0; i < 40; i++) {
      await ctx.em().transactional(async tx => {
        await addRecord(tx, clinic.owner, { at: ctx.clock.now(), description: `Writer ${w} record ${i}` })
        if (i % 3 === 0) await addRecord(tx, clinic.owner, { at: ctx.clock.now(), description: `Writer ${w} record ${i} (second in its transaction)` })
      })
    }
  })
  let sealing = true
  const sealers = Array.from({ length: 3 }, async (_, s) => {
    while (sealing) await sealCommittedRecords(ctx.em(), ctx.clock.now(), { maxPerSeal: 7, maxRecords: s === 0 ? Infinity : 5 })
  })
  await Promise.all(writers)
  sealing = false
  await Promise.all(sealers)
  await sealAll(clinic)
  const result = await verifyPracticeChain(ctx.em(), ctx.plan, clinic.group.id)
  t.match(result, { intact: true, verified: 8 * (40 + 14), awaitingSeal: 0, problems: 0 })
  t.ok(result.entries > 1, 'sealed over several runs')
})

t.test('when a backlog is sealed in short passes, then each pass stops after about that many records, a transaction larger than a pass is sealed whole, and the chain verifies', async t => {
  const clinic = await makeClinic(ctx.em())
  await sealAll(clinic)
  for (let i = 0; i < 9; i++) await addRecord(ctx.em(), clinic.owner, { at: ctx.clock.now(), description: `Alone ${i}` })
  await ctx.em().transactional(async tx => {
    for (let i = 0; i < 12; i++) await addRecord(tx, clinic.owner, { at: ctx.clock.now(), description: `Together ${i}` })
  })
  const passes: number[] = []
  const giveUpAt = Date.now() + 20_000
  while (await hasUnsealedBefore(ctx.em(), clinic.group.id, new Date('9999-12-31T00:00:00Z')) && Date.now() < giveUpAt) {
    const pass = await sealCommittedRecords(ctx.em(), ctx.clock.now(), { maxRecords: 4 })
    if (pass.records > 0) passes.push(pass.records)
    if (pass.caughtUp) await new Promise(resolve => setTimeout(resolve, 50))
  }
  t.ok(passes.length >= 3, `sealed in ${passes.length} passes: ${passes.join(', ')}`)
  t.ok(passes.includes(12), 'the twelve written together went in one pass')
  t.ok(passes.filter(n => n !== 12).every(n => n <= 4), 'every other pass held at most four')
  t.match(await verifyPracticeChain(ctx.em(), ctx.plan, clinic.group.id), { intact: true, verified: 21, awaitingSeal: 0, problems: 0 })
})

t.test('when a Full Access user presses Verify integrity, then the page says in plain words how many records are as recorded and since when', async t => {
  const clinic = await clinicWithRecords(4)
  await sealAll(clinic)
  const owner = await signedInAgent(ctx.app, clinic.owner.email)
  const page = await owner.get('/settings/users/history')
  t.match(page.body, /<button type="submit" class="button">Verify integrity<\/button>/)
  const withJs = await owner.post('/settings/users/history/verify', {}, { headers: { 'hx-request': 'true' } })
  t.equal(withJs.statusCode, 200)
  t.notMatch(withJs.body, /<html/, 'htmx gets only the result section')
  t.match(withJs.body, /All \d+ records since \d\d\/\d\d\/\d{4} \d\d:\d\d are exactly as recorded\./)
  const withoutJs = await owner.post('/settings/users/history/verify')
  t.match(withoutJs.body, /<h1>Verify integrity<\/h1>[\s\S]*are exactly as recorded/, 'without JavaScript it is a page of its own')

  const head = /Chain head: <code>([0-9a-f]{64})<\/code>/.exec(withJs.body)![1]!
  await addRecord(ctx.em(), clinic.owner, { at: ctx.clock.now(), description: 'Later' })
  await sealAll(clinic)
  const stillThere = await owner.post('/settings/users/history/verify', { knownHead: head.toUpperCase() }, { headers: { 'hx-request': 'true' } })
  t.match(stillThere.body, /are exactly as recorded/, 'a head noted earlier is still in the chain after more records')
  const unknown = await owner.post('/settings/users/history/verify', { knownHead: 'ab'.repeat(32) }, { headers: { 'hx-request': 'true' } })
  t.match(unknown.body, /The chain head noted earlier \(abababababababab…\) is no longer in the chain/)
  const typo = await owner.post('/settings/users/history/verify', { knownHead: 'not a head' }, { headers: { 'hx-request': 'true' } })
  t.equal(typo.statusCode, 400)
  t.match(typo.body, 'A chain head is the 64 letters and digits')
  t.match(typo.body, 'value="not a head"', 'what was typed stays in the field')

  const ids = await recordIds(clinic)
  await (await ownerConnection(t)).query("update audit_records set page = 'Elsewhere' where id = $1", [ids[1]])
  const broken = await owner.post('/settings/users/history/verify', {}, { headers: { 'hx-request': 'true' } })
  t.match(broken.body, /The history is not exactly as recorded/)
  t.match(broken.body, new RegExp(`Record #${ids[1]} \\(.*\\) differs from what entry #\\d+ sealed: it was changed after it was recorded\\.`))
  const [recorded] = await ctx.em().getConnection().execute<{ description: string }[]>(
    "select description from audit_records where practice_group_id = ? and description like 'Verified the integrity%' order by id desc limit 1", [clinic.group.id])
  t.match(recorded?.description, /broken \(Record #/, 'each verification is itself recorded, with what it found')
})

t.test('when someone without Full Access asks to verify, then there is no button and the request is refused', async t => {
  const clinic = await clinicWithRecords(1)
  const practitioner = await signedInAgent(ctx.app, clinic.practitioner.email)
  const page = await practitioner.get('/settings/users/history')
  t.equal(page.statusCode, 200)
  t.notMatch(page.body, /Verify integrity/)
  const refused = await practitioner.post('/settings/users/history/verify')
  t.equal(refused.statusCode, 403)
  const forged = await (await signedInAgent(ctx.app, clinic.owner.email)).post('/settings/users/history/verify', {}, { csrf: false })
  t.equal(forged.statusCode, 403, 'a cross-site form cannot start it')
})

/** A practice whose records fill many small seals, so what verifying checks in one seal is carried to the next. */
async function clinicInManySeals (t: Test): Promise<{ clinic: Clinic, middle: number[] }> {
  const clinic = await clinicWithRecords(24)
  // Other tests' transactions can hold sealing back: seal again, still four at a time, until every record is in.
  const giveUpAt = Date.now() + 20_000
  while (await hasUnsealedBefore(ctx.em(), clinic.group.id, new Date('9999-12-31T00:00:00Z')) && Date.now() < giveUpAt) {
    await sealCommittedRecords(ctx.em(), ctx.clock.now(), { maxPerSeal: 4 })
    await new Promise(resolve => setTimeout(resolve, 50))
  }
  await sealAll(clinic)
  const [{ seals }] = await ctx.em().getConnection().execute<Array<{ seals: string }>>(
    "select count(*) as seals from audit_chain where practice_group_id = ? and kind = 'seal'", [clinic.group.id])
  t.ok(Number(seals) >= 4, `${seals} seals`)
  const ids = await recordIds(clinic)
  return { clinic, middle: ids.slice(12, 15) }
}

t.test('when a practice\'s records fill many seals, then a record deleted from a middle seal is reported missing and the rest verify', async t => {
  const { clinic, middle } = await clinicInManySeals(t)
  const db = await ownerConnection(t)
  await db.query('delete from audit_records where id = $1', [middle[1]])
  const result = await verifyPracticeChain(ctx.em(), ctx.plan, clinic.group.id)
  t.match(result, { intact: false, problems: 1, verified: 23, firstProblem: { recordId: middle[1], message: /deleted without a checkpoint/ } })
})

t.test('when a practice\'s records fill many seals, then two records of a middle seal swapped are reported changed, the first one first', async t => {
  const { clinic, middle } = await clinicInManySeals(t)
  const db = await ownerConnection(t)
  await db.query(`update audit_records a set description = b.description from audit_records b
    where (a.id, b.id) in (($1::bigint, $2::bigint), ($2::bigint, $1::bigint))`, [middle[0], middle[2]])
  const result = await verifyPracticeChain(ctx.em(), ctx.plan, clinic.group.id)
  t.match(result, { intact: false, problems: 2, verified: 22, firstProblem: { recordId: middle[0], message: /changed/ } })
})

t.test('when a practice\'s records fill many seals, then a record slipped in beside a middle seal\'s is reported as inserted afterwards', async t => {
  const { clinic, middle } = await clinicInManySeals(t)
  const db = await ownerConnection(t)
  const { rows: [forged] } = await db.query(`insert into audit_records (practice_group_id, occurred_at, user_id, user_name, action, page, description, url, tx_id)
    select practice_group_id, occurred_at, user_id, user_name, action, page, 'Nothing happened here', url, tx_id from audit_records where id = $1
    returning id`, [middle[1]])
  const result = await verifyPracticeChain(ctx.em(), ctx.plan, clinic.group.id)
  t.match(result, { intact: false, problems: 1, verified: 24, firstProblem: { recordId: Number(forged.id), message: /inserted afterwards/ } })
})

t.test('when a well-formed entry seals a record a second time, then verification reports it sealed twice', async t => {
  const clinic = await clinicWithRecords(3)
  await sealAll(clinic)
  const db = await ownerConnection(t)
  const { rows: [first] } = await db.query(`select record_ids[1]::text as id, substring(record_digests from 1 for 32) as digest, record_times[1]::text as time
    from audit_chain where practice_group_id = $1 and kind = 'seal' order by seq limit 1`, [clinic.group.id])
  const query = clientQuery(db as unknown as PoolClient)
  await insertEntry(query, nextEntry(await chainHead(query, clinic.group.id), {
    practiceGroupId: clinic.group.id, kind: 'seal', createdAt: storedInstant(ctx.clock.now()), recordIds: [Number(first.id)], recordDigests: first.digest, recordTimes: [Number(first.time)], cutoff: null
  }))
  const result = await verifyPracticeChain(ctx.em(), ctx.plan, clinic.group.id)
  t.match(result, { intact: false, problems: 1, verified: 3, firstProblem: { recordId: Number(first.id), message: /sealed twice/ } })
})

t.test('when a checkpoint names a record still present and one no seal holds, then verification reports both, the sealed one first', async t => {
  const clinic = await clinicWithRecords(3)
  await sealAll(clinic)
  const ids = await recordIds(clinic)
  const db = await ownerConnection(t)
  const query = clientQuery(db as unknown as PoolClient)
  const now = ctx.clock.now()
  const neverSealed = ids[2]! + 1_000_000_000
  await insertEntry(query, nextEntry(await chainHead(query, clinic.group.id), {
    practiceGroupId: clinic.group.id, kind: 'checkpoint', createdAt: storedInstant(now), recordIds: [ids[1]!, neverSealed], recordDigests: null, recordTimes: null,
    cutoff: storedInstant(new Date(now.getTime() - 30 * DAY))
  }))
  const result = await verifyPracticeChain(ctx.em(), ctx.plan, clinic.group.id)
  t.match(result, { intact: false, problems: 2, deleted: 0, firstProblem: { recordId: ids[1], message: /is present although checkpoint #\d+ deleted it/ } })
})
