import type { EntityManager } from '@mikro-orm/core'
import { recordEvent } from '../recorder/recorder.js'
import { sqlIn } from '../../db/sql.js'
import { freeRetentionCutoff, type Plan } from '../plan/plan.js'
import { activeUsersText, backOnFreeTerms, creditsText } from '../plan/plan-sentences.js'
import type { PracticeGroup } from '../practice-groups/practice-group.entity.js'
import { currentPrice } from '../subscriptions/pricing.js'
import { ADD_ONS_PAGE, periodEnd } from '../subscriptions/subscription.service.js'
import { systemActor, systemUser } from '../users/system-user.js'
import { formatDateTime } from '../time/zoned.js'

export interface RenewalOutcome {
  renewed: { price: number, activeUsers: number, periodEnd: Date }[]
  expiredAt: Date | null
}

interface DueRow { id: number, started_at: Date, periods_paid: number, current_period_end: Date, auto_renew: boolean }

/**
 * Renews or expires the practice's subscription if a period has ended by
 * `now`. Runs in one transaction holding the subscription and practice rows,
 * so two runners cannot both charge; a period already renewed is skipped.
 * Several missed periods (the job was down) are handled in order, each at
 * the price of today's active users.
 */
export async function renewOrExpire (em: EntityManager, plan: Plan, practice: PracticeGroup, now: Date, dryRun = false): Promise<RenewalOutcome> {
  const outcome: RenewalOutcome = { renewed: [], expiredAt: null }
  const work = async (tx: EntityManager): Promise<void> => {
    const sql = sqlIn(tx)
    const [due] = await sql<DueRow>(
      `select id, started_at, periods_paid, current_period_end, auto_renew from subscriptions
        where practice_group_id = ? and status = 'active' and current_period_end <= ? for update`, [practice.id, now])
    if (!due) return
    const [{ credit_balance: startBalance }] = await sql<{ credit_balance: number }>('select credit_balance from practice_groups where id = ? for update', [practice.id]) as [{ credit_balance: number }]
    const { price, activeUsers } = await currentPrice(tx, plan, practice.id)
    const tz = practice.timeZone
    const system = dryRun ? null : await systemUser(tx, practice.id)
    const startedAt = new Date(due.started_at)
    let balance = startBalance
    let periods = due.periods_paid
    let end = new Date(due.current_period_end)
    while (end <= now && due.auto_renew && balance >= price) {
      const next = periodEnd(startedAt, periods + 1, tz)
      balance -= price
      outcome.renewed.push({ price, activeUsers, periodEnd: next })
      if (system) {
        const period = `${formatDateTime(end, tz)} – ${formatDateTime(next, tz)}`
        await sql('update practice_groups set credit_balance = credit_balance - ? where id = ?', [price, practice.id])
        await sql(
          `insert into credit_entries (practice_group_id, occurred_at, kind, amount, balance_after, subscription_id, period_start, period_end, description)
           values (?, ?, 'renewal', ?, ?, ?, ?, ?, ?)`,
          [practice.id, now, -price, balance, due.id, end, next, `User Action History renewal (${activeUsersText(activeUsers)})`])
        await recordEvent(tx, systemActor(system, practice, now), {
          action: 'purchase', page: ADD_ONS_PAGE, recordType: 'subscription', recordId: due.id,
          description: `Renewed User Action History at ${creditsText(price)} (${activeUsersText(activeUsers)}) for ${period}. Balance ${creditsText(balance)}.`
        })
      }
      periods += 1
      end = next
    }
    if (end <= now) {
      outcome.expiredAt = end
      if (system) {
        const why = due.auto_renew ? `the balance (${creditsText(balance)}) did not cover the price (${creditsText(price)})` : 'auto-renew was off'
        await recordEvent(tx, systemActor(system, practice, now), {
          action: 'update', page: ADD_ONS_PAGE, recordType: 'subscription', recordId: due.id,
          description: `User Action History subscription expired at ${formatDateTime(end, tz)} because ${why}. ${backOnFreeTerms(plan)}`
        })
      }
    }
    if (!system) return
    await sql(
      `update subscriptions set periods_paid = ?, current_period_end = ?,
         status = case when ? then 'expired' else status end, expired_at = ?::timestamptz, deleted_before = ?::timestamptz
       where id = ?`,
      [periods, end, outcome.expiredAt !== null, outcome.expiredAt, outcome.expiredAt && freeRetentionCutoff(plan, now), due.id])
  }
  if (dryRun) await work(em)
  else await em.transactional(work)
  return outcome
}
