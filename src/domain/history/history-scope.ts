import { ForbiddenError } from '../errors.js'
import type { PracticeGroup } from '../practice-groups/practice-group.entity.js'
import type { Subscription } from '../subscriptions/subscription.entity.js'
import { isFullAccess, type User } from '../users/user.entity.js'
import { DAY_MS, formatDateTime } from '../time/zoned.js'
export const FREE_WINDOW_DAYS = 7

/** How far back a practice may look in its history, and how to say so. */
export interface HistoryWindow {
  since: Date
  subscribed: boolean
  summary: string
}

/**
 * The part of the history a practice may see at `now`: with an active
 * subscription, everything from 30 days before it started; otherwise the
 * last 7 days. Decided here and nowhere else.
 */
export function windowFor (practice: PracticeGroup, subscription: Subscription | null, now: Date): HistoryWindow {
  if (subscription) {
    return {
      since: subscription.windowStart,
      subscribed: true,
      summary: `Showing everything since ${formatDateTime(subscription.windowStart, practice.timeZone)}, 30 days before your subscription began.`
    }
  }
  return {
    since: new Date(now.getTime() - FREE_WINDOW_DAYS * DAY_MS),
    subscribed: false,
    summary: `Showing the last ${FREE_WINDOW_DAYS} days — subscribe to see more.`
  }
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
export function historyScope (viewer: User, practice: PracticeGroup, subscription: Subscription | null, now: Date): HistoryScope {
  assertMayViewHistory(viewer)
  if (viewer.practiceGroupId !== practice.id) throw new ForbiddenError('This history belongs to another practice.')
  return {
    practiceGroupId: practice.id,
    onlyUserId: isFullAccess(viewer) ? null : viewer.id,
    window: windowFor(practice, subscription, now)
  }
}
