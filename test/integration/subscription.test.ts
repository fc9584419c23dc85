import t from 'tap'
import { build } from '../helpers/app.js'
import { loadConfig } from '../../src/config.js'
import { signedInAgent } from '../helpers/agent.js'
import { makeClinic } from '../helpers/clinic.js'
import { auditRows } from '../helpers/audit.js'
import { actorAt, balanceOf, ledger, subscribeAt } from '../helpers/subscriptions.js'
import { makePracticeGroup, makeUser, unique } from '../../src/seed/factories.js'
import { runScheduledJob } from '../../src/domain/scheduled-job/scheduled-job.js'
import { activeUserCount } from '../../src/domain/subscriptions/pricing.js'
import { monthlyPrice } from '../../src/domain/plan/plan.js'
import { activeSubscription, purchaseSubscription, setAutoRenew } from '../../src/domain/subscriptions/subscription.service.js'
import { windowFor } from '../../src/domain/history/access.js'
import { systemUser } from '../../src/domain/users/system-user.js'

const ctx = await build(t)
ctx.clock.set('2026-11-25T03:00:00Z')

t.test('the price is 100 credits under 5 active users and 200 from 5; deactivated and system users do not count', async t => {
  const c = await makeClinic(ctx.em())
  t.equal(await activeUserCount(ctx.em(), c.group.id), 4)
  await makeUser(ctx.em(), c.group, { name: unique('Gone'), active: false })
  await systemUser(ctx.em(), c.group.id)
  t.equal(await activeUserCount(ctx.em(), c.group.id), 4, 'the deactivated user and the System user are not counted')
  t.equal(monthlyPrice(ctx.plan, 4), 100)
  const owner = await signedInAgent(ctx.app, c.owner.email)
  t.match((await owner.get('/settings/add-ons')).body, '100 credits (4 active users)')
  await makeUser(ctx.em(), c.group, { name: unique('Fifth') })
  t.equal(monthlyPrice(ctx.plan, await activeUserCount(ctx.em(), c.group.id)), 200)
  t.match((await owner.get('/settings/add-ons')).body, '200 credits (5 active users)')
})

t.test('Olivia purchases: the balance is debited once, the card shows Active, the window grows and the purchase is recorded', async t => {
  const c = await makeClinic(ctx.em(), { creditBalance: 250 })
  const owner = await signedInAgent(ctx.app, c.owner.email)
  const page = await owner.get('/settings/add-ons')
  t.match(page.body, 'Add a Subscription')
  t.match(page.body, 'Balance after</dt><dd>150 credits')
  const key = /name="idempotencyKey" value="([^"]+)"/.exec(page.body)![1]!
  const first = await owner.post('/settings/add-ons/subscribe', { idempotencyKey: key, expectedPrice: '100' })
  t.equal(first.statusCode, 303)
  const again = await owner.post('/settings/add-ons/subscribe', { idempotencyKey: key, expectedPrice: '100' })
  t.equal(again.statusCode, 303, 'a double click gets the same answer')
  t.equal(await balanceOf(ctx.em(), c.group.id), 150, 'charged once')
  t.same((await ledger(ctx.em(), c.group.id)).map(e => [e.kind, e.amount, e.balance_after]), [['purchase', -100, 150]])
  const card = await owner.get('/settings/add-ons')
  t.match(card.body, 'User Action History is active. 100 credits were charged; your balance is 150 credits.')
  t.match(card.body, /class="status status-active">Active</)
  t.match(card.body, 'Next renewal</dt><dd>25/12/2026 14:00')
  const window = windowFor(ctx.plan, c.group, await activeSubscription(ctx.em(), c.group.id), ctx.clock.now())
  t.equal(window.since.toISOString(), '2026-10-26T03:00:00.000Z', '30 days before the purchase')
  t.equal(window.subscribed, true)
  const [purchase] = await auditRows(ctx.em(), c.group.id, "action = 'purchase'")
  t.match(purchase, { user_id: c.owner.id, page: 'Settings > Add-ons', record_type: 'subscription' })
  t.match(purchase!.description, 'Subscribed to User Action History for 100 credits (4 active users)')
  t.match((await owner.get('/settings/users/history')).body, 'Showing everything since 26/10/2026 14:00, 30 days before your subscription began.')
})

