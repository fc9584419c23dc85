import type { EntityManager } from '@mikro-orm/core'
import type { PracticeGroup } from '../domain/practice-groups/practice-group.entity.js'
import type { Plan } from '../domain/plan/plan.js'
import { nothingOldEnoughAtExpiry, retentionAfterExpiry } from '../domain/plan/plan-sentences.js'
import { deletionAtExpiry } from '../domain/retention/retention.js'
import { expiryWarning } from '../domain/subscriptions/subscription.service.js'
import type { User } from '../domain/users/user.entity.js'
import { formatDateTime } from '../domain/time/zoned.js'
import { viewHelpers } from '../views/helpers.js'
import { mayViewHistory } from '../domain/history/access.js'

export const ARCHIVE_PATH = '/settings/users/history/archive.zip'

/**
 * The banner shown from the plan's warning lead before a subscription
 * lapses: when, why, exactly which records will be deleted, and (for users
 * who may see the history) the archive of them to download first.
 */
export async function expiryNotice (em: EntityManager, plan: Plan, practice: PracticeGroup, viewer: User, now: Date) {
  const warning = await expiryWarning(em, plan, practice.id, practice.creditBalance, now)
  if (!warning) return null
  const tz = practice.timeZone
  const deletion = await deletionAtExpiry(em, plan, practice.id, warning.expiresAt)
  return {
    ...warning,
    expiresAt: formatDateTime(warning.expiresAt, tz),
    deletes: {
      count: viewHelpers.count(deletion.count),
      none: deletion.count === 0,
      before: formatDateTime(deletion.cutoff, tz),
      oldest: deletion.oldest && formatDateTime(deletion.oldest, tz),
      newest: deletion.newest && formatDateTime(deletion.newest, tz),
      noneOldEnough: nothingOldEnoughAtExpiry(plan),
      afterwards: retentionAfterExpiry(plan)
    },
    archiveHref: mayViewHistory(viewer) && deletion.count > 0 ? ARCHIVE_PATH : null
  }
}

export type ExpiryNotice = NonNullable<Awaited<ReturnType<typeof expiryNotice>>>
