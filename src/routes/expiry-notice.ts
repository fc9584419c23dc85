import type { EntityManager } from '@mikro-orm/core'
import type { PracticeGroup } from '../domain/practice-groups/practice-group.entity.js'
import type { Plan } from '../domain/plan/plan.js'
import { creditsText, freeWindowFrom, nothingOldEnoughAtExpiry, retentionAfterExpiry } from '../domain/plan/plan-sentences.js'
import { upcomingLapse } from '../domain/retention/retention.js'
import { isFullAccess, type User } from '../domain/users/user.entity.js'
import { formatDateTime } from '../domain/time/zoned.js'
import { counted, formatNumber } from '../plural.js'
import { mayViewHistory } from '../domain/history/access.js'
import { GROUP_HISTORY_PATH } from './history/subjects.js'
import { ADD_ONS_PATH } from './settings/add-ons/links.js'

const CREDITS_PATH = '/settings/credits'

/**
 * The banner shown from the plan's warning lead before a subscription
 * lapses, on the pages it concerns (`here` is the page's path, which it
 * never links to). Those who can keep the subscription (Full Access users)
 * get when and why, exactly which records will be deleted, what to do,
 * and (if they may see the history) the archive of them to download
 * first; everyone else only what changes for them.
 */
export async function expiryNotice (em: EntityManager, plan: Plan, practice: PracticeGroup, viewer: User, now: Date, here: string) {
  const lapse = await upcomingLapse(em, plan, practice, now)
  if (!lapse) return null
  const { warning, deletion } = lapse
  const tz = practice.timeZone
  const expiresAt = formatDateTime(warning.expiresAt, tz)
  if (!isFullAccess(viewer)) return { forManager: false as const, note: freeWindowFrom(plan, expiresAt) }
  const link = (href: string) => ({ href: href === here ? null : href })
  return {
    forManager: true as const,
    expiresAt,
    because: warning.reason === 'auto-renew is off' ? warning.reason : `${warning.reason} (${creditsText(warning.price)} needed, ${formatNumber(warning.balance)} available)`,
    deletes: {
      /** "1 record", "1,234 records" */
      records: counted(deletion.count, 'record', 'records'),
      none: deletion.count === 0,
      before: formatDateTime(deletion.cutoff, tz),
      oldest: deletion.oldest && formatDateTime(deletion.oldest, tz),
      newest: deletion.newest && formatDateTime(deletion.newest, tz),
      noneOldEnough: nothingOldEnoughAtExpiry(plan),
      afterwards: retentionAfterExpiry(plan)
    },
    archiveHref: mayViewHistory(viewer) && deletion.count > 0 ? `${GROUP_HISTORY_PATH}/archive.zip` : null,
    renew: warning.reason === 'auto-renew is off' ? link(ADD_ONS_PATH) : null,
    topUp: warning.balance < warning.price ? link(CREDITS_PATH) : null
  }
}

export type ExpiryNotice = NonNullable<Awaited<ReturnType<typeof expiryNotice>>>
