import { ForbiddenError } from '../errors.js'
import type { PracticeGroup } from '../practice-groups/practice-group.entity.js'
import type { Subscription } from '../subscriptions/subscription.entity.js'
import { isFullAccess, type User } from '../users/user.entity.js'
import { formatDateTime } from '../time/zoned.js'
import { freeWindowStart, type Plan } from '../plan/plan.js'
import { freeWindowSummary, subscribedWindowSummary } from '../plan/plan-sentences.js'
import type { HistoryScope, HistoryWindow } from '../audit-records/criteria.js'
export type { HistoryScope, HistoryWindow } from '../audit-records/criteria.js'

/**
 * The part of the history a practice may see at `now`: with an active
 * subscription, everything from its window's start (fixed when it was
 * bought); otherwise the plan's free window. Decided here and nowhere else.
 */
export function windowFor (plan: Plan, practice: PracticeGroup, subscription: Subscription | null, now: Date): HistoryWindow {
  if (subscription) {
    return {
      since: subscription.windowStart,
      subscribed: true,
      summary: subscribedWindowSummary(plan, formatDateTime(subscription.windowStart, practice.timeZone))
    }
  }
  return { since: freeWindowStart(plan, now), subscribed: false, summary: freeWindowSummary(plan) }
}

/** What a viewer may do with the history they can see. */
export interface HistoryRights {
  /** Download the current view as CSV or NDJSON. */
  export: boolean
  /** Download what the end of the subscription would delete. */
  archive: boolean
  /** Check the practice's whole history against its hash chain: only someone who sees all of it. */
  verify: boolean
  /** See the records-per-day chart of the current view. */
  chart: boolean
}

export interface HistoryAccess {
  scope: HistoryScope
  may: HistoryRights
}

/** Only users holding the User Action History permission see any history. */
export function mayViewHistory (viewer: User): boolean {
  return viewer.canViewHistory
}

export function assertMayViewHistory (viewer: User): void {
  if (!mayViewHistory(viewer)) throw new ForbiddenError('You do not have the User Action History permission. A Full Access user can turn it on in Settings > Users.')
}

/**
 * What `viewer` may see of `practice`'s history and do with it, given the
 * practice's active subscription (or none): Full Access users see
 * everyone's actions, other holders of the permission their own.
 */
export function historyAccess (plan: Plan, viewer: User, practice: PracticeGroup, subscription: Subscription | null, now: Date): HistoryAccess {
  assertMayViewHistory(viewer)
  if (viewer.practiceGroupId !== practice.id) throw new ForbiddenError('This history belongs to another practice.')
  const seesEveryone = isFullAccess(viewer)
  return {
    scope: { practiceGroupId: practice.id, onlyUserId: seesEveryone ? null : viewer.id, window: windowFor(plan, practice, subscription, now) },
    may: { export: true, archive: subscription !== null, verify: seesEveryone, chart: true }
  }
}


/** Verifying the chain is for Full Access users who hold the permission. */
export function assertMayVerify (viewer: User): void {
  assertMayViewHistory(viewer)
  if (!isFullAccess(viewer)) throw new ForbiddenError('Only Full Access users can verify the integrity of the User Action History.')
}
