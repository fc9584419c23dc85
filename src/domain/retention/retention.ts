import type { EntityManager } from '@mikro-orm/core'
import { activeSubscription, expiryWarning, type ExpiryWarning } from '../subscriptions/subscription.service.js'
import { visibleBefore, type RecordsBefore } from '../audit-records/reads.js'
import { recordsOlderThan } from '../audit-records/retention-statements.js'
import type { HistoryScope } from '../audit-records/criteria.js'
import { freeRetentionCutoff, type Plan } from '../plan/plan.js'
import type { PracticeGroup } from '../practice-groups/practice-group.entity.js'

/**
 * Records older than this are deleted: the plan's free retention back for a
 * practice without a subscription, the start of its window for one with a
 * subscription, whichever is earlier. `asIfExpired` answers for the moment
 * the subscription ends.
 */
export async function retentionCutoff (em: EntityManager, plan: Plan, practiceGroupId: number, now: Date, asIfExpired = false): Promise<Date> {
  const free = freeRetentionCutoff(plan, now)
  const subscription = asIfExpired ? null : await activeSubscription(em, practiceGroupId)
  return subscription && subscription.windowStart < free ? subscription.windowStart : free
}

export interface ExpiryDeletion extends RecordsBefore {
  /** Records from before this instant go when the period ends. */
  cutoff: Date
}

/**
 * What the expiry at `expiresAt` will permanently delete: every record of
 * the practice older than the plan's free retention at that moment, by the
 * job's own count. Records that old are never written again, so the count
 * is exact from now until then.
 */
export async function deletionAtExpiry (em: EntityManager, plan: Plan, practiceGroupId: number, expiresAt: Date): Promise<ExpiryDeletion> {
  const cutoff = await retentionCutoff(em, plan, practiceGroupId, expiresAt, true)
  return { cutoff, ...await recordsOlderThan(em, practiceGroupId, cutoff) }
}

/** Of what the expiry at `expiresAt` will delete, the part `scope` sees: what its viewer may archive first. */
export async function archivableAtExpiry (em: EntityManager, plan: Plan, scope: HistoryScope, expiresAt: Date): Promise<ExpiryDeletion> {
  const cutoff = await retentionCutoff(em, plan, scope.practiceGroupId, expiresAt, true)
  return { cutoff, ...await visibleBefore(em, scope, cutoff) }
}

/** A coming lapse and what it will delete, from the plan's warning lead on; null when nothing is coming. */
export async function upcomingLapse (em: EntityManager, plan: Plan, practice: PracticeGroup, now: Date): Promise<{ warning: ExpiryWarning, deletion: ExpiryDeletion } | null> {
  const warning = await expiryWarning(em, plan, practice.id, practice.creditBalance, now)
  if (!warning) return null
  return { warning, deletion: await deletionAtExpiry(em, plan, practice.id, warning.expiresAt) }
}
