import t from 'tap'
import type { Test } from 'tap'
import pg from 'pg'
import type { MikroORM } from '@mikro-orm/core'
import { build } from '../helpers/app.js'
import { makeClinic } from '../helpers/clinic.js'
import { addRecord, shownRows } from '../helpers/history.js'
import { signedInAgent } from '../helpers/agent.js'
import { unique } from '../../src/seed/factories.js'
import { inPracticeScope } from '../../src/db/practice-scope.js'
import { recordEvent } from '../../src/domain/recorder/recorder.js'
import { sealPracticeBefore } from '../../src/domain/chain/sealer.js'
import { verifyPracticeChain } from '../../src/domain/chain/chain.service.js'
import { purchaseSubscription } from '../../src/domain/subscriptions/subscription.service.js'
import { APP_ROLE, KEEPER_ROLE } from '../../src/db/app-role.js'

const DAY = 86_400_000
const ctx = await build(t)
const harbour = await makeClinic(ctx.em(), { creditBalance: 1000 })
const bayside = await makeClinic(ctx.em())
const HARBOUR_SECRET = unique('Harbour-only description')
await addRecord(ctx.em(), harbour.owner, { at: ctx.clock.now(), description: HARBOUR_SECRET })
await addRecord(ctx.em(), bayside.owner, { at: ctx.clock.now(), description: unique('Bayside view') })

/** One statement on one of a pool's own connections, as any code path of the app could send it. */
async function sendOn (orm: MikroORM, sql: string, practiceGroupId: number | null = null): Promise<Record<string, unknown>[]> {
  return inPracticeScope(practiceGroupId, () => orm.em.getConnection().execute(sql, [], 'all'))
}

async function ownerClient (t: Test): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: ctx.databaseUrl })
  await client.connect()
  t.teardown(() => client.end())
  return client
}

for (const [who, orm, role] of [['app', () => ctx.orm, APP_ROLE], ['keeper', () => ctx.keeper, KEEPER_ROLE]] as const) {
  t.test(`when the ${who}'s own login tries to become someone else or change the rules, then each attempt is refused`, async t => {
    const [me] = await sendOn(orm(), 'select current_user as name, (select rolsuper from pg_roles where rolname = current_user) as superuser')
    t.same(me, { name: role, superuser: false }, 'it logs in as its own role, not a superuser')
    await sendOn(orm(), 'reset role')
    t.equal((await sendOn(orm(), 'select current_user as name'))[0]!.name, role, 'RESET ROLE gives nothing back: there is nothing to give')
    await t.rejects(sendOn(orm(), 'set role postgres'), /permission denied/)
    await t.rejects(sendOn(orm(), 'set session authorization postgres'), /permission denied/)
    await t.rejects(sendOn(orm(), 'alter table audit_records disable trigger audit_records_no_update'), /must be owner/)
    await t.rejects(sendOn(orm(), 'create function public.anything() returns int language sql as $$ select 1 $$'), /permission denied/)
    await t.rejects(sendOn(orm(), 'create function pg_temp.anything() returns int language sql as $$ select 1 $$'), /permission denied/)
    await t.rejects(sendOn(orm(), 'update retention_settings set trust_caller_clock = true'), /permission denied/)
    await t.rejects(sendOn(orm(), "create policy everything on audit_records using (true)"), /must be owner/)
    await t.rejects(sendOn(orm(), `select set_config('practice_audit.retention', 'on', false); delete from audit_records where practice_group_id = ${harbour.group.id}`, harbour.group.id),
      /permission denied|append-only/, 'turning on the old retention switch opens nothing')
    const [{ n }] = await ctx.em().getConnection().execute<{ n: string }[]>('select count(*) as n from audit_records where practice_group_id = ?', [harbour.group.id]) as [{ n: string }]
    t.ok(Number(n) >= 1, 'the records are still there')
  })
}

