import type { EntityManager } from '@mikro-orm/core'
import type { PracticeGroup } from '../domain/practice-groups/practice-group.entity.js'
import type { Plan } from '../domain/plan/plan.js'
import { creditsText, nothingOldEnoughAtExpiry, retentionAfterExpiry } from '../domain/plan/plan-sentences.js'
import { upcomingLapse } from '../domain/retention/retention.js'
import type { User } from '../domain/users/user.entity.js'
import { formatDateTime } from '../domain/time/zoned.js'
import { counted, formatNumber } from '../plural.js'
import { mayViewHistory } from '../domain/history/access.js'
import { GROUP_HISTORY_PATH } from './history/subjects.js'

/**
 * The banner shown from the plan's warning lead before a subscription
 * lapses, in the practice's own words and times: when, why, exactly which
 * records will be deleted, and (for users who may see the history) the
 * archive of them to download first.
 */
export async function expiryNotice (em: EntityManager, plan: Plan, practice: PracticeGroup, viewer: User, now: Date) {
  const lapse = await upcomingLapse(em, plan, practice, now)
  if (!lapse) return null
  const { warning, deletion } = lapse
  const tz = practice.timeZone
  return {
    ...warning,
    expiresAt: formatDateTime(warning.expiresAt, tz),
    /** "100 credits": the price the balance falls short of. */
    needed: creditsText(warning.price),
    deletes: {
      count: formatNumber(deletion.count),
      /** "1 record", "1,234 records" */
      records: counted(deletion.count, 'record', 'records'),
      none: deletion.count === 0,
      before: formatDateTime(deletion.cutoff, tz),
      oldest: deletion.oldest && formatDateTime(deletion.oldest, tz),
      newest: deletion.newest && formatDateTime(deletion.newest, tz),
      noneOldEnough: nothingOldEnoughAtExpiry(plan),
      afterwards: retentionAfterExpiry(plan)
    },
    archiveHref: mayViewHistory(viewer) && deletion.count > 0 ? `${GROUP_HISTORY_PATH}/archive.zip` : null
  }
}

export type ExpiryNotice = NonNullable<Awaited<ReturnType<typeof expiryNotice>>>
