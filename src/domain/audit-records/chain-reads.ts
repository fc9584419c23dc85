import type { EntityManager } from '@mikro-orm/core'
import type { PoolClient } from 'pg'

/** A history record as the chain sees it: every stored field, as PostgreSQL prints it. */
export interface ChainRecord {
  id: number
  txId: string
  practiceGroupId: number
  /** UTC with microseconds, exactly as stored. */
  occurredAt: string
  userId: number | null
  userName: string
  action: string
  page: string
  recordType: string | null
  recordId: string | null
  description: string
  url: string
  ip: string | null
  changes: string | null
  patientId: string | null
  outcome: string
  /**
   * Whether the record's seal covers its patient and outcome: true for
   * records written since those columns exist, false for older ones, whose
   * patient was filled in after they were sealed.
   */
  coversPatient: boolean
}

/**
 * The select list that reads records in the form above; the sealer and the
 * verifier both use it. Its aliases shadow the columns in ORDER BY, so order
 * by `audit_records.id`, not `id` (which would sort the text).
 */
const CHAIN_RECORD_COLUMNS = `id::text as id, tx_id::text as tx_id, practice_group_id,
  to_char(occurred_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as occurred_at,
  user_id, user_name, action, page, record_type, record_id, description, url, ip::text as ip, changes::text as changes,
  patient_id::text as patient_id, outcome, tx_id >= (select patient_sealed_from from audit_seal_state) as covers_patient`

function chainRecordFromRow (row: Record<string, unknown>): ChainRecord {
  return {
    id: Number(row.id),
    txId: String(row.tx_id),
    practiceGroupId: Number(row.practice_group_id),
    occurredAt: String(row.occurred_at),
    userId: row.user_id == null ? null : Number(row.user_id),
    userName: String(row.user_name),
    action: String(row.action),
    page: String(row.page),
    recordType: row.record_type == null ? null : String(row.record_type),
    recordId: row.record_id == null ? null : String(row.record_id),
    description: String(row.description),
    url: String(row.url),
    ip: row.ip == null ? null : String(row.ip),
    changes: row.changes == null ? null : String(row.changes),
    patientId: row.patient_id == null ? null : String(row.patient_id),
    outcome: String(row.outcome),
    coversPatient: row.covers_patient === true
  }
}

/**
 * A cursor over every record written by transactions in [fromTx, toTx),
 * grouped by practice and in id order within each: what the sealer seals.
 */
export async function declareSealingCursor (client: PoolClient, cursor: string, fromTx: bigint, toTx: string): Promise<void> {
  await client.query(`declare ${cursor} no scroll cursor for
    select ${CHAIN_RECORD_COLUMNS} from audit_records where tx_id >= $1 and tx_id < $2 order by audit_records.practice_group_id, audit_records.id`, [fromTx.toString(), toTx])
}

/** A cursor over all of one practice's records in id order: what verifying reads against the chain. */
export async function declareVerifyingCursor (client: PoolClient, cursor: string, practiceGroupId: number): Promise<void> {
  await client.query(`declare ${cursor} no scroll cursor for
    select ${CHAIN_RECORD_COLUMNS} from audit_records where practice_group_id = $1 order by audit_records.id`, [practiceGroupId])
}

/** The next `count` records of a cursor declared above; none when it is done. */
export async function fetchChainRecords (client: PoolClient, cursor: string, count: number): Promise<ChainRecord[]> {
  const { rows } = await client.query(`fetch ${count} from ${cursor}`)
  return rows.map(chainRecordFromRow)
}

/** Whether any of the practice's records from before `before` still waits for its seal. */
export async function hasUnsealedBefore (em: EntityManager, practiceGroupId: number, before: Date): Promise<boolean> {
  const [row] = await em.getConnection().execute(
    `select exists (select 1 from audit_records
      where tx_id >= (select sealed_below from audit_seal_state) and practice_group_id = ? and occurred_at < ?) as waiting`,
    [practiceGroupId, before]) as Array<{ waiting: boolean }>
  return row!.waiting
}

/** The most records the backlog counts one by one; past it, the oldest one's age says more than the count. */
export const BACKLOG_COUNT_LIMIT = 100_000

export interface SealBacklog {
  /** Records no seal covers yet, counted up to BACKLOG_COUNT_LIMIT. */
  waiting: number
  /** When the record that has waited longest was recorded; null when none waits. */
  oldestAt: Date | null
}

export const SEAL_BACKLOG_SQL = `select
  (select count(*) from (select from audit_records where tx_id >= s.sealed_below limit ?) tail) as waiting,
  (select occurred_at from audit_records where tx_id >= s.sealed_below order by tx_id limit 1) as oldest_at
  from audit_seal_state s`

/**
 * What waits for the sealer. Both reads walk `audit_tx_idx` from the
 * sealing position onwards, so they touch only the unsealed tail (a
 * minute's records while the sealer keeps up) however large the history
 * is; the count stops at its limit so a stalled sealer cannot make it
 * slow. The longest waiting is the record of the earliest transaction:
 * the sealer takes them in that order.
 */
export async function sealBacklog (em: EntityManager): Promise<SealBacklog> {
  const [row] = await em.getConnection().execute(SEAL_BACKLOG_SQL, [BACKLOG_COUNT_LIMIT]) as Array<{ waiting: string, oldest_at: Date | string | null }>
  return { waiting: Number(row!.waiting), oldestAt: row!.oldest_at == null ? null : new Date(row!.oldest_at) }
}