t.test('when a practice has one active user, then the card, the purchase, the ledger, the renewal and the history say "1 active user"; with two, "2 active users"', async t => {
  const group = await makePracticeGroup(ctx.em(), { name: unique('Solo'), creditBalance: 200 })
  const solo = await makeUser(ctx.em(), group, { name: unique('Solo Owner'), accessLevel: 'Full Access', canViewHistory: true })
  const owner = await signedInAgent(ctx.app, solo.email)
  const offer = (await owner.get('/settings/add-ons')).body
  t.match(offer, '100 credits a month for your 1 active user (100 under 5 users, 200 from 5).')
  t.match(offer, 'Monthly price</dt><dd>100 credits (1 active user)</dd>', 'the dialog')
  const confirmation = await owner.get('/settings/add-ons/subscribe')
  t.match(confirmation.body, 'Monthly price</dt><dd>100 credits (1 active user)</dd>', 'the confirmation page')
  t.notMatch(offer + confirmation.body, /1 active users|1 credits\b/)

  const key = /name="idempotencyKey" value="([^"]+)"/.exec(confirmation.body)![1]!
  t.equal((await owner.post('/settings/add-ons/subscribe', { idempotencyKey: key, expectedPrice: '100' })).statusCode, 303)
  const card = (await owner.get('/settings/add-ons')).body
  t.match(card, 'Price</dt><dd>100 credits a month (1 active user)</dd>')
  const ledgerWords = async (): Promise<string[]> => (await ctx.em().getConnection().execute<{ description: string }[]>(
    'select description from credit_entries where practice_group_id = ? order by id', [group.id])).map(row => row.description)
  t.same(await ledgerWords(), ['User Action History subscription (1 active user)'])
  const [purchase] = await auditRows(ctx.em(), group.id, "action = 'purchase'")
  t.match(purchase!.description, /^Subscribed to User Action History for 100 credits \(1 active user\), .* Balance 100 credits\.$/)

  ctx.clock.set('2026-12-25T03:00:00Z')
  await runScheduledJob(ctx.keeper, ctx.plan, ctx.clock)
  ctx.clock.set('2026-11-25T03:00:00Z')
  t.same(await ledgerWords(), ['User Action History subscription (1 active user)', 'User Action History renewal (1 active user)'])
  const [, renewal] = await auditRows(ctx.em(), group.id, "action = 'purchase'")
  t.match(renewal!.description, /^Renewed User Action History at 100 credits \(1 active user\) for .* Balance 0 credits\.$/)

  await makeUser(ctx.em(), group, { name: unique('Second') })
  t.match((await owner.get('/settings/add-ons')).body, 'Price</dt><dd>100 credits a month (2 active users)</dd>')
})

t.test('when a Full Access user opens the purchase without JavaScript, then a confirmation page asks, and only it or the dialog charges', async t => {
  const c = await makeClinic(ctx.em(), { creditBalance: 500 })
  const reception = await signedInAgent(ctx.app, c.reception.email)
  t.equal((await reception.get('/settings/add-ons/subscribe')).statusCode, 403, 'only Full Access users may buy')
  const owner = await signedInAgent(ctx.app, c.owner.email)
  const addOns = (await owner.get('/settings/add-ons')).body
  t.match(addOns, '<form method="get" action="/settings/add-ons/subscribe"><button type="submit" class="primary">Add a Subscription</button></form>')
  t.match(addOns, '<a href="/settings/add-ons/subscribe">Subscribe</a> to see everything', 'the offer\'s "Subscribe" leads to the purchase too')
  const page = await owner.get('/settings/add-ons/subscribe')
  t.equal(page.statusCode, 200)
  t.match(page.body, 'Subscribe to User Action History')
  t.match(page.body, 'Balance after</dt><dd>400 credits')
  t.match(page.body, '<a class="button" href="/settings/add-ons">Cancel</a>')
  t.equal(await balanceOf(ctx.em(), c.group.id), 500, 'asking charges nothing')
  const [opened] = await auditRows(ctx.em(), c.group.id, "url = '/settings/add-ons/subscribe' and action = 'view'")
  t.match(opened, { action: 'view', page: 'Settings > Add-ons', description: 'Opened the purchase of the User Action History subscription' })

  const key = /name="idempotencyKey" value="([^"]+)"/.exec(page.body)![1]!
  t.equal((await owner.post('/settings/add-ons/subscribe', { idempotencyKey: key, expectedPrice: '100' })).statusCode, 303)
  t.equal((await owner.get('/settings/add-ons/subscribe')).headers.location, '/settings/add-ons', 'once subscribed, there is nothing to confirm')
})

