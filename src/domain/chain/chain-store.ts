import type { PoolClient } from 'pg'
import { toPg } from '../../db/sql.js'
import { CHAIN_ENTRY_COLUMNS, chainEntryFromRow, type ChainEntry } from './chain-encoding.js'

/** Runs SQL with `?` placeholders: on a connection of its own, or inside an EntityManager's transaction (`sqlIn`). */
export type Query = (sql: string, params: unknown[]) => Promise<Array<Record<string, unknown>>>

export function clientQuery (client: PoolClient): Query {
  return async (sql, params) => (await client.query(toPg(sql), params)).rows
}

/** The newest entry of a practice's chain, or null before its first. */
export async function chainHead (query: Query, practiceGroupId: number): Promise<Pick<ChainEntry, 'seq' | 'hash'> | null> {
  const [row] = await query('select seq, hash from audit_chain where practice_group_id = ? order by seq desc limit 1', [practiceGroupId])
  return row ? { seq: Number(row.seq), hash: row.hash as Buffer } : null
}

export async function insertEntry (query: Query, entry: ChainEntry): Promise<void> {
  await query(
    `insert into audit_chain (practice_group_id, seq, kind, created_at, record_ids, record_digests, record_times, cutoff, note, previous_hash, hash)
     values (?, ?, ?, ?, ?::bigint[], ?, ?::bigint[], ?, ?, ?, ?)`,
    // An array literal, not an array: bound arrays would be spread into one placeholder each.
    [entry.practiceGroupId, entry.seq, entry.kind, entry.createdAt, `{${entry.recordIds.join(',')}}`, entry.recordDigests,
      entry.recordTimes && `{${entry.recordTimes.join(',')}}`, entry.cutoff, entry.note, entry.previousHash, entry.hash])
}

/** A practice's chain in order, read through a cursor a few entries at a time, so only those are ever held and each read is parsed in a few milliseconds. */
export async function * chainEntries (client: PoolClient, practiceGroupId: number): AsyncGenerator<ChainEntry> {
  await client.query(`declare chain_entries no scroll cursor for
    select ${CHAIN_ENTRY_COLUMNS} from audit_chain where practice_group_id = $1 order by seq`, [practiceGroupId])
  for (;;) {
    const { rows } = await client.query('fetch 4 from chain_entries')
    if (rows.length === 0) break
    for (const row of rows) yield chainEntryFromRow(row)
  }
  await client.query('close chain_entries')
}

/** Ids that more than one of a practice's seals lists: none, in a chain nobody tampered with. */
export async function idsSealedTwice (query: Query, practiceGroupId: number): Promise<Set<number>> {
  // Sorting and comparing neighbours costs a third of grouping, whose hash table spills to disk for a large chain.
  const rows = await query(`select distinct id::text as id from (
    select sealed.id, lag(sealed.id) over (order by sealed.id) as previous
    from audit_chain c cross join unnest(c.record_ids) sealed(id) where c.practice_group_id = ? and c.kind = 'seal') ids
    where id = previous`, [practiceGroupId])
  return new Set(rows.map(row => Number(row.id)))
}

/** Every place one of a practice's seals lists one of these ids, in chain order. */
export async function sealPositions (query: Query, practiceGroupId: number, ids: readonly number[]): Promise<Array<{ id: number, seq: number, index: number }>> {
  const rows = await query(`select sealed.id::text as id, c.seq, sealed.n - 1 as index
    from audit_chain c cross join unnest(c.record_ids) with ordinality sealed(id, n)
    where c.practice_group_id = ? and c.kind = 'seal' and sealed.id = any(?::bigint[]) order by c.seq, sealed.n`, [practiceGroupId, `{${ids.join(',')}}`])
  return rows.map(row => ({ id: Number(row.id), seq: Number(row.seq), index: Number(row.index) }))
}

/** Takes the sealing lock: sealers and checkpoint writers extend chains one at a time. Returns the sealing position. */
export async function lockSealing (query: Query): Promise<bigint> {
  const [row] = await query('select sealed_below::text as sealed_below from audit_seal_state for update', [])
  return BigInt(String(row!.sealed_below))
}
