import t from 'tap'
import pg from 'pg'
import { build } from '../helpers/app.js'
import { signedInAgent } from '../helpers/agent.js'
import { makeClinic, type Clinic } from '../helpers/clinic.js'
import { auditRows } from '../helpers/audit.js'
import { addRecord } from '../helpers/history.js'
import { actorAt, balanceOf, ledger, subscribeAt } from '../helpers/subscriptions.js'
import { makeUser, unique } from '../../src/seed/factories.js'
import { runScheduledJob } from '../../src/domain/scheduled-job/scheduled-job.js'
import { activeSubscription, latestSubscription, setAutoRenew } from '../../src/domain/subscriptions/subscription.service.js'
import { windowFor } from '../../src/domain/history/access.js'

const ctx = await build(t)
const DAY = 86_400_000

const runAt = async (at: string | Date, options = {}) => {
  ctx.clock.set(at)
  return runScheduledJob(ctx.keeper, ctx.plan, ctx.clock, options)
}
const reportFor = (report: Awaited<ReturnType<typeof runAt>>, c: Clinic) => report.practices.find(p => p.practiceGroupId === c.group.id)!
const periodEndOf = async (c: Clinic): Promise<string> => (await latestSubscription(ctx.em(), c.group.id))!.currentPeriodEnd.toISOString()
const occurredTimes = async (c: Clinic, where = "page = 'Patients'"): Promise<string[]> =>
  (await auditRows(ctx.em(), c.group.id, where)).map(r => new Date(r.occurred_at).toISOString()).sort()

t.test('renewals fall on the anniversary, clamped to the month end, priced by the active users at renewal', async t => {
  const c = await makeClinic(ctx.em(), { creditBalance: 1000 })
  await subscribeAt(ctx.em(), c.owner, '2027-01-30T23:00:00Z') // 31 Jan 2027 10:00 in Sydney
  t.equal(await periodEndOf(c), '2027-02-27T23:00:00.000Z', 'first period ends 28 Feb 10:00')
  t.same(reportFor(await runAt('2027-02-27T22:59:59.999Z'), c).renewed, [], 'a millisecond early: nothing')
  await makeUser(ctx.em(), c.group, { name: unique('Fifth') })
  const renewal = reportFor(await runAt('2027-02-27T23:00:00Z'), c)
  t.match(renewal.renewed, [{ price: 200, activeUsers: 5 }], 'five active users at renewal: 200 credits')
  t.equal(await periodEndOf(c), '2027-03-30T23:00:00.000Z', 'then 31 March 10:00')
  await runAt('2027-03-30T23:00:00Z')
  t.equal(await periodEndOf(c), '2027-04-30T00:00:00.000Z', 'then 30 April 10:00, after daylight saving ended')
  t.equal(await balanceOf(ctx.em(), c.group.id), 1000 - 100 - 200 - 200)
  const entries = await ledger(ctx.em(), c.group.id)
  t.same(entries.map(e => [e.kind, e.amount]), [['purchase', -100], ['renewal', -200], ['renewal', -200]])
  t.equal(new Date(entries[1]!.period_start!).toISOString(), '2027-02-27T23:00:00.000Z')
  const renewals = await auditRows(ctx.em(), c.group.id, "action = 'purchase' and user_name = 'System'")
  t.equal(renewals.length, 2, 'each renewal is in the history as System')
  t.match(renewals[0]!.description, 'Renewed User Action History at 200 credits (5 active users)')
})

t.test('a subscription started on 31 January 2028 renews on 29 February', async t => {
  const c = await makeClinic(ctx.em(), { creditBalance: 300 })
  await subscribeAt(ctx.em(), c.owner, '2028-01-30T23:00:00Z')
  t.equal(await periodEndOf(c), '2028-02-28T23:00:00.000Z')
})

t.test('across the Sydney daylight-saving changes the renewal keeps its wall-clock time', async t => {
  const spring = await makeClinic(ctx.em(), { creditBalance: 300 })
  await subscribeAt(ctx.em(), spring.owner, '2026-09-05T00:00:00Z') // 5 Sep 10:00 AEST
  t.equal(await periodEndOf(spring), '2026-10-04T23:00:00.000Z', '5 Oct 10:00 AEDT, after the 4 Oct change')
  t.same(reportFor(await runAt('2026-10-04T22:59:59.999Z'), spring).renewed, [])
  t.equal(reportFor(await runAt('2026-10-04T23:00:00Z'), spring).renewed.length, 1)

  const autumn = await makeClinic(ctx.em(), { creditBalance: 300 })
  await subscribeAt(ctx.em(), autumn.owner, '2026-03-04T23:00:00Z') // 5 Mar 10:00 AEDT
  t.equal(await periodEndOf(autumn), '2026-04-05T00:00:00.000Z', '5 Apr 10:00 AEST, after the 5 Apr change')
})