t.test('when the add-on is bought, then the buyer is reminded that only people with the permission see the history, with the way to Settings > Users', async t => {
  const c = await makeClinic(ctx.em(), { creditBalance: 500 })
  const owner = await signedInAgent(ctx.app, c.owner.email)
  const key = /name="idempotencyKey" value="([^"]+)"/.exec((await owner.get('/settings/add-ons')).body)![1]!
  t.notMatch((await owner.get('/settings/add-ons')).body, 'who-sees-it', 'nothing to remind before buying')
  await owner.post('/settings/add-ons/subscribe', { idempotencyKey: key, expectedPrice: '100' })
  const card = (await owner.get('/settings/add-ons')).body
  t.match(card, 'User Action History is active. 100 credits were charged; your balance is 400 credits. Now turn on its permission for the people who should see the history.')
  t.match(card, 'it is on for 2 of your 4 active users. Turn it on for everyone who should see the history in <a href="/settings/users">Settings › Users</a>')
  const practitioner = await signedInAgent(ctx.app, c.practitioner.email)
  t.notMatch((await practitioner.get('/settings/add-ons')).body, 'who-sees-it', 'only those who can turn it on are told to')
})

t.test('a price that changed after the dialog opened is shown again instead of charged', async t => {
  const c = await makeClinic(ctx.em(), { creditBalance: 500 })
  const owner = await signedInAgent(ctx.app, c.owner.email)
  const key = /name="idempotencyKey" value="([^"]+)"/.exec((await owner.get('/settings/add-ons')).body)![1]!
  await makeUser(ctx.em(), c.group, { name: unique('Fifth') })
  const response = await owner.post('/settings/add-ons/subscribe', { idempotencyKey: key, expectedPrice: '100' })
  t.equal(response.statusCode, 409)
  t.match(response.body, 'The price is now 200 credits a month (5 active users)')
  t.match(response.body, 'name="expectedPrice" value="200"', 'the dialog offers the new price')
  t.equal(await balanceOf(ctx.em(), c.group.id), 500)
})

t.test('nobody can take a System user\'s address', async t => {
  const c = await makeClinic(ctx.em())
  const owner = await signedInAgent(ctx.app, c.owner.email)
  await owner.get('/settings/users/new')
  const response = await owner.post('/settings/users', { name: 'Mallory', email: `system+${c.group.id}@practice-audit.invalid`, password: 'a long enough password', accessLevel: 'Reception' })
  t.equal(response.statusCode, 422)
  t.match(response.body, 'This address is reserved for the app itself.')
  t.equal((await systemUser(ctx.em(), c.group.id)).name, 'System')
})

t.test('a balance that does not cover the price charges nothing and says so', async t => {
  const c = await makeClinic(ctx.em(), { creditBalance: 99 })
  const owner = await signedInAgent(ctx.app, c.owner.email)
  const page = await owner.get('/settings/add-ons')
  t.match(page.body, 'Not enough credits')
  t.notMatch(page.body, '>Purchase<', 'no Purchase button to press')
  const response = await owner.post('/settings/add-ons/subscribe', { idempotencyKey: 'abcdefgh-1234', expectedPrice: '100' })
  t.equal(response.statusCode, 409)
  t.match(response.body, 'The subscription costs 100 credits a month and your balance is 99 credits.')
  t.equal(await balanceOf(ctx.em(), c.group.id), 99)
  t.equal(await activeSubscription(ctx.em(), c.group.id), null)
})

