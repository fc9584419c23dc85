import type { EntityManager } from '@mikro-orm/core'
import { retentionCutoff } from '../jobs/retention.js'
import { recordsOlderThan, type OlderRecords } from '../audit-records/retention-statements.js'
import type { Plan } from '../plan/plan.js'

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
