import type { EntityManager } from '@mikro-orm/core'
import { toRow, type HistoryRow } from './reads.js'
import { WITHHELD, withholding } from './visible.js'

/** A place in a practice's chain: entry `seq`, its first `index` records. */
export interface ChainPosition { seq: number, index: number }

/** The signed head that covers a chain entry: the first one signed at or after it. */
export interface CoveringHead { seq: number, payload: string, signature: Buffer }

/** One sealed record on its way to a receiver; `record` is null when retention deleted it before it went. */
export interface SealedRecord {
  position: ChainPosition
  record: HistoryRow | null
  head: CoveringHead
}

/**
 * The next sealed records of a practice after `after`, in chain order, up
 * to `limit` of them: only those whose seal a signed head already covers,
 * each with that head. Records about the patients in `withheld` come
 * without their details, as the exports give them to someone who has given
 * no reason. Only the entries that hold those records are unpacked: a
 * seal can hold thousands.
 */
export async function readSealedAfter (
  em: EntityManager, practiceGroupId: number, after: ChainPosition, limit: number, withheld: readonly number[]
): Promise<SealedRecord[]> {
  const description = withholding({ withheldPatients: withheld }, 'r.description', WITHHELD)
  const changes = withholding({ withheldPatients: withheld }, 'r.changes', null)
  const rows: Array<Record<string, unknown>> = await em.getConnection().execute(
    `with entries as (
       select c.seq, c.record_ids, sum(cardinality(c.record_ids)) over (order by c.seq) - cardinality(c.record_ids) as before
         from audit_chain c
        where c.practice_group_id = ? and c.kind = 'seal' and c.seq >= ?
          and c.seq <= (select max(h.seq) from signed_heads h where h.practice_group_id = ?)
        order by c.seq limit ?
     ), positions as (
       select e.seq, u.idx, u.id from entries e cross join lateral unnest(e.record_ids) with ordinality u(id, idx)
        where e.before < ? and (e.seq, u.idx) > (?, ?)
        order by e.seq, u.idx limit ?
     )
     select p.seq as position_seq, p.idx as position_index, r.id, r.occurred_at, r.user_id, r.user_name, r.action, r.page, r.record_type, r.record_id,
            ${description.sql} as description, r.url, host(r.ip) as ip, ${changes.sql} as changes,
            h.seq as head_seq, h.payload as head_payload, h.signature as head_signature
       from positions p
       left join audit_records r on r.id = p.id and r.practice_group_id = ?
       cross join lateral (select seq, payload, signature from signed_heads
                            where practice_group_id = ? and seq >= p.seq order by seq limit 1) h
      order by p.seq, p.idx`,
    [practiceGroupId, after.seq, practiceGroupId, limit + 1, after.index + limit, after.seq, after.index, limit, ...description.params, ...changes.params, practiceGroupId, practiceGroupId])
  return rows.map(row => ({
    position: { seq: Number(row.position_seq), index: Number(row.position_index) },
    record: row.id == null ? null : toRow(row),
    head: { seq: Number(row.head_seq), payload: String(row.head_payload), signature: row.head_signature as Buffer }
  }))
}