t.test('100 concurrent purchases against a balance that covers one charge exactly once', async t => {
  const c = await makeClinic(ctx.em(), { creditBalance: 100 })
  const attempts = await Promise.allSettled(Array.from({ length: 100 }, (_, i) =>
    purchaseSubscription(ctx.owner.em.fork(), ctx.plan, actorAt(c.owner, ctx.clock.now()), `concurrent-${c.group.id}-${i}`)))
  t.equal(attempts.filter(a => a.status === 'fulfilled').length, 1, 'one purchase succeeds')
  t.ok(attempts.filter(a => a.status === 'rejected').every(a => /already has an active/.test(String((a as PromiseRejectedResult).reason))), 'the others are told why')
  t.equal(await balanceOf(ctx.em(), c.group.id), 0)
  t.equal((await ledger(ctx.em(), c.group.id)).length, 1)
  t.equal((await auditRows(ctx.em(), c.group.id, "action = 'purchase'")).length, 1)
})

t.test('the same idempotency key sent concurrently charges once and answers the same', async t => {
  const c = await makeClinic(ctx.em(), { creditBalance: 1000 })
  const results = await Promise.all(Array.from({ length: 10 }, () =>
    purchaseSubscription(ctx.owner.em.fork(), ctx.plan, actorAt(c.owner, ctx.clock.now()), `same-${c.group.id}`)))
  t.equal(new Set(results.map(r => r.subscriptionId)).size, 1)
  t.ok(results.every(r => r.balanceAfter === 900))
  t.equal(await balanceOf(ctx.em(), c.group.id), 900)
})

t.test('the balance can never go below zero, even by hand', async t => {
  const c = await makeClinic(ctx.em(), { creditBalance: 5 })
  await t.rejects(ctx.em().getConnection().execute('update practice_groups set credit_balance = credit_balance - 10 where id = ?', [c.group.id]), /check/)
})

t.test('only Full Access users can purchase or change auto-renew; others see the state read-only', async t => {
  const c = await makeClinic(ctx.em(), { creditBalance: 500 })
  for (const user of [c.practitioner, c.reception]) {
    const agent = await signedInAgent(ctx.app, user.email)
    const page = await agent.get('/settings/add-ons')
    t.equal(page.statusCode, 200)
    t.notMatch(page.body, 'Add a Subscription')
    t.match(page.body, 'Only Full Access users can subscribe.')
    t.equal((await agent.post('/settings/add-ons/subscribe', { idempotencyKey: 'abcdefgh-5678', expectedPrice: '100' })).statusCode, 403)
    t.equal((await agent.post('/settings/add-ons/auto-renew', { autoRenew: 'off' })).statusCode, 403)
    t.equal((await agent.post('/settings/credits/top-up', { credits: '100', idempotencyKey: 'abcdefgh-9999' })).statusCode, 403)
  }
  t.equal(await balanceOf(ctx.em(), c.group.id), 500)
})

t.test('auto-renew off and on again is recorded as updates', async t => {
  const c = await makeClinic(ctx.em(), { creditBalance: 500 })
  await subscribeAt(ctx.em(), c.owner, ctx.clock.now())
  const owner = await signedInAgent(ctx.app, c.owner.email)
  await owner.get('/settings/add-ons')
  t.equal((await owner.post('/settings/add-ons/auto-renew', { autoRenew: 'off' })).statusCode, 303)
  t.match((await owner.get('/settings/add-ons')).body, 'Auto-renew</dt><dd>Off')
  await owner.post('/settings/add-ons/auto-renew', { autoRenew: 'on' })
  const updates = await auditRows(ctx.em(), c.group.id, "action = 'update' and record_type = 'subscription'")
  t.same(updates.map(u => u.changes![0]!.afterText), ['Off', 'On'])
  t.equal((await owner.post('/settings/add-ons/auto-renew', { autoRenew: 'sideways' })).statusCode, 400)
})

