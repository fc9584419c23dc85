import { LockMode, type EntityManager } from '@mikro-orm/core'
import { recordEvent } from '../recorder/recorder.js'
import { type Actor } from '../audit-records/record.js'
import { UserFacingError } from '../errors.js'
import { sqlIn } from '../../db/sql.js'
import { subscriptionWindowStart, withinExpiryWarning, type Plan } from '../plan/plan.js'
import { activeUsersText, creditsText } from '../plan/plan-sentences.js'
import { addMonthsInZone, formatDateTime } from '../time/zoned.js'
import { currentPrice } from './pricing.js'
import { Subscription } from './subscription.entity.js'
export const ADD_ONS_PAGE = 'Settings > Add-ons'

export class AlreadySubscribedError extends UserFacingError {
  constructor () {
    super(409, 'Your practice already has an active User Action History subscription.')
  }
}

export class NotEnoughCreditsError extends UserFacingError {
  constructor (readonly price: number, readonly balance: number) {
    super(409, `The subscription costs ${creditsText(price)} a month and your balance is ${creditsText(balance)}. Top up your credits first.`)
  }
}

export class PriceChangedError extends UserFacingError {
  constructor (price: number, activeUsers: number) {
    super(409, `The price is now ${creditsText(price)} a month (${activeUsersText(activeUsers)}), not what the dialog showed. Check it and purchase again.`)
  }
}

export async function activeSubscription (em: EntityManager, practiceGroupId: number): Promise<Subscription | null> {
  return em.findOne(Subscription, { practiceGroupId, status: 'active' })
}

export async function latestSubscription (em: EntityManager, practiceGroupId: number): Promise<Subscription | null> {
  return em.findOne(Subscription, { practiceGroupId }, { orderBy: { startedAt: 'desc', id: 'desc' } })
}

/** The end of the n-th paid month, counted from the start so a 31st stays a 31st where the month has one. */
export function periodEnd (startedAt: Date, periods: number, timeZone: string): Date {
  return addMonthsInZone(startedAt, periods, timeZone)
}

export interface PurchaseResult {
  subscriptionId: number
  price: number
  balanceAfter: number
  /** The same request was made before; nothing was charged this time. */
  repeated: boolean
}

interface GroupRow { credit_balance: number, time_zone: string }

/**
 * Buys the add-on: debits the price, starts the subscription and records the
 * purchase, all in one transaction under a lock on the practice. A request
 * repeated with the same idempotency key returns the first result and
 * charges nothing; a balance that cannot cover the price, or a price other
 * than the one the buyer confirmed, charges nothing.
 */
