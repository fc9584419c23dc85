import type { EntityManager } from '@mikro-orm/core'
import { retentionCutoff } from '../jobs/retention.js'
import type { Plan } from '../plan/plan.js'

export interface ExpiryDeletion {
  /** Records from before this instant go when the period ends. */
  cutoff: Date
  count: number
  oldest: Date | null
  newest: Date | null
}

/**
 * What the expiry at `expiresAt` will permanently delete: every record
 * older than the plan's free retention at that moment. Records that old
 * are never written again, so the count is exact from now until then.
 */
export async function deletionAtExpiry (em: EntityManager, plan: Plan, practiceGroupId: number, expiresAt: Date): Promise<ExpiryDeletion> {
  // The same rule the job applies when it finds the subscription expired.
  const cutoff = await retentionCutoff(em, plan, practiceGroupId, expiresAt, true)
  const [row] = await em.getConnection().execute(
    'select count(*) as n, min(occurred_at) as oldest, max(occurred_at) as newest from audit_records where practice_group_id = ? and occurred_at < ?',
    [practiceGroupId, cutoff]) as Array<{ n: string, oldest: Date | null, newest: Date | null }>
  return { cutoff, count: Number(row!.n), oldest: row!.oldest, newest: row!.newest }
}
