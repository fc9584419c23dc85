import t from 'tap'
import { APP_ROLE, KEEPER_ROLE } from '../../src/db/app-role.js'
import pg from 'pg'
import { randomUUID } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { build } from '../helpers/app.js'
import { signedInAgent, type Agent } from '../helpers/agent.js'
import { makeClinic, type Clinic } from '../helpers/clinic.js'
import { auditRows } from '../helpers/audit.js'
import { balanceOf } from '../helpers/subscriptions.js'
import { buildApp } from '../../src/app.js'
import { runScheduledJob } from '../../src/domain/scheduled-job/scheduled-job.js'
import type { PaymentOutcome, PaymentProvider, PaymentRequest } from '../../src/domain/credits/payment-provider.js'

/** How the provider misbehaves on its next call. */
type ProviderFault = 'none' | 'unreachable' | 'answer-lost' | 'decline'

/**
 * A provider that keeps the money it takes: one payment per idempotency
 * key, as the contract asks, and every call counted. `answer-lost` takes
 * the money and then fails to answer, as a dropped connection would.
 */
class RecordingProvider implements PaymentProvider {
  readonly name = 'recording'
  readonly label = 'Recording payment provider'
  readonly payments = new Map<string, PaymentOutcome>()
  calls = 0
  next: ProviderFault = 'none'

  async charge (request: PaymentRequest): Promise<PaymentOutcome> {
    this.calls += 1
    const fault = this.next
    if (fault === 'unreachable') throw new Error('injected fault: the provider cannot be reached')
    const key = `${request.practiceGroupId}:${request.idempotencyKey}`
    let outcome = this.payments.get(key)
    if (!outcome) {
      outcome = fault === 'decline' ? { approved: false, message: 'the card has expired' } : { approved: true, reference: `rec-${this.payments.size + 1}` }
      this.payments.set(key, outcome)
    }
    if (fault === 'answer-lost') throw new Error('injected fault: the connection dropped after the charge')
    return outcome
  }

  charged (practiceGroupId: number, idempotencyKey: string): boolean {
    return this.payments.get(`${practiceGroupId}:${idempotencyKey}`)?.approved === true
  }
}

const ctx = await build(t)

// Real database faults: while `fault_plan.fail_on` names a table, every insert into it raises.
const owner = new pg.Client({ connectionString: ctx.databaseUrl })
await owner.connect()
t.teardown(() => owner.end())
await owner.query('create table fault_plan (fail_on text)')
await owner.query('insert into fault_plan values (null)')
await owner.query(`grant select on fault_plan to ${APP_ROLE}, ${KEEPER_ROLE}`)
await owner.query(`create function inject_insert_fault() returns trigger language plpgsql as $$
  begin
    if (select fail_on from fault_plan) = tg_table_name then raise exception 'injected fault: % unavailable', tg_table_name; end if;
    return new;
  end $$`)
for (const table of ['top_ups', 'credit_entries', 'audit_records']) {
  await owner.query(`create trigger inject_insert_fault before insert on ${table} for each row execute function inject_insert_fault()`)
}
const failInsertsInto = (table: string | null) => owner.query('update fault_plan set fail_on = $1', [table])

/** The app as a server would start it, with the given provider; closed when the test ends. */
async function startApp (provider: PaymentProvider): Promise<FastifyInstance> {
  const app = buildApp({ config: ctx.config, orm: ctx.orm, keeperOrm: ctx.keeper, clock: ctx.clock, paymentProvider: provider })
  await app.ready()
  t.teardown(() => app.close())
  return app
}

async function creditedKeys (c: Clinic): Promise<string[]> {
  const rows = await ctx.em().getConnection().execute<{ idempotency_key: string }[]>(
    "select idempotency_key from credit_entries where practice_group_id = ? and kind = 'top_up' order by id", [c.group.id])
  return rows.map(row => row.idempotency_key)
}