export async function purchaseSubscription (em: EntityManager, plan: Plan, actor: Actor, idempotencyKey: string, expectedPrice?: number): Promise<PurchaseResult> {
  return em.transactional(async tx => {
    const sql = sqlIn(tx)
    const now = actor.occurredAt
    const [group] = await sql<GroupRow>('select credit_balance, time_zone from practice_groups where id = ? for update', [actor.practiceGroupId])
    const [previous] = await sql<{ subscription_id: number, amount: number, balance_after: number }>(
      'select subscription_id, amount, balance_after from credit_entries where practice_group_id = ? and idempotency_key = ?',
      [actor.practiceGroupId, idempotencyKey])
    if (previous) return { subscriptionId: previous.subscription_id, price: -previous.amount, balanceAfter: previous.balance_after, repeated: true }
    if (await activeSubscription(tx, actor.practiceGroupId)) throw new AlreadySubscribedError()

    const { price, activeUsers } = await currentPrice(tx, plan, actor.practiceGroupId)
    if (expectedPrice !== undefined && expectedPrice !== price) throw new PriceChangedError(price, activeUsers)
    if (group!.credit_balance < price) throw new NotEnoughCreditsError(price, group!.credit_balance)
    const windowStart = subscriptionWindowStart(plan, now)
    const end = periodEnd(now, 1, group!.time_zone)
    const [{ balance }] = await sql<{ balance: number }>(
      'update practice_groups set credit_balance = credit_balance - ? where id = ? returning credit_balance as balance', [price, actor.practiceGroupId]) as [{ balance: number }]
    const [{ id }] = await sql<{ id: number }>(
      `insert into subscriptions (practice_group_id, started_at, window_start, periods_paid, current_period_end, auto_renew, status)
       values (?, ?, ?, 1, ?, true, 'active') returning id`, [actor.practiceGroupId, now, windowStart, end]) as [{ id: number }]
    const tz = group!.time_zone
    const period = `${formatDateTime(now, tz)} – ${formatDateTime(end, tz)}`
    await sql(
      `insert into credit_entries (practice_group_id, occurred_at, kind, amount, balance_after, subscription_id, period_start, period_end, description, idempotency_key, user_id)
       values (?, ?, 'purchase', ?, ?, ?, ?, ?, ?, ?, ?)`,
      [actor.practiceGroupId, now, -price, balance, id, now, end, `User Action History subscription (${activeUsersText(activeUsers)})`, idempotencyKey, actor.userId])
    await recordEvent(tx, actor, {
      action: 'purchase', page: ADD_ONS_PAGE, recordType: 'subscription', recordId: id,
      description: `Subscribed to User Action History for ${creditsText(price)} (${activeUsersText(activeUsers)}), ${period}; history visible from ${formatDateTime(windowStart, tz)}. Balance ${creditsText(balance)}.`
    })
    return { subscriptionId: id, price, balanceAfter: balance, repeated: false }
  })
}

/** Turns auto-renew on or off and records the change; nothing is recorded when nothing changes. */
export async function setAutoRenew (em: EntityManager, actor: Actor, autoRenew: boolean): Promise<Subscription> {
  return em.transactional(async tx => {
    const subscription = await tx.findOne(Subscription, { practiceGroupId: actor.practiceGroupId, status: 'active' }, { lockMode: LockMode.PESSIMISTIC_WRITE })
    if (!subscription) throw new UserFacingError(409, 'There is no active subscription to change.')
    if (subscription.autoRenew === autoRenew) return subscription
    subscription.autoRenew = autoRenew
    await tx.flush()
    await recordEvent(tx, actor, {
      action: 'update', page: ADD_ONS_PAGE, recordType: 'subscription', recordId: subscription.id,
      description: `Turned auto-renew ${autoRenew ? 'on' : 'off'} for User Action History (Auto-renew: ${autoRenew ? 'Off → On' : 'On → Off'}); the current period ends ${formatDateTime(subscription.currentPeriodEnd, actor.timeZone)}`,
      changes: [{ field: 'autoRenew', label: 'Auto-renew', before: !autoRenew, after: autoRenew, beforeText: autoRenew ? 'Off' : 'On', afterText: autoRenew ? 'On' : 'Off' }]
    })
    return subscription
  })
}

export interface ExpiryWarning {
  expiresAt: Date
  reason: 'auto-renew is off' | 'the balance does not cover the next month'
  price: number
  balance: number
}

/**
 * From the plan's warning lead before a period ends, warn when it will not
 * renew: auto-renew is off, or the balance cannot cover the price for
 * today's active users.
 */
export async function expiryWarning (em: EntityManager, plan: Plan, practiceGroupId: number, balance: number, now: Date): Promise<ExpiryWarning | null> {
  const subscription = await activeSubscription(em, practiceGroupId)
  if (!subscription || !withinExpiryWarning(plan, subscription.currentPeriodEnd, now)) return null
  const { price } = await currentPrice(em, plan, practiceGroupId)
  if (subscription.autoRenew && balance >= price) return null
  return { expiresAt: subscription.currentPeriodEnd, reason: subscription.autoRenew ? 'the balance does not cover the next month' : 'auto-renew is off', price, balance }
}
