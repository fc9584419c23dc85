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

/** A row of CHAIN_RECORD_COLUMNS fetched as an array, in that order: the cheapest form the driver hands out. */
function chainRecordFromRow (row: unknown[]): ChainRecord {
  return {
    id: Number(row[0]),
    txId: row[1] as string,
    practiceGroupId: row[2] as number,
    occurredAt: row[3] as string,
    userId: row[4] as number | null,
    userName: row[5] as string,
    action: row[6] as string,
    page: row[7] as string,
    recordType: row[8] as string | null,
    recordId: row[9] as string | null,
    description: row[10] as string,
    url: row[11] as string,
    ip: row[12] as string | null,
    changes: row[13] as string | null,
    patientId: row[14] as string | null,
    outcome: row[15] as string,
    coversPatient: row[16] === true
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

/** An id list as a PostgreSQL array literal: bound as one parameter, where an array would be spread into one per id. */
export function idArray (ids: readonly number[]): string {
  return `{${ids.join(',')}}`
}

/** Those of these records that exist, in any order: what verifying checks one seal against. */
export async function chainRecordsById (client: PoolClient, ids: readonly number[]): Promise<ChainRecord[]> {
  const { rows } = await client.query<unknown[]>({
    text: `select ${CHAIN_RECORD_COLUMNS} from audit_records where id = any($1::bigint[])`, values: [idArray(ids)], rowMode: 'array'
  })
  return rows.map(chainRecordFromRow)
}

/** Which of these ids a record still has. */
export async function existingRecordIds (client: PoolClient, ids: readonly number[]): Promise<Set<number>> {
  const { rows } = await client.query<{ id: string }>('select id::text as id from audit_records where id = any($1::bigint[])', [idArray(ids)])
  return new Set(rows.map(row => Number(row.id)))
}

/**
 * How many of a practice's records come from transactions before the
 * sealing position: each of them belongs in a seal. Counted as all its
 * records less the unsealed tail, which `audit_tx_idx` finds without
 * reading the rest.
 */
export async function countSealable (client: PoolClient, practiceGroupId: number, sealedBelow: bigint): Promise<number> {
  const { rows: [row] } = await client.query<{ sealable: string }>(`select
    (select count(*) from audit_records where practice_group_id = $1)
    - (select count(*) from audit_records where tx_id >= $2 and practice_group_id = $1) as sealable`, [practiceGroupId, sealedBelow.toString()])
  return Number(row!.sealable)
}

/**
 * A cursor, in id order, over a practice's records that no seal of its
 * chain lists. When every record from before the sealing position is known
 * to be sealed, only the unsealed tail is read.
 */
export async function declareUnsealedCursor (client: PoolClient, cursor: string, practiceGroupId: number, sealedBelow: bigint, onlyTail: boolean): Promise<void> {
  await client.query(onlyTail
    ? `declare ${cursor} no scroll cursor for select ${CHAIN_RECORD_COLUMNS} from audit_records
        where tx_id >= $2 and practice_group_id = $1 order by audit_records.id`
    : `declare ${cursor} no scroll cursor for select ${CHAIN_RECORD_COLUMNS} from audit_records r
        where practice_group_id = $1 and tx_id >= $2 or practice_group_id = $1 and not exists (
          select 1 from audit_chain c cross join unnest(c.record_ids) sealed(id) where c.practice_group_id = $1 and c.kind = 'seal' and sealed.id = r.id)
        order by r.id`, [practiceGroupId, sealedBelow.toString()])
}

/** The next `count` records of a cursor declared above; none when it is done. */
export async function fetchChainRecords (client: PoolClient, cursor: string, count: number): Promise<ChainRecord[]> {
  const { rows } = await client.query<unknown[]>({ text: `fetch ${count} from ${cursor}`, rowMode: 'array' })
  return rows.map(chainRecordFromRow)
}

/**
 * Every record of a cursor declared above, a batch at a time, asking for
 * the next batch before handing out this one: the database reads it while
 * this process hashes, which keeps both of a small server's cores busy.
 */
export async function * chainRecordBatches (client: PoolClient, cursor: string, count: number): AsyncGenerator<ChainRecord[]> {
  let next = fetchChainRecords(client, cursor, count)
  for (;;) {
    const records = await next
    if (records.length === 0) return
    next = fetchChainRecords(client, cursor, count)
    // Should the caller stop early, its transaction fails and ends; this read's failure then says nothing more.
    next.catch(() => {})
    yield records
  }
}

/** Whether any of the practice's records from before `before` still waits for its seal. */
export async function hasUnsealedBefore (em: EntityManager, practiceGroupId: number, before: Date): Promise<boolean> {
  const [row] = await em.getConnection().execute(
    `select exists (select 1 from audit_records
      where tx_id >= (select sealed_below from audit_seal_state) and practice_group_id = ? and occurred_at < ?) as waiting`,
    [practiceGroupId, before]) as Array<{ waiting: boolean }>
  return row!.waiting
}

/**
 * Whether every record of the practice from before `before` that waits for
 * its seal is committed below the sealing horizon, so one pass seals them
 * all: a transaction still open anywhere on the server holds the horizon
 * back, and sealing before it moves would split them across seals.
 */
export async function allSealableBefore (em: EntityManager, practiceGroupId: number, before: Date): Promise<boolean> {
  const [row] = await em.getConnection().execute(
    `select coalesce(max(tx_id) < audit_tx(pg_snapshot_xmin(pg_current_snapshot())), true) as ready from audit_records
      where tx_id >= (select sealed_below from audit_seal_state) and practice_group_id = ? and occurred_at < ?`,
    [practiceGroupId, before]) as Array<{ ready: boolean }>
  return row!.ready
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