const PENDING_NOTICE = /Payment of (\d+) credits pending since \d\d\/\d\d\/\d{4} \d\d:\d\d\./g
const pendingShown = (page: string): number => [...page.matchAll(PENDING_NOTICE)].length

async function topUp (agent: Agent, key: string, credits = '100') {
  await agent.get('/settings/credits')
  return agent.post('/settings/credits/top-up', { credits, idempotencyKey: key })
}

t.test('when a top-up fails at each step in turn, then no payment is left without its credits or a visible pending top-up, and no credits without a payment', async t => {
  const provider = new RecordingProvider()
  const app = await startApp(provider)
  const c = await makeClinic(ctx.em())
  const agent = await signedInAgent(app, c.owner.email)
  const steps = [
    { fault: 'none', status: 303 },
    { fault: 'top_ups', status: 500, where: 'recording the pending top-up, before the charge' },
    { fault: 'unreachable', status: 303, where: 'the provider cannot be reached' },
    { fault: 'decline', status: 402 },
    { fault: 'answer-lost', status: 303, where: 'after the charge, before settling' },
    { fault: 'credit_entries', status: 500, where: 'settling: the ledger' },
    { fault: 'audit_records', status: 503, where: 'settling: the history record' }
  ] as const
  const keys: string[] = []
  let broken = 0
  for (let round = 0; round < 6; round++) {
    for (const step of steps) {
      const key = randomUUID()
      keys.push(key)
      provider.next = step.fault === 'unreachable' || step.fault === 'decline' || step.fault === 'answer-lost' ? step.fault : 'none'
      await failInsertsInto(step.fault === 'top_ups' || step.fault === 'credit_entries' || step.fault === 'audit_records' ? step.fault : null)
      const response = await topUp(agent, key)
      await failInsertsInto(null)
      provider.next = 'none'
      t.equal(response.statusCode, step.status, `${step.fault}: answered ${response.statusCode}`)

      const credited = await creditedKeys(c)
      const page = (await agent.get('/settings/credits')).body
      const uncredited = keys.filter(k => provider.charged(c.group.id, k) && !credited.includes(k))
      if (credited.some(k => !provider.charged(c.group.id, k))) broken += 1
      if (uncredited.length > pendingShown(page)) broken += 1
      if (await balanceOf(ctx.em(), c.group.id) !== credited.length * 100) broken += 1
    }
  }
  t.equal(broken, 0, 'after every top-up: every payment is credited or shown pending, every credit was paid for, and the balance matches')
  const credited = await creditedKeys(c)
  t.equal(new Set(credited).size, credited.length, 'no payment is credited twice')
  const stillPending = pendingShown((await agent.get('/settings/credits')).body)
  t.equal(stillPending, 6 * 4, 'the interrupted top-ups (unreachable, answer lost, ledger and history failures) are pending')

  await startApp(provider)
  const settled = await creditedKeys(c)
  const paid = keys.filter(k => provider.charged(c.group.id, k))
  t.same([...settled].sort(), [...paid].sort(), 'after a restart, exactly the paid top-ups are credited')
  t.equal(paid.length, 6 * 5, 'the provider was asked again about each pending one and it paid them once')
  t.equal(await balanceOf(ctx.em(), c.group.id), paid.length * 100)
  t.equal(pendingShown((await agent.get('/settings/credits')).body), 0, 'nothing is pending any more')
  const purchases = await auditRows(ctx.em(), c.group.id, "action = 'purchase' and page = 'Settings > Credits'")
  t.equal(purchases.length, paid.length, 'each credited top-up has one history record')
})

