import type { EntityManager } from '@mikro-orm/core'
import type { PoolClient } from 'pg'
import type { Action } from './record.js'

/** A history record as the alert pass reads it. */
export interface ScannedRecord {
  id: string
  practiceGroupId: number
  occurredAt: Date
  userId: number
  userName: string
  action: Action
  page: string
  patientId: number | null
  description: string
  ip: string | null
}

function scannedRecordFromRow (row: Record<string, unknown>): ScannedRecord {
  return {
    id: String(row.id),
    practiceGroupId: Number(row.practice_group_id),
    occurredAt: new Date(row.occurred_at as string),
    userId: Number(row.user_id),
    userName: String(row.user_name),
    action: row.action as Action,
    page: String(row.page),
    patientId: row.patient_id == null ? null : Number(row.patient_id),
    description: String(row.description),
    ip: row.ip == null ? null : String(row.ip)
  }
}

/**
 * A cursor over the records of a person (not the system) written by
 * transactions in [fromTx, toTx), by practice and in id order: what one
 * alert pass reads. The transaction index finds them.
 */
export async function declareAlertScanCursor (client: PoolClient, cursor: string, fromTx: bigint, toTx: string): Promise<void> {
  await client.query(`declare ${cursor} no scroll cursor for
    select id::text as id, practice_group_id, occurred_at, user_id, user_name, action, page, patient_id, description, host(ip) as ip
      from audit_records where tx_id >= $1 and tx_id < $2 and user_id is not null
     order by practice_group_id, id`, [fromTx.toString(), toTx])
}

export async function fetchScannedRecords (client: PoolClient, cursor: string, count: number): Promise<ScannedRecord[]> {
  const { rows } = await client.query(`fetch ${count} from ${cursor}`)
  return rows.map(scannedRecordFromRow)
}

/** One record of a window that a windowed rule counts: when, what it counts by, and whether this pass reads it for the first time. */
export interface WindowEvent {
  at: Date
  key: string
  isNew: boolean
}

interface Window {
  practiceGroupId: number
  from: Date
  to: Date
  /** The pass's range of transactions: records below `newFrom` were read by an earlier pass. */
  newFrom: bigint
  below: string
}

function windowEvents (rows: Array<Record<string, unknown>>): WindowEvent[] {
  return rows.map(row => ({ at: new Date(row.occurred_at as string), key: String(row.key), isNew: row.is_new === true }))
}

/** A person's views of patients in the window, keyed by patient (the user-and-time index finds them). */
export async function patientViewsInWindow (client: PoolClient, window: Window, userId: number): Promise<WindowEvent[]> {
  const { rows } = await client.query(
    `select occurred_at, patient_id::text as key, tx_id >= $5 as is_new from audit_records
      where practice_group_id = $1 and user_id = $2 and occurred_at >= $3 and occurred_at <= $4 and tx_id < $6
        and action = 'view' and patient_id is not null
      order by occurred_at, id`,
    [window.practiceGroupId, userId, window.from, window.to, window.newFrom.toString(), window.below])
  return windowEvents(rows)
}

/** Denied attempts in the window by one person or from one address, each its own key. */
export async function deniedInWindow (client: PoolClient, window: Window, by: { userId: number } | { ip: string }): Promise<WindowEvent[]> {
  const [column, value] = 'userId' in by ? ['user_id', by.userId] : ['ip', by.ip]
  const { rows } = await client.query(
    `select occurred_at, id::text as key, tx_id >= $5 as is_new from audit_records
      where practice_group_id = $1 and ${column} = $2 and occurred_at >= $3 and occurred_at <= $4 and tx_id < $6
        and outcome = 'denied'
      order by occurred_at, id`,
    [window.practiceGroupId, value, window.from, window.to, window.newFrom.toString(), window.below])
  return windowEvents(rows)
}

/** How many of the practice's attempts were denied since `since` (all of them without one). */
export async function countDeniedSince (em: EntityManager, practiceGroupId: number, since: Date | null): Promise<number> {
  const [row] = await em.getConnection().execute<Array<{ count: string }>>(
    `select count(*) as count from audit_records where practice_group_id = ? and outcome = 'denied' and occurred_at >= ?`,
    [practiceGroupId, since ?? new Date(0)])
  return Number(row!.count)
}

/** Whether any record's transaction lies at or beyond the alert pass's position: written, or still being written, since its last pass. */
export async function hasUnreadForAlerts (em: EntityManager): Promise<boolean> {
  const [row] = await em.getConnection().execute<Array<{ waiting: boolean }>>(
    'select exists (select 1 from audit_records where tx_id >= (select scanned_below from alert_scan_state)) as waiting')
  return row!.waiting
}
