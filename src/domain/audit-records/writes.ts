import type { EntityManager, Transaction } from '@mikro-orm/core'
import { outcomeOf, type RecordedEvent, type Actor } from './record.js'

const MAX_URL = 2000
const MAX_DESCRIPTION = 4000

function clip (text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text
}

const COLUMNS = '(practice_group_id, occurred_at, user_id, user_name, action, page, record_type, record_id, description, url, ip, changes, patient_id, outcome)'
const VALUES = '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?::inet, ?::jsonb, ?, ?)'
/** Rows per statement when records are written together: 1,400 parameters, well under PostgreSQL's limit of 65,535. */
export const MAX_ROWS_TOGETHER = 100

/** One record's values, in the order the insert statements list the columns. */
export type RecordRow = unknown[]

export function rowOf (actor: Actor, event: RecordedEvent): RecordRow {
  return [
    actor.practiceGroupId, actor.occurredAt, actor.userId, clip(actor.userName, 200), event.action, event.page,
    event.recordType ?? null, event.recordId == null ? null : String(event.recordId),
    clip(event.description, MAX_DESCRIPTION), clip(actor.url, MAX_URL), actor.ip,
    event.changes ? JSON.stringify(event.changes) : null, event.patientId ?? null, outcomeOf(event.action)
  ]
}

export type Connection = ReturnType<EntityManager['getConnection']>

/** The rows, in the caller's transaction if it has one. */
export async function insertRows (connection: Connection, rows: RecordRow[], transaction?: Transaction): Promise<void> {
  const values = rows.map(() => VALUES).join(', ')
  await connection.execute(`insert into audit_records ${COLUMNS} values ${values}`, rows.flat(), 'run', transaction)
}

/**
 * Rows of several practices in one statement string, each practice's
 * inserted under its own practice scope (row-level security admits a row
 * only for the practice its statement is scoped to). PostgreSQL runs the
 * string as one transaction: every row is kept, or none.
 */
export async function insertRowsOfPractices (connection: Connection, rows: RecordRow[]): Promise<void> {
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

/**
 * Proves these connections could append a record now, without adding one:
 * an insert of no rows still needs the insert right on every column the
 * recorder writes, the table's lock for writing (so it fails while another
 * session holds the table, here after a second), and a database that takes
 * writes (not a read-only standby or transaction).
 */
export async function probeAppend (em: EntityManager): Promise<void> {
  await em.transactional(async tx => {
    const connection = tx.getConnection()
    const transaction = tx.getTransactionContext()
    await connection.execute("set local lock_timeout = '1s'", [], 'run', transaction)
    await connection.execute(`insert into audit_records ${COLUMNS} select ${COLUMNS.slice(1, -1)} from audit_records where false`, [], 'run', transaction)
  })
}