t.test("when the app's or the keeper's login tries to change the plan's retention terms, then the database refuses; the retention function takes no term from its caller", async t => {
  for (const [who, orm] of [['app', ctx.orm], ['keeper', ctx.keeper]] as const) {
    t.same(await sendOn(orm, 'select free_retention_days, window_before_subscription_days from plan_terms'), [{ free_retention_days: 30, window_before_subscription_days: 30 }],
      `the ${who} may read the terms`)
    await t.rejects(sendOn(orm, 'update plan_terms set free_retention_days = 1'), /permission denied/, `the ${who} cannot shorten retention`)
    await t.rejects(sendOn(orm, 'update plan_terms set window_before_subscription_days = 0'), /permission denied/, `the ${who} cannot shrink the paid window`)
    await t.rejects(sendOn(orm, 'delete from plan_terms'), /permission denied/, `the ${who} cannot remove the terms`)
    await t.rejects(sendOn(orm, 'truncate plan_terms'), /permission denied/)
    await t.rejects(sendOn(orm, 'insert into plan_terms (singleton, free_retention_days) values (true, 1) on conflict (singleton) do update set free_retention_days = 1'), /permission denied/)
    await t.rejects(sendOn(orm, 'alter table plan_terms alter column free_retention_days set default 1'), /must be owner/)
  }
  const signatures = await ctx.em().getConnection().execute<{ args: string }[]>(
    "select pg_get_function_identity_arguments(oid) as args from pg_proc where proname = 'purge_expired_audit_records'")
  t.same(signatures.map(s => s.args), ['group_id integer, older_than timestamp with time zone, as_of timestamp with time zone, batch_size integer'],
    'one retention function, and none of its arguments is a term')
})

t.test('when a statement forgets its practice, then row-level security still shows only the practice of the request', async t => {
  const everything = await sendOn(ctx.orm, 'select practice_group_id, description from audit_records', bayside.group.id)
  t.ok(everything.length >= 1)
  t.ok(everything.every(row => row.practice_group_id === bayside.group.id), 'no row of another practice')
  t.same(await sendOn(ctx.orm, 'select id from audit_records'), [], 'a connection with no practice sees no records')
  t.same(await sendOn(ctx.orm, 'select id from patients union all select id from users union all select id from practice_groups'), [])
})

t.test("when the history's query loses its practice condition, then Bayside's owner still sees none of Harbour's rows", async t => {
  const connection = ctx.orm.em.getConnection()
  const execute = connection.execute.bind(connection)
  let removed = 0
  connection.execute = ((sql: unknown, ...rest: unknown[]) => {
    if (typeof sql === 'string' && sql.includes('audit_records')) {
      const careless = sql.replace(/\b(\w+\.)?practice_group_id = \?/g, () => { removed++; return '? > 0' })
      return (execute as (...args: unknown[]) => unknown)(careless, ...rest)
    }
    return (execute as (...args: unknown[]) => unknown)(sql, ...rest)
  }) as typeof connection.execute
  t.teardown(() => { connection.execute = execute })

  const agent = await signedInAgent(ctx.app, bayside.owner.email)
  const page = await agent.get('/settings/users/history')
  const csv = await agent.get('/settings/users/history/export.csv')
  t.ok(removed > 0, 'the practice condition really was removed from the history queries')
  t.equal(page.statusCode, 200)
  t.ok(shownRows(page.body).length > 0, "Bayside's own rows are listed")
  t.notOk(page.body.includes(HARBOUR_SECRET), "no Harbour row on Bayside's page")
  t.notOk(csv.body.includes(HARBOUR_SECRET), "no Harbour row in Bayside's export")
})

