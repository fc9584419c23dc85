import t from 'tap'
import { build } from '../helpers/app.js'
import { signedInAgent } from '../helpers/agent.js'
import { makeClinic } from '../helpers/clinic.js'
import { auditRows } from '../helpers/audit.js'
import { addRecord, shownRows } from '../helpers/history.js'
import { actorAt, balanceOf, subscribeAt } from '../helpers/subscriptions.js'
import { makeUser, unique } from '../../src/seed/factories.js'
import { buildApp } from '../../src/app.js'
import { appendCheckpoint, verifyPracticeChain } from '../../src/domain/chain/chain.service.js'
import { sealPracticeBefore } from '../../src/domain/chain/sealer.js'
import { runScheduledJob } from '../../src/domain/scheduled-job/scheduled-job.js'
import { DEFAULT_PLAN, type Plan } from '../../src/domain/plan/plan.js'
import { activeSubscription, setAutoRenew } from '../../src/domain/subscriptions/subscription.service.js'
import { formatDateTime } from '../../src/domain/time/zoned.js'

const DAY = 86_400_000

/** Every term differs from the default plan's, so a page or rule that ignores the plan shows. */
const OTHER_PLAN: Plan = {
  freeWindowDays: 14,
  windowBeforeSubscriptionDays: 45,
  freeRetentionDays: 60,
  monthlyPrice: { small: 150, large: 300, largeFrom: 8 },
  expiryWarningDays: 10
}

const ctx = await build(t, {}, { plan: OTHER_PLAN })
const NOW = Date.parse('2026-11-25T03:00:00Z')
ctx.clock.set(new Date(NOW))

const daysAgo = (days: number): Date => new Date(ctx.clock.now().getTime() - days * DAY)
const patientPageDescriptions = async (practiceGroupId: number): Promise<string[]> =>
  (await auditRows(ctx.em(), practiceGroupId, "page = 'Patients'")).map(row => row.description)

t.test('when the app runs on another plan, then Settings > Add-ons states its terms and charges its price', async t => {
  ctx.clock.set(new Date(NOW))
  const c = await makeClinic(ctx.em(), { creditBalance: 1000 })
  const owner = await signedInAgent(ctx.app, c.owner.email)
  const free = (await owner.get('/settings/add-ons')).body
  t.match(free, 'Free: every user with the permission sees the last 14 days. Everything staff do is always recorded; records are kept for 60 days.')
  t.match(free, '<a href="/settings/add-ons/subscribe">Subscribe</a> to see everything from 45 days before the day you subscribe, for as long as the subscription continues: 150 credits a month for your 4 active users (150 under 8 users, 300 from 8).')
  t.match(free, `History from ${formatDateTime(daysAgo(45), c.group.timeZone)} (45 days before today) onward, renewed monthly`)
  t.notMatch(free, /\b(7|30) days|100 under 5/, 'nothing of the default plan is left on the page')

  for (let i = 0; i < 3; i++) await makeUser(ctx.em(), c.group, { name: unique('Staff') })
  t.match((await owner.get('/settings/add-ons')).body, '150 credits (7 active users)', 'seven users are still under the threshold')
  await makeUser(ctx.em(), c.group, { name: unique('Eighth') })
  const page = await owner.get('/settings/add-ons')
  t.match(page.body, '300 credits (8 active users)', 'eight users pay the larger price')

  const key = /name="idempotencyKey" value="([^"]+)"/.exec(page.body)![1]!
  t.equal((await owner.post('/settings/add-ons/subscribe', { idempotencyKey: key, expectedPrice: '300' })).statusCode, 303)
  t.equal(await balanceOf(ctx.em(), c.group.id), 700, 'charged the plan\'s price')
  const subscription = await activeSubscription(ctx.em(), c.group.id)
  t.equal(subscription?.windowStart.toISOString(), daysAgo(45).toISOString(), 'the window opens 45 days before the purchase')
  t.match((await owner.get('/settings/users/history')).body,
    `Showing everything since ${formatDateTime(daysAgo(45), c.group.timeZone)}, 45 days before your subscription began.`)
})

t.test('when a free practice opens its history, then the plan\'s window decides the rows and the summary; the same rows under the default plan show fewer', async t => {
  ctx.clock.set(new Date(NOW))
  const c = await makeClinic(ctx.em())
  await addRecord(ctx.em(), c.owner, { at: daysAgo(10), description: 'Ten days ago' })
  await addRecord(ctx.em(), c.owner, { at: daysAgo(15), description: 'Fifteen days ago' })
  const page = await (await signedInAgent(ctx.app, c.owner.email)).get('/settings/users/history?action=view&pageName=Patients')
  t.match(page.body, /Showing the last 14 days — <a href="\/settings\/add-ons(\/subscribe)?">subscribe to see more<\/a>\./)
  t.same(shownRows(page.body).map(r => r.description), ['Ten days ago'])

  const defaultApp = buildApp({ config: ctx.config, orm: ctx.orm, keeperOrm: ctx.keeper, clock: ctx.clock })
  await defaultApp.ready()
  t.teardown(() => defaultApp.close())
  const onDefault = await (await signedInAgent(defaultApp, c.owner.email)).get('/settings/users/history?action=view&pageName=Patients')
  t.match(onDefault.body, /Showing the last 7 days — <a href="\/settings\/add-ons(\/subscribe)?">subscribe to see more<\/a>\./)
  t.same(shownRows(onDefault.body).map(r => r.description), [], 'ten days is outside the default plan\'s 7')
})

