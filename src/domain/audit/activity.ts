import type { EntityManager } from '@mikro-orm/core'
import { UserFacingError } from '../errors.js'

export const ACTIONS = ['view', 'create', 'update', 'delete', 'login', 'logout', 'login_failed', 'export', 'purchase'] as const
export type Action = typeof ACTIONS[number]

/** Who is acting, from where, and at what moment: what every record needs besides the action itself. */
export interface Actor {
  practiceGroupId: number
  userId: number | null
  userName: string
  url: string
  ip: string | null
  timeZone: string
  occurredAt: Date
}

/** One changed field: stored values for tools, and the words a person reads. */
export interface FieldChangeRecord {
  field: string
  label: string
  before: string | number | boolean | null
  after: string | number | boolean | null
  beforeText: string
  afterText: string
}

export interface Activity {
  action: Action
  page: string
  recordType?: string | null
  recordId?: string | number | null
  description: string
  changes?: FieldChangeRecord[] | null
}

export class ActivityNotRecordedError extends UserFacingError {
  constructor (readonly cause: unknown) {
    super(503, 'This could not be recorded in the User Action History, so it was not done. Please try again in a moment.')
  }
}

const MAX_URL = 2000
const MAX_DESCRIPTION = 4000

function clip (text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text
}

/**
 * Appends one record to the User Action History. Called with the same
 * EntityManager (and so the same transaction) as the change it describes:
 * if either fails, neither is kept.
 */
export async function recordActivity (em: EntityManager, actor: Actor, activity: Activity): Promise<void> {
  try {
    await em.getConnection().execute(
      `insert into audit_records
        (practice_group_id, occurred_at, user_id, user_name, action, page, record_type, record_id, description, url, ip, changes)
       values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?::inet, ?::jsonb)`,
      [
        actor.practiceGroupId, actor.occurredAt, actor.userId, clip(actor.userName, 200), activity.action, activity.page,
        activity.recordType ?? null, activity.recordId == null ? null : String(activity.recordId),
        clip(activity.description, MAX_DESCRIPTION), clip(actor.url, MAX_URL), actor.ip,
        activity.changes ? JSON.stringify(activity.changes) : null
      ],
      'run',
      em.getTransactionContext()
    )
  } catch (err) {
    throw new ActivityNotRecordedError(err)
  }
}
