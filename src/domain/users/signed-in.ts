import type { EntityManager } from '@mikro-orm/core'
import { PracticeGroup } from '../practice-groups/practice-group.entity.js'
import { Subscription } from '../subscriptions/subscription.entity.js'
import { User } from './user.entity.js'

/** Who is signed in, their practice, and the practice's active subscription, as of the start of a request. */
export interface SignedIn {
  user: User
  practice: PracticeGroup
  subscription: Subscription | null
}

/** The rows behind a SignedIn, as `signedInColumns` selects them. */
export interface SignedInRows {
  user: object | null
  practice: object | null
  subscription: object | null
}

/**
 * The SignedInRows of a row of `source`, which has `user_id` and
 * `practice_group_id` columns, as select-list entries; the user must be
 * active, not a system user and of that practice. Every signed-in request
 * needs them, so they ride along with whatever statement the request
 * makes first; as subqueries rather than joins, they take PostgreSQL half
 * the time to plan.
 */
export function signedInColumns (source: string): string {
  return `(select row_to_json(u.*) from users u where u.id = ${source}.user_id and u.practice_group_id = ${source}.practice_group_id
             and u.active and not u.is_system) as user,
          (select row_to_json(p.*) from practice_groups p where p.id = ${source}.practice_group_id) as practice,
          (select row_to_json(s.*) from subscriptions s where s.practice_group_id = ${source}.practice_group_id and s.status = 'active') as subscription`
}

/**
 * A row as `row_to_json` gives it, as a frozen plain object with the
 * entity's property names and types. Making managed entities of the three
 * rows cost a page view more than its own query, and a request only reads
 * who is signed in: code that changes a user, practice or subscription
 * loads it into its own unit of work, and a change made through one of
 * these by mistake throws rather than being silently dropped.
 */
function readOnly<T> (em: EntityManager, entity: { meta: { className: string } }, row: object): T {
  const columns = row as Record<string, unknown>
  const values: Record<string, unknown> = {}
  for (const prop of em.getMetadata().get(entity.meta.className).props) {
    const value = columns[prop.fieldNames[0]!]
    values[prop.name] = value == null ? null : prop.runtimeType === 'Date' ? new Date(value as string) : value
  }
  return Object.freeze(values) as T
}

/** The rows as read-only entities; null without the user or their practice. */
export function mapSignedIn (em: EntityManager, rows: SignedInRows): SignedIn | null {
  if (!rows.user || !rows.practice) return null
  return {
    user: readOnly<User>(em, User, rows.user),
    practice: readOnly<PracticeGroup>(em, PracticeGroup, rows.practice),
    subscription: rows.subscription ? readOnly<Subscription>(em, Subscription, rows.subscription) : null
  }
}

/** Null when the user is gone, deactivated, a system user, or not of that practice. */
export async function loadSignedIn (em: EntityManager, userId: number, practiceGroupId: number): Promise<SignedIn | null> {
  const [rows] = await em.getConnection().execute<SignedInRows[]>(
    `select ${signedInColumns('claimed')} from (select ?::integer as user_id, ?::integer as practice_group_id) claimed`,
    [userId, practiceGroupId]
  )
  return rows ? mapSignedIn(em, rows) : null
}
