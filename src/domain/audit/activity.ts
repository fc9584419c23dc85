import type { EntityManager, Transaction } from '@mikro-orm/core'
import { UserFacingError } from '../errors.js'
import { GroupCommit } from './group-commit.js'
import { currentPractice, hasPracticeScope } from '../../db/practice-scope.js'

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

const COLUMNS = '(practice_group_id, occurred_at, user_id, user_name, action, page, record_type, record_id, description, url, ip, changes)'
const VALUES = '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?::inet, ?::jsonb)'
/** Rows per statement when records are written together: 1,200 parameters, well under PostgreSQL's limit of 65,535. */
const MAX_ROWS_TOGETHER = 100

type RecordRow = unknown[]

function rowOf (actor: Actor, activity: Activity): RecordRow {
  return [
    actor.practiceGroupId, actor.occurredAt, actor.userId, clip(actor.userName, 200), activity.action, activity.page,
    activity.recordType ?? null, activity.recordId == null ? null : String(activity.recordId),
    clip(activity.description, MAX_DESCRIPTION), clip(actor.url, MAX_URL), actor.ip,
    activity.changes ? JSON.stringify(activity.changes) : null
  ]
}

type Connection = ReturnType<EntityManager['getConnection']>

async function insertRows (connection: Connection, rows: RecordRow[], transaction?: Transaction): Promise<void> {
  const values = rows.map(() => VALUES).join(', ')
  await connection.execute(`insert into audit_records ${COLUMNS} values ${values}`, rows.flat(), 'run', transaction)
}

/**
 * Rows of several practices in one statement string, each practice's
 * inserted under its own practice scope (row-level security admits a row
 * only for the practice its statement is scoped to). PostgreSQL runs the
 * string as one transaction: every row is kept, or none.
 */
async function insertRowsOfPractices (connection: Connection, rows: RecordRow[]): Promise<void> {
  const byPractice = new Map<unknown, RecordRow[]>()
  for (const row of rows) {
    const ofPractice = byPractice.get(row[0])
    if (ofPractice) ofPractice.push(row)
    else byPractice.set(row[0], [row])
  }
  const statements: string[] = []
  const params: unknown[] = []
  for (const [practiceGroupId, ofPractice] of byPractice) {
    statements.push("select set_config('app.practice_id', ?, true)", `insert into audit_records ${COLUMNS} values ${ofPractice.map(() => VALUES).join(', ')}`)
    params.push(String(practiceGroupId), ...ofPractice.flat())
  }
  await connection.execute(statements.join('; '), params, 'run')
}

const groupCommits = new WeakMap<Connection, GroupCommit<RecordRow>>()

function groupCommitFor (connection: Connection): GroupCommit<RecordRow> {
  let group = groupCommits.get(connection)
  if (!group) {
    group = new GroupCommit(rows => insertRowsOfPractices(connection, rows), MAX_ROWS_TOGETHER)
    groupCommits.set(connection, group)
  }
  return group
}

/**
 * Appends one record to the User Action History. Inside a transaction it is
 * written with the change it describes, so if either fails, neither is kept.
 * Outside one (a page view, a sign-in) it is committed together with the
 * records other requests are writing at the same moment; either way the
 * promise resolves only once this record is committed.
 */
export async function recordActivity (em: EntityManager, actor: Actor, activity: Activity): Promise<void> {
  const row = rowOf(actor, activity)
  const transaction = em.getTransactionContext()
  try {
    // Group commit writes each practice's rows in that practice's scope, so it must only take rows of the caller's own.
    if (hasPracticeScope() && currentPractice() !== actor.practiceGroupId) throw new Error(`a record for practice ${actor.practiceGroupId} from work scoped to another`)
    if (transaction) await insertRows(em.getConnection(), [row], transaction)
    else await groupCommitFor(em.getConnection()).add(row)
  } catch (err) {
    throw new ActivityNotRecordedError(err)
  }
}
