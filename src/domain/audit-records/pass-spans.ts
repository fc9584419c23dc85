import type { PoolClient } from 'pg'

/**
 * Where a pass over the records of transactions in [fromTx, boundary)
 * should end so that it reads about `maxRecords`: the transaction of the
 * record past them, or `boundary` when fewer wait. A single transaction
 * holding more is read whole, so every pass moves on. The transaction
 * index answers without reading the records.
 */
export async function passEnd (client: PoolClient, fromTx: bigint, boundary: string, maxRecords: number): Promise<string> {
  if (!Number.isFinite(maxRecords)) return boundary
  const { rows: [past] } = await client.query<{ tx: string }>(
    'select tx_id::text as tx from audit_records where tx_id >= $1 and tx_id < $2 order by tx_id offset $3 limit 1',
    [fromTx.toString(), boundary, maxRecords])
  if (!past) return boundary
  return BigInt(past.tx) > fromTx ? past.tx : (fromTx + 1n).toString()
}
