import t from 'tap'
import { build } from '../helpers/app.js'
import { makeClinic, type Clinic } from '../helpers/clinic.js'
import { addRecord } from '../helpers/history.js'
import { actorAt, subscribeAt } from '../helpers/subscriptions.js'
import { runScheduledJob, type JobReport } from '../../src/domain/scheduled-job/scheduled-job.js'
import { activeSubscription, setAutoRenew } from '../../src/domain/subscriptions/subscription.service.js'

const DAY = 86_400_000
const ctx = await build(t)

t.test('a simulated year, three job runners on every daily tick: no double charge, no double run, nothing deleted early or kept late', async t => {
  const start = Date.parse('2026-01-01T00:00:00Z')
  const renewing = await makeClinic(ctx.em(), { creditBalance: 600 }) // the purchase and five renewals, then it expires
  const free = await makeClinic(ctx.em())
  const lapsing = await makeClinic(ctx.em(), { creditBalance: 1000 })
  const clinics = [renewing, free, lapsing]
  const written = new Map<number, number[]>(clinics.map(c => [c.group.id, []]))

  const cutoff = async (c: Clinic, now: number): Promise<number> => {
    const subscription = await activeSubscription(ctx.em(), c.group.id)
    return Math.min(subscription ? subscription.windowStart.getTime() : Infinity, now - 30 * DAY)
  }
  const kept = async (c: Clinic): Promise<number[]> =>
    (await ctx.em().getConnection().execute<{ at: Date }[]>("select occurred_at as at from audit_records where practice_group_id = ? and page = 'Patients'", [c.group.id]))
      .map(r => new Date(r.at).getTime())

  let doubleRuns = 0
  let earlyDeletions = 0
  let lateKept = 0
  for (let day = 0; day < 365; day++) {
    const now = start + day * DAY
    ctx.clock.set(new Date(now))
    for (const c of clinics) {
      await addRecord(ctx.em(), c.reception, { at: new Date(now - 3_600_000) })
      written.get(c.group.id)!.push(now - 3_600_000)
    }
    if (day === 0) await subscribeAt(ctx.em(), renewing.owner, new Date(now))
    if (day === 40 || day === 200) {
      await subscribeAt(ctx.em(), lapsing.owner, new Date(now))
      await setAutoRenew(ctx.em(), actorAt(lapsing.owner, new Date(now)), false)
    }
    const reports: JobReport[] = await Promise.all([1, 2, 3].map(() => runScheduledJob(ctx.keeper, ctx.plan, ctx.clock)))
    for (const c of clinics) {
      const acted = reports.filter(r => r.practices.some(p => p.practiceGroupId === c.group.id && (p.renewed.length || p.expiredAt || p.deleted)))
      if (acted.length > 1) doubleRuns++
      const limit = await cutoff(c, now)
      const stored = await kept(c)
      lateKept += stored.filter(at => at < limit).length
      earlyDeletions += written.get(c.group.id)!.filter(at => at >= limit).length - stored.filter(at => at >= limit).length
      if (reports.some(r => r.practices.some(p => p.error))) t.fail(`a runner failed on day ${day}`)
    }
  }
  t.equal(doubleRuns, 0, 'no practice was acted on twice on the same tick')
  t.equal(earlyDeletions, 0, 'no record was deleted inside its window')
  t.equal(lateKept, 0, 'no record outlived its window past the tick that reached it')

  const charges = await ctx.em().getConnection().execute<{ practice_group_id: number, kind: string, period_start: Date | null }[]>(
    'select practice_group_id, kind, period_start from credit_entries order by id')
  const periods = charges.filter(c => c.kind === 'renewal').map(c => `${c.practice_group_id}@${new Date(c.period_start!).toISOString()}`)
  t.equal(new Set(periods).size, periods.length, 'no period was charged twice')
  t.equal(charges.filter(c => c.practice_group_id === renewing.group.id).length, 6, 'the purchase and five renewals')
  t.equal(charges.filter(c => c.practice_group_id === lapsing.group.id).length, 2, 'two purchases, no renewals with auto-renew off')
  const balances = await ctx.em().getConnection().execute<{ id: number, credit_balance: number }[]>('select id, credit_balance from practice_groups')
  t.ok(balances.every(b => b.credit_balance >= 0))
  t.equal(balances.find(b => b.id === renewing.group.id)!.credit_balance, 0)
})
