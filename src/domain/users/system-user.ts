import type { EntityManager } from '@mikro-orm/core'
import type { Actor } from '../audit-records/record.js'
import type { PracticeGroup } from '../practice-groups/practice-group.entity.js'
import { User } from './user.entity.js'
import { SYSTEM_EMAIL_DOMAIN } from './user.validation.js'

export const SYSTEM_USER_NAME = 'System'

/**
 * The practice's "System" user, who renews, expires and deletes on the
 * scheduled job's behalf. It is inactive with no usable password, so it can
 * never sign in and never counts toward the price.
 */
export async function systemUser (em: EntityManager, practiceGroupId: number): Promise<User> {
  const existing = await em.findOne(User, { practiceGroupId, isSystem: true })
  if (existing) return existing
  await em.getConnection().execute(
    `insert into users (practice_group_id, name, email, password_hash, active, access_level, can_view_history, is_system, created_at, updated_at)
     values (?, ?, ?, '!', false, 'Reception', false, true, now(), now())
     on conflict (practice_group_id) where is_system do nothing`,
    [practiceGroupId, SYSTEM_USER_NAME, `system+${practiceGroupId}${SYSTEM_EMAIL_DOMAIN}`],
    'run',
    em.getTransactionContext()
  )
  return em.findOneOrFail(User, { practiceGroupId, isSystem: true }, { refresh: true })
}

/** The scheduled job as an actor in the history: no address, no URL, the practice's time zone. */
export function systemActor (system: User, practice: PracticeGroup, now: Date): Actor {
  return {
    practiceGroupId: practice.id,
    userId: system.id,
    userName: SYSTEM_USER_NAME,
    url: '(scheduled job)',
    ip: null,
    timeZone: practice.timeZone,
    occurredAt: now
  }
}