t.test('when code in one practice writes a record for another, then the database refuses it', async t => {
  const actor = {
    practiceGroupId: harbour.group.id, userId: harbour.owner.id, userName: 'Forger', url: '/x', ip: null, timeZone: 'UTC', occurredAt: ctx.clock.now()
  }
  const forged = { action: 'view', page: 'Patients', description: unique('Forged into Harbour') } as const
  await t.rejects(inPracticeScope(bayside.group.id, () => ctx.orm.em.fork().transactional(tx => recordEvent(tx, actor, forged))), /could not be recorded/)
  await t.rejects(inPracticeScope(bayside.group.id, () => recordEvent(ctx.orm.em.fork(), actor, forged)), /could not be recorded/)
  await t.rejects(sendOn(ctx.orm, `insert into audit_records (practice_group_id, user_name, action, page, description, url) values (${harbour.group.id}, 'x', 'view', 'p', 'forged', '/')`, bayside.group.id),
    /row-level security/)
  const [{ n }] = await ctx.em().getConnection().execute<{ n: string }[]>('select count(*) as n from audit_records where description = ?', [forged.description]) as [{ n: string }]
  t.equal(Number(n), 0)
})

t.test("when the app's role writes a record with a time of its own, then the database's clock decides it", async t => {
  const owner = await ownerClient(t)
  await owner.query('update retention_settings set trust_caller_clock = false')
  t.teardown(() => owner.query('update retention_settings set trust_caller_clock = true'))
  const description = unique('Backdated')
  for (const claimed of ["now() - interval '20 days'", "now() + interval '1 year'"]) {
    await sendOn(ctx.orm, `insert into audit_records (practice_group_id, occurred_at, user_name, action, page, description, url)
      values (${harbour.group.id}, ${claimed}, 'x', 'view', 'Patients', '${description}', '/')`, harbour.group.id)
  }
  const { rows } = await owner.query<{ off: number }>('select abs(extract(epoch from occurred_at - now())) as off from audit_records where description = $1', [description])
  t.equal(rows.length, 2)
  t.ok(rows.every(row => Number(row.off) < 60), 'both are stamped with the moment they were written')
})

t.test('when the app role rewrites the subscription window, then it is refused, and retention still protects what was paid for', async t => {
  const clinic = await makeClinic(ctx.em(), { creditBalance: 500 })
  const started = new Date(ctx.clock.now().getTime() - 20 * DAY)
  await purchaseSubscription(ctx.em(), ctx.plan, {
    practiceGroupId: clinic.group.id, userId: clinic.owner.id, userName: clinic.owner.name, url: '/settings/add-ons', ip: null, timeZone: 'UTC', occurredAt: started
  }, unique('buy'))
  await t.rejects(sendOn(ctx.orm, `update subscriptions set window_start = now() where practice_group_id = ${clinic.group.id}`, clinic.group.id), /permission denied/)
  await t.rejects(sendOn(ctx.orm, `select purge_expired_audit_records(${clinic.group.id}, now() - interval '31 days', now(), 10)`, clinic.group.id), /permission denied/)

  const owner = await ownerClient(t)
  await owner.query('update subscriptions set window_start = now() where practice_group_id = $1', [clinic.group.id])
  await t.rejects(sendOn(ctx.keeper, `select purge_expired_audit_records(${clinic.group.id}, now() - interval '31 days', now(), 10)`),
    /inside the subscribed window/, 'the paid periods in the credit ledger still protect the window (from 50 days back)')
  await t.rejects(owner.query('update credit_entries set period_start = now() where practice_group_id = $1', [clinic.group.id]), /append-only/)
})

