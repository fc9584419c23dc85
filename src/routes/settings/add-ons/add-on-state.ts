import { randomUUID } from 'node:crypto'
import type { EntityManager } from '@mikro-orm/core'
import { subscriptionWindowStart, type Plan } from '../../../domain/plan/plan.js'
import { activeUsersText, creditsText, freeTierTerms, subscriptionOffer, unlocksFrom } from '../../../domain/plan/plan-sentences.js'
import type { PracticeGroup } from '../../../domain/practice-groups/practice-group.entity.js'
import { activeHistoryViewerCount, currentPrice } from '../../../domain/subscriptions/pricing.js'
import { latestSubscription } from '../../../domain/subscriptions/subscription.service.js'
import { isFullAccess, type User } from '../../../domain/users/user.entity.js'
import { formatNumber } from '../../../plural.js'
import { expiryNotice } from '../../expiry-notice.js'
import { formatDateTime } from '../../../domain/time/zoned.js'
import { ADD_ONS_PATH, PURCHASE_PATH, linkedSentence } from './links.js'

/** What the User Action History card and its purchase dialog (or confirmation page) show, worked out for the template. */
export async function addOnState (em: EntityManager, plan: Plan, practice: PracticeGroup, viewer: User, now: Date) {
  const tz = practice.timeZone
  const subscription = await latestSubscription(em, practice.id)
  const { price, activeUsers } = await currentPrice(em, plan, practice.id)
  const balance = practice.creditBalance
  const warning = await expiryNotice(em, plan, practice, viewer, now, ADD_ONS_PATH)
  const state = subscription?.status === 'active' ? 'active' : subscription ? 'expired' : 'free'
  const mayBuy = isFullAccess(viewer)
  return {
    state,
    price,
    balance,
    canAfford: balance >= price,
    shown: {
      price: creditsText(price),
      activeUsers: activeUsersText(activeUsers),
      balance: creditsText(balance),
      balanceAfter: creditsText(balance - price)
    },
    terms: {
      free: freeTierTerms(plan),
      offer: linkedSentence(subscriptionOffer(plan, price, activeUsers), mayBuy ? PURCHASE_PATH : null),
      unlocks: unlocksFrom(plan, formatDateTime(subscriptionWindowStart(plan, now), tz))
    },
    purchaseHref: PURCHASE_PATH,
    idempotencyKey: randomUUID(),
    subscription: subscription && {
      startedAt: formatDateTime(subscription.startedAt, tz),
      windowStart: formatDateTime(subscription.windowStart, tz),
      periodEnd: formatDateTime(subscription.currentPeriodEnd, tz),
      autoRenew: subscription.autoRenew,
      expiredAt: subscription.expiredAt && formatDateTime(subscription.expiredAt, tz),
      deletedBefore: subscription.deletedBefore && formatDateTime(subscription.deletedBefore, tz)
    },
    /** The add-on shows the history to nobody new: each person needs the permission, which only Full Access users give. */
    viewers: state === 'active' && mayBuy ? { count: formatNumber(await activeHistoryViewerCount(em, practice.id)), of: activeUsersText(activeUsers) } : null,
    warning
  }
}

export type AddOnState = Awaited<ReturnType<typeof addOnState>>
