import type { EntityManager } from '@mikro-orm/core'
import type { RecordsBefore } from './reads.js'

/**
 * The practice's records from before `before`, whoever may see them: what
 * retention deletes at that cutoff. The expiry banner and the job's dry run
 * both count with this, so what they announce is what the job deletes.
 */
export async function recordsOlderThan (em: EntityManager, practiceGroupId: number, before: Date): Promise<RecordsBefore> {
  const [row] = await em.getConnection().execute(
    'select count(*) as n, min(occurred_at) as oldest, max(occurred_at) as newest from audit_records where practice_group_id = ? and occurred_at < ?',
    [practiceGroupId, before]) as Array<{ n: string, oldest: Date | null, newest: Date | null }>
  return { count: Number(row!.n), oldest: row!.oldest, newest: row!.newest }
}

/**
 * Deletes up to `batchSize` of the practice's sealed records from before
 * `cutoff`, through the database's own retention function (which refuses
 * anything a paid period or the retention term protects), and returns
 * their ids; in the caller's transaction, with the checkpoint that
 * accounts for them.
 */
export async function purgeBatch (tx: EntityManager, practiceGroupId: number, cutoff: Date, now: Date, batchSize: number): Promise<number[]> {
  const [{ ids }] = await tx.getConnection().execute<{ ids: string[] }[]>(
    'select purge_expired_audit_records(?, ?, ?, ?) as ids', [practiceGroupId, cutoff, now, batchSize], 'all', tx.getTransactionContext()) as [{ ids: string[] }]
  return ids.map(Number)
}
