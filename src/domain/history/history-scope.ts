import { ForbiddenError } from '../errors.js'
import { freeWindowStart, type Plan } from '../plan/plan.js'
import { freeWindowSummary, subscribedWindowSummary } from '../plan/plan-sentences.js'
import type { PracticeGroup } from '../practice-groups/practice-group.entity.js'
import type { Subscription } from '../subscriptions/subscription.entity.js'
import { isFullAccess, type User } from '../users/user.entity.js'
import { formatDateTime } from '../time/zoned.js'

/** How far back a practice may look in its history, and how to say so. */
export interface HistoryWindow {
  since: Date
  subscribed: boolean
  summary: string
}

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

/** Which rows of the history one viewer may see: the single rule every history page, fragment and export uses. */
export interface HistoryScope {
  practiceGroupId: number
  /** Set when the viewer may only see their own actions. */
  onlyUserId: number | null
  window: HistoryWindow
}

/** Only users holding the User Action History permission see any history. */
export function assertMayViewHistory (viewer: User): void {
  if (!viewer.canViewHistory) throw new ForbiddenError('You do not have the User Action History permission. A Full Access user can turn it on in Settings > Users.')
}

/** What `viewer` may see of `practice`'s history, given the practice's active subscription (or none). */
export function historyScope (plan: Plan, viewer: User, practice: PracticeGroup, subscription: Subscription | null, now: Date): HistoryScope {
  assertMayViewHistory(viewer)
  if (viewer.practiceGroupId !== practice.id) throw new ForbiddenError('This history belongs to another practice.')
  return {
    practiceGroupId: practice.id,
    onlyUserId: isFullAccess(viewer) ? null : viewer.id,
    window: windowFor(plan, practice, subscription, now)
  }
}
