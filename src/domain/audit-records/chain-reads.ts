import type { EntityManager } from '@mikro-orm/core'
import type { PoolClient } from 'pg'
import { BinaryCopyRows, copyOut } from '../../db/binary-copy.js'
import { finishRecord, putRecordField, startRecord } from '../chain/chain-encoding.js'

/** A history record as the chain sees it: where it sits, when, and the digest of every stored field. */
export interface ChainRecord {
  id: number
  txId: string
  practiceGroupId: number
  /** UTC with microseconds, exactly as stored. */
  occurredAt: string
  /** SHA-256 of the record's fields as PostgreSQL prints them (see `startRecord`): what a seal keeps for it. */
  digest: Buffer
}

/**
 * What a record's digest takes, in its order: whether the record's seal
 * covers its patient and outcome (true for records written since those
 * columns exist, false for older ones, whose patient was filled in after
 * they were sealed), then every stored field as text, the last two for
 * such records only.
 */
const CHAIN_RECORD_COLUMNS = `tx_id >= (select patient_sealed_from from audit_seal_state), id::text, tx_id::text, practice_group_id::text,
  to_char(occurred_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), user_id::text, user_name, action, page, record_type, record_id,
  description, url, ip::text, changes::text, patient_id::text, outcome`
const FIELDS_BEFORE_PATIENT = 14
const PATIENT_FIELDS = 2

/** Moves to the row's next field and puts it into the record's digest. */
function hashNextField (rows: BinaryCopyRows): void {
  rows.nextField()
  putRecordField(rows.data, rows.start, rows.length)
}

/** Reads one record of a binary COPY of CHAIN_RECORD_COLUMNS, hashing its fields' bytes as they came. */
function chainRecordFrom (rows: BinaryCopyRows, digests: Buffer, offset: number): ChainRecord {
  rows.nextField()
  const coversPatient = rows.data[rows.start] === 1
  startRecord(coversPatient)
  hashNextField(rows)
  const id = rows.wholeNumber()
  hashNextField(rows)
  const txId = rows.ascii()
  hashNextField(rows)
  const practiceGroupId = rows.wholeNumber()
  hashNextField(rows)
  const occurredAt = rows.ascii()
  for (let field = 5; field <= FIELDS_BEFORE_PATIENT; field++) hashNextField(rows)
  for (let field = 0; field < PATIENT_FIELDS; field++) {
    if (coversPatient) hashNextField(rows)
    else rows.nextField()
  }
  finishRecord(digests, offset)
  return { id, txId, practiceGroupId, occurredAt, digest: digests.subarray(offset, offset + 32) }
}

/** An id list as a PostgreSQL array literal: bound as one parameter, where an array would be spread into one per id. */
function idArray (ids: ReadonlyArray<number | string>): string {
  return `{${ids.join(',')}}`
}

/**
 * Ids written out for a statement, each checked to be a whole number:
 * COPY takes no parameters, so the list goes into the statement's text.
 */
function idLiteral (ids: ReadonlyArray<number | string>): string {
  for (const id of ids) {
    if (!/^-?\d+$/.test(String(id))) throw new Error(`Not a record id: ${String(id)}`)
  }
  return `'${idArray(ids)}'::bigint[]`
}

/**
 * Those of these records that exist, in any order, read by a binary COPY:
 * their text reaches the digest as the bytes PostgreSQL sent, where a
 * query's rows would be decoded into strings only to be encoded again,
 * which took most of sealing's and verifying's time and memory. Ids may
 * come as PostgreSQL printed them, which keeps an id too large for a
 * JavaScript number exact.
 */
export async function chainRecordsById (client: PoolClient, ids: ReadonlyArray<number | string>): Promise<ChainRecord[]> {
  if (ids.length === 0) return []
  const rows = new BinaryCopyRows(await copyOut(client, `select ${CHAIN_RECORD_COLUMNS} from audit_records where id = any(${idLiteral(ids)})`))
  const records: ChainRecord[] = []
  // One buffer holds every digest of the batch, each record's a view of its part.
  const digests = Buffer.allocUnsafe(32 * ids.length)
  while (rows.nextRow()) records.push(chainRecordFrom(rows, digests, 32 * records.length))
  return records
}

/** Which of these ids a record still has. */
export async function existingRecordIds (client: PoolClient, ids: readonly number[]): Promise<Set<number>> {
  const { rows } = await client.query<{ id: string }>('select id::text as id from audit_records where id = any($1::bigint[])', [idArray(ids)])
  return new Set(rows.map(row => Number(row.id)))
}

/**
 * A cursor over the ids of every record written by transactions in
 * [fromTx, toTx), grouped by practice and in id order within each: what
 * the sealer seals.
 */
export async function declareSealingCursor (client: PoolClient, cursor: string, fromTx: bigint, toTx: string): Promise<void> {
  await client.query(`declare ${cursor} no scroll cursor for
    select id from audit_records where tx_id >= $1 and tx_id < $2 order by practice_group_id, id`, [fromTx.toString(), toTx])
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
 * A cursor, in id order, over the ids of a practice's records that no seal
 * of its chain lists. When every record from before the sealing position
 * is known to be sealed, only the unsealed tail is read.
 */
export async function declareUnsealedCursor (client: PoolClient, cursor: string, practiceGroupId: number, sealedBelow: bigint, onlyTail: boolean): Promise<void> {
  await client.query(onlyTail
    ? `declare ${cursor} no scroll cursor for select id from audit_records
        where tx_id >= $2 and practice_group_id = $1 order by id`
    : `declare ${cursor} no scroll cursor for select id from audit_records r
        where practice_group_id = $1 and tx_id >= $2 or practice_group_id = $1 and not exists (
          select 1 from audit_chain c cross join unnest(c.record_ids) sealed(id) where c.practice_group_id = $1 and c.kind = 'seal' and sealed.id = r.id)
        order by r.id`, [practiceGroupId, sealedBelow.toString()])
}

/** The records of the next `count` ids of a cursor declared above, by practice and in id order within each, as the cursors list them; none when it is done. */
export async function fetchChainRecords (client: PoolClient, cursor: string, count: number): Promise<ChainRecord[]> {
  const { rows } = await client.query<[string]>({ text: `fetch ${count} from ${cursor}`, rowMode: 'array' })
  const records = await chainRecordsById(client, rows.map(([id]) => id))
  return records.sort((a, b) => a.practiceGroupId - b.practiceGroupId || a.id - b.id)
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
