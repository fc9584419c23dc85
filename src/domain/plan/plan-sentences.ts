import { counted } from '../../plural.js'
import type { Plan } from './plan.js'

/*
 * The plan's terms in words. Every sentence that states a term is built
 * here from the plan, so no page, job record or verification message can
 * state a term the plan does not have.
 */

const days = (n: number): string => counted(n, 'day', 'days')

/** "100 credits", "1 credit" */
export const creditsText = (n: number): string => counted(n, 'credit', 'credits')

/** "4 active users", "1 active user": the users a price is counted from. */
export const activeUsersText = (n: number): string => counted(n, 'active user', 'active users')

/**
 * A sentence in parts, so that a page can make the words about subscribing
 * a link (`subscribe`) while every other use reads it as plain text.
 */
export type Sentence = readonly { readonly text: string, readonly subscribe?: true }[]

export const plainText = (sentence: Sentence): string => sentence.map(part => part.text).join('')

/** "100 under 5 users, 200 from 5" */
export function priceTiers (plan: Plan): string {
  const { small, large, largeFrom } = plan.monthlyPrice
  return `${small} under ${counted(largeFrom, 'user', 'users')}, ${large} from ${largeFrom}`
}

/** What a practice without the add-on gets. */
export function freeTierTerms (plan: Plan): string {
  return `Free: every user with the permission sees the last ${days(plan.freeWindowDays)}. Everything staff do is always recorded; records are kept for ${days(plan.freeRetentionDays)}.`
}

/** What subscribing unlocks and what it costs this practice now. */
export function subscriptionOffer (plan: Plan, price: number, users: number): Sentence {
  return [
    { text: 'Subscribe', subscribe: true },
    { text: ` to see everything from ${days(plan.windowBeforeSubscriptionDays)} before the day you subscribe, for as long as the subscription continues: ${creditsText(price)} a month for your ${activeUsersText(users)} (${priceTiers(plan)}).` }
  ]
}

/** The purchase dialog's "Unlocks", given where the window would start (in the practice's time). */
export function unlocksFrom (plan: Plan, windowStart: string): string {
  return `History from ${windowStart} (${days(plan.windowBeforeSubscriptionDays)} before today) onward, renewed monthly`
}

/** Above the history of a practice without a subscription. */
export function freeWindowSummary (plan: Plan): Sentence {
  return [{ text: `Showing the last ${days(plan.freeWindowDays)} — ` }, { text: 'subscribe to see more', subscribe: true }, { text: '.' }]
}

/** Above the history of a subscribed practice, given where its window starts (in the practice's time). */
export function subscribedWindowSummary (plan: Plan, windowStart: string): Sentence {
  return [{ text: `Showing everything since ${windowStart}, ${days(plan.windowBeforeSubscriptionDays)} before your subscription began.` }]
}

/** The expiry warning, when nothing is old enough yet to be deleted at the end. */
export function nothingOldEnoughAtExpiry (plan: Plan): string {
  return `Records older than ${days(plan.freeRetentionDays)} will then be permanently deleted; none are that old yet.`
}

/** The expiry warning: what happens to the remaining records after the end. */
export function retentionAfterExpiry (plan: Plan): string {
  return `After that, as for any practice without the subscription, each record is deleted when it turns ${days(plan.freeRetentionDays)} old.`
}

/** The expiry warning for someone who cannot renew, given when the subscription ends (in the practice's time). */
export function freeWindowFrom (plan: Plan, expiresAt: string): string {
  return `After ${expiresAt} history pages show only the last ${days(plan.freeWindowDays)}, as the practice's subscription ends then; a Full Access user can renew it.`
}

/** The history record of an expiry: what the practice is back to. */
export function backOnFreeTerms (plan: Plan): string {
  return `The practice is back on the free ${plan.freeWindowDays}-day view, and records older than ${days(plan.freeRetentionDays)} are deleted.`
}

/** The verifier's finding for a checkpoint whose cutoff is more recent than retention ever deletes. */
export function checkpointTooRecent (plan: Plan, seq: number, writtenAt: string, cutoff: string): string {
  return `Checkpoint #${seq} of ${writtenAt} deletes records from the last ${days(plan.freeRetentionDays)} (before ${cutoff}), which retention never does.`
}
