import type { EntityManager } from '@mikro-orm/core'
import { activeSubscription } from '../subscriptions/subscription.service.js'
import { recordsOlderThan, type OlderRecords } from '../audit-records/retention-statements.js'
import { freeRetentionCutoff, type Plan } from '../plan/plan.js'

/**
 * Records older than this are deleted: the plan's free retention back for a
 * practice without a subscription, the start of its window for one with a
 * subscription, whichever is earlier.
 */
export async function retentionCutoff (em: EntityManager, plan: Plan, practiceGroupId: number, now: Date, asIfExpired = false): Promise<Date> {
  const free = freeRetentionCutoff(plan, now)
  const subscription = asIfExpired ? null : await activeSubscription(em, practiceGroupId)
  return subscription && subscription.windowStart < free ? subscription.windowStart : free
}

export interface ExpiryDeletion extends OlderRecords {
  /** Records from before this instant go when the period ends. */
  cutoff: Date
}

/**
 * What the expiry at `expiresAt` will permanently delete: every record
 * older than the plan's free retention at that moment. Records that old
 * are never written again, so the count is exact from now until then.
 */
export async function deletionAtExpiry (em: EntityManager, plan: Plan, practiceGroupId: number, expiresAt: Date): Promise<ExpiryDeletion> {
  // The same rule the job applies when it finds the subscription expired.
  const cutoff = await retentionCutoff(em, plan, practiceGroupId, expiresAt, true)
  return { cutoff, ...await recordsOlderThan(em, practiceGroupId, cutoff) }
}
