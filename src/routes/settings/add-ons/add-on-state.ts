import { randomUUID } from 'node:crypto'
import type { EntityManager } from '@mikro-orm/core'
import type { PracticeGroup } from '../../../domain/practice-groups/practice-group.entity.js'
import { activeUserCount, monthlyPrice } from '../../../domain/subscriptions/pricing.js'
import { latestSubscription, WINDOW_BEFORE_START_DAYS } from '../../../domain/subscriptions/subscription.service.js'
import type { User } from '../../../domain/users/user.entity.js'
import { expiryNotice } from '../../expiry-notice.js'
import { DAY_MS, formatDateTime } from '../../../domain/time/zoned.js'

/** What the User Action History card and its purchase dialog show, worked out for the template. */
export async function addOnState (em: EntityManager, practice: PracticeGroup, viewer: User, now: Date) {
  const tz = practice.timeZone
  const subscription = await latestSubscription(em, practice.id)
  const activeUsers = await activeUserCount(em, practice.id)
  const price = monthlyPrice(activeUsers)
  const balance = practice.creditBalance
  const warning = await expiryNotice(em, practice, viewer, now)
  const state = subscription?.status === 'active' ? 'active' : subscription ? 'expired' : 'free'
  return {
    state,
    price,
    activeUsers,
    balance,
    canAfford: balance >= price,
    balanceAfter: balance - price,
    unlocksFrom: formatDateTime(new Date(now.getTime() - WINDOW_BEFORE_START_DAYS * DAY_MS), tz),
    idempotencyKey: randomUUID(),
    subscription: subscription && {
      startedAt: formatDateTime(subscription.startedAt, tz),
      windowStart: formatDateTime(subscription.windowStart, tz),
      periodEnd: formatDateTime(subscription.currentPeriodEnd, tz),
      autoRenew: subscription.autoRenew,
      expiredAt: subscription.expiredAt && formatDateTime(subscription.expiredAt, tz),
      deletedBefore: subscription.deletedBefore && formatDateTime(subscription.deletedBefore, tz)
    },
    warning
  }
}

export type AddOnState = Awaited<ReturnType<typeof addOnState>>