t.test('when a subscription will lapse, then the banner shows from the plan\'s lead and names its retention', async t => {
  const c = await makeClinic(ctx.em(), { creditBalance: 150 })
  await subscribeAt(ctx.em(), c.owner, '2026-06-01T00:00:00Z', OTHER_PLAN)
  await setAutoRenew(ctx.em(), actorAt(c.owner, '2026-06-01T00:05:00Z'), false)
  const end = (await activeSubscription(ctx.em(), c.group.id))!.currentPeriodEnd
  const banner = `Your User Action History subscription expires on ${formatDateTime(end, c.group.timeZone)}`
  const addOnsAt = async (at: Date): Promise<string> => {
    ctx.clock.set(at)
    return (await (await signedInAgent(ctx.app, c.owner.email)).get('/settings/add-ons')).body
  }
  t.notMatch(await addOnsAt(new Date(end.getTime() - 10 * DAY - 1000)), banner, 'not yet 10 days before')
  const warned = await addOnsAt(new Date(end.getTime() - 10 * DAY))
  t.match(warned, banner, '10 days before: warned')
  t.match(warned, 'Records older than 60 days will then be permanently deleted; none are that old yet.')

  await addRecord(ctx.em(), c.owner, { at: '2026-04-01T00:00:00Z', description: 'Older than 60 days at the end' })
  const withDeletion = await addOnsAt(new Date(end.getTime() - 10 * DAY))
  t.match(withDeletion, 'After that, as for any practice without the subscription, each record is deleted when it turns 60 days old.')
  t.match(withDeletion, `(everything before ${formatDateTime(new Date(end.getTime() - 60 * DAY), c.group.timeZone)})`)

  ctx.clock.set(end)
  const report = (await runScheduledJob(ctx.keeper, ctx.plan, ctx.clock)).practices.find(p => p.practiceGroupId === c.group.id)!
  t.equal(report.expiredAt?.getTime(), end.getTime())
  const [expiry] = await auditRows(ctx.em(), c.group.id, "user_name = 'System' and action = 'update'")
  t.match(expiry!.description, 'The practice is back on the free 14-day view, and records older than 60 days are deleted.')
  const [{ deleted_before: deletedBefore }] = await ctx.em().getConnection().execute<{ deleted_before: Date }[]>(
    'select deleted_before from subscriptions where practice_group_id = ?', [c.group.id]) as [{ deleted_before: Date }]
  t.equal(new Date(deletedBefore).getTime(), end.getTime() - 60 * DAY, 'what the expiry deleted is stored by the plan\'s retention')
})

t.test('when the retention job runs, then it keeps the plan\'s 60 days, and the database refuses anything shorter', async t => {
  ctx.clock.set(new Date(NOW))
  const c = await makeClinic(ctx.em())
  await addRecord(ctx.em(), c.owner, { at: daysAgo(45), description: 'Forty-five days old' })
  await addRecord(ctx.em(), c.owner, { at: daysAgo(65), description: 'Sixty-five days old' })
  const report = (await runScheduledJob(ctx.keeper, ctx.plan, ctx.clock)).practices.find(p => p.practiceGroupId === c.group.id)!
  t.equal(report.error, undefined)
  t.equal(report.cutoff.toISOString(), daysAgo(60).toISOString())
  t.equal(report.deleted, 1)
  t.same(await patientPageDescriptions(c.group.id), ['Forty-five days old'], 'the 45-day-old record survives; the 65-day-old one is gone')

  await t.rejects(ctx.keeper.em.getConnection().execute('select purge_expired_audit_records(?, ?, ?, 10)', [c.group.id, daysAgo(45), ctx.clock.now()]),
    /Records from the last 60 days are never deleted/, 'the keeper cannot ask the database for less than the plan keeps')
  t.same(await patientPageDescriptions(c.group.id), ['Forty-five days old'])
})

t.test('when a checkpoint deletes records younger than the plan\'s retention, then verification reports it; under the default plan it would pass', async t => {
  ctx.clock.set(new Date(NOW))
  const c = await makeClinic(ctx.em())
  await addRecord(ctx.em(), c.owner, { at: daysAgo(70), description: 'Deleted by retention' })
  await addRecord(ctx.em(), c.owner, { at: daysAgo(1), description: 'Recent' })
  await runScheduledJob(ctx.keeper, ctx.plan, ctx.clock)
  t.ok(await sealPracticeBefore(ctx.em(), c.group.id, new Date('9999-12-31T00:00:00Z'), ctx.clock.now()))
  t.match(await verifyPracticeChain(ctx.em(), ctx.plan, c.group.id), { intact: true, deleted: 1 }, 'the job\'s own checkpoint keeps to the plan')

  await ctx.em().transactional(tx => appendCheckpoint(tx, c.group.id, ctx.clock.now(), daysAgo(45), []))
  const owner = await signedInAgent(ctx.app, c.owner.email)
  const result = await owner.post('/settings/users/history/verify', {}, { headers: { 'hx-request': 'true' } })
  t.match(result.body, /The history is not exactly as recorded/)
  t.match(result.body, /Checkpoint #\d+ of .* deletes records from the last 60 days \(before .*\), which retention never does\./)
  t.equal((await verifyPracticeChain(ctx.em(), DEFAULT_PLAN, c.group.id)).intact, true, 'a 45-day cutoff keeps to the default plan\'s 30 days')
})
