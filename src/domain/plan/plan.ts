import { DAY_MS } from '../time/zoned.js'

/**
 * The product's terms: how far back a practice sees its history, how long
 * records are kept, what the add-on costs and how early its end is
 * announced. Every rule and every sentence that depends on a term reads it
 * from a Plan, so the pages, the scheduled job, the verifier and the
 * database's own retention safeguard change together.
 */
export interface Plan {
  /** Without a subscription, the history shows this many days back. */
  readonly freeWindowDays: number
  /** A subscription shows everything from this many days before the moment it was bought. */
  readonly windowBeforeSubscriptionDays: number
  /** Without a subscription, a record is deleted once it is this many days old. */
  readonly freeRetentionDays: number
  /** Credits a month: `small` under `largeFrom` active users, `large` from `largeFrom` on. */
  readonly monthlyPrice: { readonly small: number, readonly large: number, readonly largeFrom: number }
  /** The expiry warning shows from this many days before a period ends without renewal. */
  readonly expiryWarningDays: number
}

export const DEFAULT_PLAN: Plan = Object.freeze({
  freeWindowDays: 7,
  windowBeforeSubscriptionDays: 30,
  freeRetentionDays: 30,
  monthlyPrice: Object.freeze({ small: 100, large: 200, largeFrom: 5 }),
  expiryWarningDays: 7
})

const daysBefore = (instant: Date, days: number): Date => new Date(instant.getTime() - days * DAY_MS)

/** Credits a month for a practice with this many active users (who counts: subscriptions/pricing.ts). */
export function monthlyPrice (plan: Plan, activeUsers: number): number {
  const { small, large, largeFrom } = plan.monthlyPrice
  return activeUsers >= largeFrom ? large : small
}

/** Where a practice without a subscription starts seeing its history at `now`. */
export function freeWindowStart (plan: Plan, now: Date): Date {
  return daysBefore(now, plan.freeWindowDays)
}

/** Where the history of a subscription bought at `startedAt` begins. */
export function subscriptionWindowStart (plan: Plan, startedAt: Date): Date {
  return daysBefore(startedAt, plan.windowBeforeSubscriptionDays)
}

/** Records from before this are deleted at `now` for a practice without a subscription. */
export function freeRetentionCutoff (plan: Plan, now: Date): Date {
  return daysBefore(now, plan.freeRetentionDays)
}

/** Whether a period ending at `periodEnd` is close enough at `now` to warn about. */
export function withinExpiryWarning (plan: Plan, periodEnd: Date, now: Date): boolean {
  return periodEnd.getTime() - now.getTime() <= plan.expiryWarningDays * DAY_MS
}

/** Retention never deletes a record younger than this: a checkpoint's cutoff lies at least this long before it was written. */
export function retentionMinimumAgeMs (plan: Plan): number {
  return plan.freeRetentionDays * DAY_MS
}