t.test('with auto-renew off the subscription lapses at exactly its end, and exactly the records older than 30 days go', async t => {
  const c = await makeClinic(ctx.em(), { creditBalance: 100 })
  const start = Date.parse('2026-06-01T00:00:00Z')
  for (const at of [start - 45 * DAY, start - 30 * DAY + 3_600_000, start - 1, start, start + 10 * DAY]) await addRecord(ctx.em(), c.owner, { at: new Date(at) })
  await subscribeAt(ctx.em(), c.owner, new Date(start))
  await setAutoRenew(ctx.em(), actorAt(c.owner, new Date(start + DAY)), false)
  const end = await periodEndOf(c)
  t.equal(end, '2026-07-01T00:00:00.000Z')

  const early = reportFor(await runAt('2026-06-30T23:59:59.999Z'), c)
  t.equal(early.expiredAt, null, 'still active a millisecond before')
  t.equal(early.deleted, 1, 'only the record from before the subscribed window goes')
  t.same(await occurredTimes(c), [new Date(start - 30 * DAY + 3_600_000), new Date(start - 1), new Date(start), new Date(start + 10 * DAY)].map(d => d.toISOString()),
    'records inside the window are kept even when older than 30 days')

  const lapse = reportFor(await runAt(end), c)
  t.equal(lapse.expiredAt?.toISOString(), end)
  t.equal(lapse.deleted, 2, 'the two records older than 30 days before the end')
  t.same(await occurredTimes(c), [new Date(start), new Date(start + 10 * DAY)].map(d => d.toISOString()), 'a record exactly 30 days old stays')
  const window = windowFor(ctx.plan, c.group, await activeSubscription(ctx.em(), c.group.id), ctx.clock.now())
  t.equal(window.subscribed, false)
  t.equal(window.since.toISOString(), new Date(Date.parse(end) - 7 * DAY).toISOString(), 'back to the last 7 days')
  const story = await auditRows(ctx.em(), c.group.id, "(record_type = 'subscription' or page = 'Retention')")
  t.same(story.map(r => [r.user_name, r.action]), [
    [c.owner.name, 'purchase'], [c.owner.name, 'update'], ['System', 'delete'], ['System', 'update'], ['System', 'delete']
  ], 'every step is in the history: purchase, auto-renew off, retention, expiry, deletion')
  const system = await auditRows(ctx.em(), c.group.id, "user_name = 'System'")
  t.match(system.map(r => r.description), [/Permanently deleted 1 record older/, /expired at 01\/07\/2026 10:00 because auto-renew was off/, /Permanently deleted 2 records older than 01\/06\/2026 10:00/])

  const ledgerBefore = await ledger(ctx.em(), c.group.id)
  const historyBefore = (await auditRows(ctx.em(), c.group.id)).length
  const second = reportFor(await runAt(end), c)
  t.match(second, { renewed: [], expiredAt: null, deleted: 0 }, 'running again changes nothing')
  t.same(await ledger(ctx.em(), c.group.id), ledgerBefore)
  t.equal((await auditRows(ctx.em(), c.group.id)).length, historyBefore)

  const owner = await signedInAgent(ctx.app, c.owner.email)
  const card = await owner.get('/settings/add-ons')
  t.match(card.body, /class="status status-expired">Expired</)
  t.match(card.body, 'The subscription expired on 01/07/2026 10:00. Records from before 01/06/2026 10:00 were permanently deleted.')
  t.match(card.body, 'Subscribe again')
})

t.test('resubscribing a day or a year after expiry opens a new window from 30 days before the new start', async t => {
  const c = await makeClinic(ctx.em(), { creditBalance: 1000 })
  await subscribeAt(ctx.em(), c.owner, '2026-06-01T00:00:00Z')
  await setAutoRenew(ctx.em(), actorAt(c.owner, '2026-06-02T00:00:00Z'), false)
  await runAt('2026-07-01T00:00:00Z')
  t.equal(await activeSubscription(ctx.em(), c.group.id), null)
  await subscribeAt(ctx.em(), c.owner, '2026-07-02T00:00:00Z')
  t.equal((await activeSubscription(ctx.em(), c.group.id))!.windowStart.toISOString(), '2026-06-02T00:00:00.000Z', 'a day later')
  await setAutoRenew(ctx.em(), actorAt(c.owner, '2026-07-03T00:00:00Z'), false)
  await runAt('2026-08-02T00:00:00Z')
  await subscribeAt(ctx.em(), c.owner, '2027-08-02T00:00:00Z')
  t.equal((await activeSubscription(ctx.em(), c.group.id))!.windowStart.toISOString(), '2027-07-03T00:00:00.000Z', 'a year later')
})

