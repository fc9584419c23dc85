import type { EntityManager } from '@mikro-orm/core'
import { recordEvent } from '../recorder/recorder.js'
import { appendCheckpoint } from '../chain/chain.service.js'
import { sealPracticeBefore } from '../chain/sealer.js'
import { purgeBatch, recordsOlderThan } from '../audit-records/retention-statements.js'
import type { Plan } from '../plan/plan.js'
import { retentionCutoff } from '../retention/retention.js'
import type { PracticeGroup } from '../practice-groups/practice-group.entity.js'
import { systemActor, systemUser } from '../users/system-user.js'
import { formatDateTime } from '../time/zoned.js'
import { counted } from '../../plural.js'
export const RETENTION_PAGE = 'Retention'

export interface RetentionOptions {
  batchSize: number
  dryRun?: boolean
  /** For a dry run: count as if the subscription had just expired, as the real run would find it. */
  asIfExpired?: boolean
  /** Called after each committed batch; a failure here stops the run as a crash would. */
  afterBatch?: (practiceGroupId: number, deletedSoFar: number) => void | Promise<void>
}

/**
 * Deletes the practice's expired records in batches. Everything finished
 * is sealed first, so each deleted record leaves the chain through a
 * checkpoint. Each batch, its checkpoint and its record in the history (as
 * the System user) commit together, so a crash keeps what was done, says
 * so, and the next run finishes the rest; readers are never held up by more
 * than one batch.
 */
export async function purgeExpired (em: EntityManager, plan: Plan, practice: PracticeGroup, now: Date, options: RetentionOptions): Promise<{ cutoff: Date, deleted: number }> {
  const cutoff = await retentionCutoff(em, plan, practice.id, now, options.asIfExpired)
  if (options.dryRun) {
    return { cutoff, deleted: (await recordsOlderThan(em, practice.id, cutoff)).count }
  }
  await sealPracticeBefore(em, practice.id, cutoff, now)
  let deleted = 0
  for (;;) {
    const removed = await em.transactional(async tx => {
      const ids = await purgeBatch(tx, practice.id, cutoff, now, options.batchSize)
      const n = ids.length
      if (n > 0) {
        await appendCheckpoint(tx, practice.id, now, cutoff, ids)
        await recordEvent(tx, systemActor(await systemUser(tx, practice.id), practice, now), {
          action: 'delete', page: RETENTION_PAGE,
          description: `Permanently deleted ${counted(n, 'record', 'records')} older than ${formatDateTime(cutoff, practice.timeZone)} (retention).`
        })
      }
      return n
    })
    deleted += removed
    if (removed > 0) await options.afterBatch?.(practice.id, deleted)
    if (removed < options.batchSize) break
  }
  return { cutoff, deleted }
}
