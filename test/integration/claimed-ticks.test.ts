import t from 'tap'
import Fastify from 'fastify'
import type { EntityManager } from '@mikro-orm/postgresql'
import { testDatabase, testRoles } from '../helpers/app.js'
import { openUnscopedOrm } from '../../src/db/orm.js'
import { claimTick } from '../../src/domain/ticks/claimed-ticks.js'
import shutdown from '../../src/plugins/app/shutdown.js'
import { schedulePasses } from '../../src/plugins/app/scheduled-passes.js'

const databaseUrl = await testDatabase(t)
const roles = testRoles(databaseUrl)
const keeper = await openUnscopedOrm(roles.keeper, 10)
const app = await openUnscopedOrm(roles.app, 1)
t.teardown(async () => {
  await keeper.close(true)
  await app.close(true)
})
const asKeeper = (): EntityManager => keeper.em.fork() as EntityManager
const HOUR = 3_600_000

async function claimsOf (task: string): Promise<Array<{ tick: string, claimed_by: string }>> {
  const rows = await asKeeper().getConnection().execute<Array<{ tick: Date, claimed_by: string }>>(
    'select tick, claimed_by from claimed_ticks where task = ? order by tick', [task])
  return rows.map(row => ({ tick: new Date(row.tick).toISOString(), claimed_by: row.claimed_by }))
}

t.test('when instances claim the same tick at once, then exactly one of them runs it', async t => {
  const tick = new Date('2026-12-14T10:00:01Z')
  const claims = await Promise.all(Array.from({ length: 10 }, (_, i) => claimTick(asKeeper(), 'sealer', tick, `host:${i}`)))
  t.equal(claims.filter(Boolean).length, 1)
  const [claim] = await claimsOf('sealer')
  t.equal(claim?.claimed_by, `host:${claims.indexOf(true)}`, 'the claim names the instance that runs it')
  t.notOk(await claimTick(asKeeper(), 'sealer', tick, 'host:late'), 'an instance whose timer fired late finds the tick taken')
})

t.test('when the next tick or another task comes, then it is claimed afresh', async t => {
  const tick = new Date('2026-12-14T11:00:00Z')
  t.ok(await claimTick(asKeeper(), 'scheduled-job', tick, 'host:1'))
  t.ok(await claimTick(asKeeper(), 'sealer', tick, 'host:2'), 'the same time, another task')
  t.ok(await claimTick(asKeeper(), 'scheduled-job', new Date(tick.getTime() + 2000), 'host:2'), 'the next tick')
})

t.test('when a claim takes, then the task\'s claims older than a day are pruned, and only that task\'s', async t => {
  const now = new Date('2026-12-20T12:00:00Z')
  for (const hoursAgo of [30, 23]) t.ok(await claimTick(asKeeper(), 'pruned', new Date(now.getTime() - hoursAgo * HOUR), 'host:1'))
  t.ok(await claimTick(asKeeper(), 'kept', new Date(now.getTime() - 30 * HOUR), 'host:1'))
  t.notOk(await claimTick(asKeeper(), 'pruned', new Date(now.getTime() - 23 * HOUR), 'host:2'), 'a claim that does not take prunes nothing')
  t.equal((await claimsOf('pruned')).length, 2)
  t.ok(await claimTick(asKeeper(), 'pruned', now, 'host:1'))
  t.same((await claimsOf('pruned')).map(claim => claim.tick), [new Date(now.getTime() - 23 * HOUR).toISOString(), now.toISOString()])
  t.equal((await claimsOf('kept')).length, 1, 'another task\'s old claim is its own to prune')
})

t.test('when three app instances schedule the same pass every second, then each tick runs on one of them', async t => {
  let runs = 0
  const instances = await Promise.all([0, 1, 2].map(async () => {
    const app = Fastify()
    await app.register(shutdown)
    app.decorate('keeperOrm', keeper)
    schedulePasses(app, '* * * * * *', async () => { runs++ }, { oncePerTickAs: 'every-second' })
    await app.ready()
    return app
  }))
  await new Promise(resolve => setTimeout(resolve, 4_500))
  await Promise.all(instances.map(app => app.close()))
  t.ok(runs >= 3, `${runs} ticks ran`)
  const claims = (await claimsOf('every-second')).length
  t.ok(runs <= claims, `${runs} runs for ${claims} claimed ticks: never two runs of one tick`)
  // An instance closing between its claim and its pass leaves that tick to the next one: at most one such tick per instance.
  t.ok(runs >= claims - instances.length, `${claims - runs} claimed ticks left to the next pass by instances that were closing`)
})

t.test('when the app role tries to claim or clear a tick, then the database refuses: only the keeper runs the tasks', async t => {
  const sql = (query: string) => app.em.fork().getConnection().execute(query)
  await t.rejects(sql("insert into claimed_ticks (task, tick, claimed_by) values ('sealer', now(), 'app')"), /permission denied/)
  await t.rejects(sql('delete from claimed_ticks'), /permission denied/)
  await t.rejects(sql('select * from claimed_ticks'), /permission denied/)
})