t.test('a balance that cannot cover the renewal lets the subscription expire', async t => {
  const c = await makeClinic(ctx.em(), { creditBalance: 150 })
  await subscribeAt(ctx.em(), c.owner, '2026-06-01T00:00:00Z')
  const report = reportFor(await runAt('2026-07-01T00:00:00Z'), c)
  t.equal(report.renewed.length, 0)
  t.ok(report.expiredAt)
  t.equal(await balanceOf(ctx.em(), c.group.id), 50, 'nothing charged')
  const [expiry] = await auditRows(ctx.em(), c.group.id, "user_name = 'System' and action = 'update'")
  t.match(expiry!.description, 'the balance (50 credits) did not cover the price (100 credits)')
})

t.test('a free practice keeps 30 days; deletion runs in batches and a crash midway is finished by the next run', async t => {
  const c = await makeClinic(ctx.em())
  const now = Date.parse('2026-09-01T00:00:00Z')
  for (let i = 0; i < 25; i++) await addRecord(ctx.em(), c.reception, { at: new Date(now - 31 * DAY - i * 60_000) })
  for (let i = 0; i < 5; i++) await addRecord(ctx.em(), c.reception, { at: new Date(now - 29 * DAY - i * 60_000) })
  let batches = 0
  const crashed = reportFor(await runAt(new Date(now), {
    batchSize: 10,
    afterBatch: (practiceGroupId: number) => { if (practiceGroupId === c.group.id && ++batches === 1) throw new Error('the process was killed') }
  }), c)
  t.match(crashed.error, 'the process was killed')
  t.equal((await occurredTimes(c)).length, 20, 'the first batch of 10 stayed deleted')
  const finished = reportFor(await runAt(new Date(now), { batchSize: 10 }), c)
  t.equal(finished.deleted, 15)
  t.equal((await occurredTimes(c)).length, 5, 'only the last 30 days remain')
})

t.test('a run asked to stop finishes the practice it is on and leaves the rest to the next run', async t => {
  const first = await makeClinic(ctx.em())
  const second = await makeClinic(ctx.em())
  const now = Date.parse('2026-10-01T00:00:00Z')
  const expired = "occurred_at < now() - interval '1 day' and user_name <> 'System'"
  for (const c of [first, second]) {
    for (let i = 0; i < 3; i++) await addRecord(ctx.em(), c.reception, { at: new Date(now - 40 * DAY - i * 60_000) })
  }
  const stopping = new AbortController()
  const stopped = await runAt(new Date(now), {
    batchSize: 2,
    stopping: stopping.signal,
    afterBatch: (practiceGroupId: number) => { if (practiceGroupId === first.group.id) stopping.abort() }
  })
  t.equal(reportFor(stopped, first).deleted, 3, 'the practice it was on is finished, past the batch where the stop came')
  t.equal(reportFor(stopped, second), undefined, 'the next practice is not begun')
  t.equal((await auditRows(ctx.em(), second.group.id, expired)).length, 3)
  t.equal(reportFor(await runAt(new Date(now)), second).deleted, 3, 'the next run does it')
})

t.test('a dry run says what it would do and changes nothing', async t => {
  const c = await makeClinic(ctx.em(), { creditBalance: 500 })
  await subscribeAt(ctx.em(), c.owner, '2026-06-01T00:00:00Z')
  await addRecord(ctx.em(), c.owner, { at: '2026-04-01T00:00:00Z' })
  const before = { ledger: await ledger(ctx.em(), c.group.id), history: (await auditRows(ctx.em(), c.group.id)).length, end: await periodEndOf(c) }
  const report = reportFor(await runAt('2026-07-01T00:00:00Z', { dryRun: true }), c)
  t.match(report.renewed, [{ price: 100 }])
  t.equal(report.deleted, 1)
  t.same(await ledger(ctx.em(), c.group.id), before.ledger)
  t.equal((await auditRows(ctx.em(), c.group.id)).length, before.history)
  t.equal(await periodEndOf(c), before.end)
})

t.test('only one runner works at a time: a held lock means the run does nothing', async t => {
  const c = await makeClinic(ctx.em(), { creditBalance: 500 })
  await subscribeAt(ctx.em(), c.owner, '2026-06-01T00:00:00Z')
  const holder = new pg.Client({ connectionString: ctx.databaseUrl })
  await holder.connect()
  await holder.query('select pg_advisory_lock(727001)')
  const blocked = await runAt('2026-07-01T00:00:00Z')
  t.equal(blocked.ran, false)
  t.equal(await periodEndOf(c), '2026-07-01T00:00:00.000Z', 'nothing renewed')
  await holder.end()
  const [a, b, d] = await Promise.all([runAt('2026-07-01T00:00:00Z'), runScheduledJob(ctx.keeper, ctx.plan, ctx.clock), runScheduledJob(ctx.keeper, ctx.plan, ctx.clock)])
  t.equal([a, b, d].filter(r => r.ran && reportFor(r, c).renewed.length > 0).length, 1, 'three runners on the same tick renew once')
  t.equal((await ledger(ctx.em(), c.group.id)).filter(e => e.kind === 'renewal').length, 1)
})