t.test('when the app role tries to write the chain or move the sealing position, then it is refused; done as the owner, verification reports it', async t => {
  const clinic = await makeClinic(ctx.em())
  await addRecord(ctx.em(), clinic.owner, { at: ctx.clock.now(), description: 'Sealed view' })
  t.ok(await sealPracticeBefore(ctx.em(), clinic.group.id, new Date('9999-12-31T00:00:00Z'), ctx.clock.now()))
  await t.rejects(sendOn(ctx.orm, `insert into audit_chain (practice_group_id, seq, kind, created_at, record_ids, record_digests, previous_hash, hash)
    values (${clinic.group.id}, 99, 'seal', now(), '{}', '', '\\x${'00'.repeat(32)}', '\\x${'00'.repeat(32)}')`, clinic.group.id), /permission denied/)
  await t.rejects(sendOn(ctx.orm, "update audit_seal_state set sealed_below = '999999999'", clinic.group.id), /permission denied/)

  const owner = await ownerClient(t)
  const { rows: [head] } = await owner.query<{ seq: number }>('select max(seq) as seq from audit_chain where practice_group_id = $1', [clinic.group.id])
  await owner.query(`insert into audit_chain (practice_group_id, seq, kind, created_at, record_ids, record_digests, previous_hash, hash)
    values ($1, $2, 'seal', now(), '{}', '', $3, $3)`, [clinic.group.id, head!.seq + 1, Buffer.alloc(32)])
  const forgedEntry = await verifyPracticeChain(ctx.em(), ctx.plan, clinic.group.id)
  t.equal(forgedEntry.intact, false, 'a chain entry the sealer did not write breaks the chain')
  t.match(forgedEntry.firstProblem?.message, /does not follow the entry before it|was altered after it was written/)

  const other = await makeClinic(ctx.em())
  await addRecord(ctx.em(), other.owner, { at: ctx.clock.now(), description: 'Never sealed' })
  await owner.query('update audit_seal_state set sealed_below = pg_current_xact_id()')
  const skipped = await verifyPracticeChain(ctx.em(), ctx.plan, other.group.id)
  t.equal(skipped.intact, false, 'a record the sealing position jumped over is reported')
  t.match(skipped.firstProblem?.message, /is in no seal although everything written at its time was sealed/)
})

t.test('when the scheduled job runs as the keeper, then it renews, expires and deletes across practices', async t => {
  const clinic = await makeClinic(ctx.em())
  await addRecord(ctx.em(), clinic.owner, { at: new Date(ctx.clock.now().getTime() - 45 * DAY), description: 'Old view' })
  const { runScheduledJob } = await import('../../src/domain/scheduled-job/scheduled-job.js')
  const report = await runScheduledJob(ctx.keeper, ctx.plan, ctx.clock)
  const mine = report.practices.find(p => p.practiceGroupId === clinic.group.id)
  t.equal(mine?.error, undefined)
  t.equal(mine?.deleted, 1)
})

t.test('when a table holds a practice\'s rows, then row-level security is on and the app role is held to its practice by a policy', async t => {
  const tables = await ctx.em().getConnection().execute<{ table: string, secured: boolean, app_policies: string, app_scoped: string }[]>(`
    select c.relname as table, c.relrowsecurity as secured,
           (select count(*) from pg_policy p where p.polrelid = c.oid and '${APP_ROLE}'::regrole = any(p.polroles)) as app_policies,
           (select count(*) from pg_policy p where p.polrelid = c.oid and '${APP_ROLE}'::regrole = any(p.polroles)
               and pg_get_expr(p.polqual, p.polrelid) like '%app_practice()%') as app_scoped
      from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where n.nspname = 'public' and c.relkind = 'r'
       and (c.relname = 'practice_groups' or exists (select 1 from pg_attribute a where a.attrelid = c.oid and a.attname = 'practice_group_id' and not a.attisdropped))
       -- Failed sign-ins are counted by email and address before any practice is known (see the least-privilege migration).
       and c.relname <> 'sign_in_failures'
     order by 1`)
  t.ok(tables.length >= 15, `${tables.length} tables hold practice rows`)
  for (const table of tables) {
    t.ok(table.secured, `${table.table} has row-level security`)
    t.equal(Number(table.app_policies), Number(table.app_scoped), `every app-role policy on ${table.table} is scoped to the request's practice`)
    t.ok(Number(table.app_scoped) > 0, `${table.table} has a practice policy for the app role`)
  }
})
