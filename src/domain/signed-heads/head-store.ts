import type { Query } from '../chain/chain-store.js'
import type { SignedHead } from './signed-head.js'

export interface StoredHead extends SignedHead {
  practiceGroupId: number
  seq: number
}

function storedHead (row: Record<string, unknown>): StoredHead {
  return { practiceGroupId: Number(row.practice_group_id), seq: Number(row.seq), payload: String(row.payload), signature: row.signature as Buffer }
}

const HEAD_COLUMNS = 'practice_group_id, seq, payload, signature'

/** Practices whose chain has moved past their newest signed head (or that have none yet), with the chain head and that signed head. */
export async function chainsAheadOfTheirSignedHead (query: Query): Promise<Array<{ practiceGroupId: number, seq: number, hash: Buffer, signed: StoredHead | null }>> {
  const rows = await query(`
    select p.id as practice_group_id, c.seq, c.hash, s.seq as signed_seq, s.payload, s.signature
      from practice_groups p
      cross join lateral (select seq, hash from audit_chain where practice_group_id = p.id order by seq desc limit 1) c
      left join lateral (select seq, payload, signature from signed_heads where practice_group_id = p.id order by seq desc limit 1) s on true
     where s.seq is null or s.seq < c.seq
     order by p.id`, [])
  return rows.map(row => ({
    practiceGroupId: Number(row.practice_group_id),
    seq: Number(row.seq),
    hash: row.hash as Buffer,
    signed: row.signed_seq === null ? null : storedHead({ ...row, seq: row.signed_seq })
  }))
}

/** How many records the seals of a practice's chain hold in positions (after, upTo]. */
export async function recordsSealedBetween (query: Query, practiceGroupId: number, after: number, upTo: number): Promise<number> {
  const [row] = await query(`select coalesce(sum(cardinality(record_ids)), 0)::bigint as records from audit_chain
    where practice_group_id = ? and kind = 'seal' and seq > ? and seq <= ?`, [practiceGroupId, after, upTo])
  return Number(row!.records)
}

export async function insertSignedHead (query: Query, practiceGroupId: number, seq: number, signedAt: string, head: SignedHead): Promise<void> {
  await query('insert into signed_heads (practice_group_id, seq, signed_at, payload, signature) values (?, ?, ?, ?, ?)',
    [practiceGroupId, seq, signedAt, head.payload, head.signature])
}

/** A practice's signed heads after a position, oldest first. */
export async function signedHeadsAfter (query: Query, practiceGroupId: number, after: number, limit: number): Promise<StoredHead[]> {
  const rows = await query(`select ${HEAD_COLUMNS} from signed_heads where practice_group_id = ? and seq > ? order by seq limit ?`, [practiceGroupId, after, limit])
  return rows.map(storedHead)
}

/** A practice's newest signed heads, newest first. */
export async function newestSignedHeads (query: Query, practiceGroupId: number, limit: number): Promise<StoredHead[]> {
  const rows = await query(`select ${HEAD_COLUMNS} from signed_heads where practice_group_id = ? order by seq desc limit ?`, [practiceGroupId, limit])
  return rows.map(storedHead)
}

/**
 * The signed heads that vouch for a period: the last one before it (where
 * its records start), the last of each day in it, and the first after it
 * (which covers its last records), so a year's receipt stays a few hundred
 * heads however often the chain moved.
 */
export async function signedHeadsCovering (query: Query, practiceGroupId: number, from: Date, to: Date): Promise<StoredHead[]> {
  const rows = await query(`
    (select ${HEAD_COLUMNS} from signed_heads where practice_group_id = ? and signed_at < ? order by signed_at desc, seq desc limit 1)
    union
    (select distinct on (date_trunc('day', signed_at, 'UTC')) ${HEAD_COLUMNS} from signed_heads
      where practice_group_id = ? and signed_at >= ? and signed_at <= ? order by date_trunc('day', signed_at, 'UTC'), seq desc)
    union
    (select ${HEAD_COLUMNS} from signed_heads where practice_group_id = ? and signed_at > ? order by signed_at, seq limit 1)
    order by seq`, [practiceGroupId, from, practiceGroupId, from, to, practiceGroupId, to])
  return rows.map(storedHead)
}