t.test('when the same top-up form is posted again, even at once, then it is charged and credited once', async t => {
  const provider = new RecordingProvider()
  const app = await startApp(provider)
  const c = await makeClinic(ctx.em())
  const agent = await signedInAgent(app, c.owner.email)
  const key = randomUUID()
  await agent.get('/settings/credits')
  const answers = await Promise.all(Array.from({ length: 5 }, () => agent.post('/settings/credits/top-up', { credits: '500', idempotencyKey: key })))
  t.same(answers.map(a => a.statusCode), [303, 303, 303, 303, 303])
  t.equal((await topUp(agent, key, '500')).statusCode, 303, 'and later once more')
  t.equal(provider.calls, 1, 'the provider was asked once')
  t.equal(await balanceOf(ctx.em(), c.group.id), 500)
})

t.test('when the provider cannot answer, then the Credits page shows the pending payment, and the scheduled job credits it once the provider answers', async t => {
  const provider = new RecordingProvider()
  const app = await startApp(provider)
  ctx.clock.set('2026-12-02T01:30:00Z')
  const c = await makeClinic(ctx.em())
  const agent = await signedInAgent(app, c.owner.email)
  provider.next = 'answer-lost'
  const response = await topUp(agent, randomUUID(), '200')
  provider.next = 'none'
  t.equal(response.statusCode, 303)
  const page = (await agent.get('/settings/credits')).body
  t.match(page, 'The payment of 200 credits is not confirmed yet.')
  t.match(page, 'Payment of 200 credits pending since 02/12/2026 12:30.')
  t.equal(await balanceOf(ctx.em(), c.group.id), 0)

  const report = await runScheduledJob(ctx.keeper, ctx.plan, ctx.clock, { paymentProvider: provider, dryRun: true })
  t.match(report.practices.find(p => p.practiceGroupId === c.group.id)?.topUps, { settled: 0, pending: 1 }, 'a dry run only counts it')
  ctx.clock.set('2026-12-02T01:45:00Z')
  const run = await runScheduledJob(ctx.keeper, ctx.plan, ctx.clock, { paymentProvider: provider })
  t.match(run.practices.find(p => p.practiceGroupId === c.group.id)?.topUps, { settled: 1, pending: 0 })
  t.equal(await balanceOf(ctx.em(), c.group.id), 200)
  t.equal(pendingShown((await agent.get('/settings/credits')).body), 0)
  const [record] = await auditRows(ctx.em(), c.group.id, "action = 'purchase' and page = 'Settings > Credits'")
  t.equal(record!.user_name, 'System')
  t.match(record!.description, `Topped up 200 credits through the recording payment provider (reference rec-1), requested by ${c.owner.name} on 02/12/2026 12:30`)
})

t.test('when a pending top-up is declined on the second asking, then it is no longer pending and nothing is credited', async t => {
  const provider = new RecordingProvider()
  const app = await startApp(provider)
  const c = await makeClinic(ctx.em())
  const agent = await signedInAgent(app, c.owner.email)
  provider.next = 'unreachable'
  await topUp(agent, randomUUID())
  provider.next = 'decline'
  const run = await runScheduledJob(ctx.keeper, ctx.plan, ctx.clock, { paymentProvider: provider })
  provider.next = 'none'
  t.match(run.practices.find(p => p.practiceGroupId === c.group.id)?.topUps, { declined: 1, pending: 0 })
  t.equal(pendingShown((await agent.get('/settings/credits')).body), 0)
  t.equal(await balanceOf(ctx.em(), c.group.id), 0)
})

t.test('when no provider that made a pending top-up is configured, then it stays pending and the job says so', async t => {
  const provider = new RecordingProvider()
  const app = await startApp(provider)
  const c = await makeClinic(ctx.em())
  const agent = await signedInAgent(app, c.owner.email)
  provider.next = 'unreachable'
  await topUp(agent, randomUUID())
  const run = await runScheduledJob(ctx.keeper, ctx.plan, ctx.clock)
  const topUps = run.practices.find(p => p.practiceGroupId === c.group.id)?.topUps
  t.match(topUps, { settled: 0, pending: 1 })
  t.match(topUps?.problems[0], 'was made with the recording payment provider, which is not configured here')
  t.equal(pendingShown((await agent.get('/settings/credits')).body), 1)
})