t.test('top-ups go through the payment provider, once per key, into the ledger and the history', async t => {
  const c = await makeClinic(ctx.em())
  const owner = await signedInAgent(ctx.app, c.owner.email)
  const page = await owner.get('/settings/credits')
  t.match(page.body, 'Test payment provider')
  const key = /name="idempotencyKey" value="([^"]+)"/.exec(page.body)![1]!
  t.equal((await owner.post('/settings/credits/top-up', { credits: '500', idempotencyKey: key })).statusCode, 303)
  t.equal((await owner.post('/settings/credits/top-up', { credits: '500', idempotencyKey: key })).statusCode, 303)
  t.equal(await balanceOf(ctx.em(), c.group.id), 500, 'added once')
  const after = await owner.get('/settings/credits')
  t.match(after.body, '500 credits were added. Your balance is 500 credits.')
  t.match(after.body, '<td class="amount">+500</td>')
  t.equal((await owner.post('/settings/credits/top-up', { credits: '7', idempotencyKey: 'abcdefgh-0000' })).statusCode, 400, 'only the offered amounts')
  const [record] = await auditRows(ctx.em(), c.group.id, "action = 'purchase' and page = 'Settings > Credits'")
  t.match(record!.description, /Topped up 500 credits through the test payment provider \(reference test-/)
})

t.test('from 7 days before a period ends without a renewal in sight, the add-ons and history pages warn', async t => {
  const c = await makeClinic(ctx.em(), { creditBalance: 100 })
  await subscribeAt(ctx.em(), c.owner, '2026-06-01T00:00:00Z') // ends 1 Jul 10:00 in Sydney; the balance is then 0
  const pages = ['/settings/add-ons', '/settings/users/history']
  const banner = 'Your User Action History subscription expires on 01/07/2026 10:00'
  const bannerAt = async (at: string): Promise<boolean[]> => {
    ctx.clock.set(at)
    const owner = await signedInAgent(ctx.app, c.owner.email)
    return Promise.all(pages.map(async path => (await owner.get(path)).body.includes(banner)))
  }
  t.same(await bannerAt('2026-06-23T23:59:59Z'), [false, false], 'not yet 7 days before')
  t.same(await bannerAt('2026-06-24T00:00:00Z'), [true, true], '7 days before: the balance cannot cover the renewal')
  const owner = await signedInAgent(ctx.app, c.owner.email)
  t.match((await owner.get('/settings/add-ons')).body, 'the balance does not cover the next month (100 credits needed, 0 available)')
  t.match((await owner.get('/settings/add-ons')).body, 'Records older than 30 days will then be permanently deleted; none are that old yet.')
  await ctx.em().getConnection().execute('update practice_groups set credit_balance = 100 where id = ?', [c.group.id])
  t.same(await bannerAt('2026-06-24T00:00:00Z'), [false, false], 'a renewal in sight: no warning')
  await setAutoRenew(ctx.em(), actorAt(c.owner, '2026-06-24T00:00:00Z'), false)
  t.same(await bannerAt('2026-06-25T00:00:00Z'), [true, true], 'auto-renew off: warned again')
  ctx.clock.set('2026-11-25T03:00:00Z')
})

t.test('without a configured payment provider there are no top-ups, and production never defaults to free credits', async t => {
  t.equal(loadConfig({ NODE_ENV: 'production', SESSION_SECRET: 'a-production-secret-of-at-least-32-chars', CHAIN_SIGNING_KEY: 'chain-signing-key.pem' }).PAYMENT_PROVIDER, 'none')
  t.equal(loadConfig({ NODE_ENV: 'development' }).PAYMENT_PROVIDER, 'test')
  const shop = await build(t, { PAYMENT_PROVIDER: 'none' })
  const c = await makeClinic(shop.em())
  const owner = await signedInAgent(shop.app, c.owner.email)
  t.match((await owner.get('/settings/credits')).body, 'Top-ups are not available: no payment provider is configured.')
  t.equal((await owner.post('/settings/credits/top-up', { credits: '500', idempotencyKey: 'abcdefgh-4242' })).statusCode, 503)
  t.equal(await balanceOf(shop.em(), c.group.id), 0)
})
