import type { EntityManager } from '@mikro-orm/core'
import { inPgTransaction, sqlIn } from '../../db/sql.js'
import { CHAIN_RECORD_COLUMNS, chainRecordFromRow, nextEntry, storedInstant, type ChainRecord } from './chain-encoding.js'
import { chainEntries, chainHead, clientQuery, insertEntry, lockSealing } from './chain-store.js'
import { verifyChain, type ChainVerification } from './chain-verifier.js'

const FETCH_SIZE = 2000

/**
 * Accounts for records retention just deleted, in the same transaction as
 * the deletion: the checkpoint names them, their count is its length, and
 * it links to the chain's hash at the cut, so what remains still verifies.
 */
export async function appendCheckpoint (tx: EntityManager, practiceGroupId: number, now: Date, cutoff: Date, deletedIds: number[]): Promise<void> {
  const query = sqlIn(tx)
  await lockSealing(query)
  const entry = nextEntry(await chainHead(query, practiceGroupId), {
    practiceGroupId, kind: 'checkpoint', createdAt: storedInstant(now), recordIds: deletedIds, recordDigests: null, cutoff: storedInstant(cutoff)
  })
  await insertEntry(query, entry)
}

/**
 * Verifies a practice's chain against its records, all read from one
 * snapshot through a cursor: memory grows with the number of sealed ids,
 * not with the records themselves.
 */
export async function verifyPracticeChain (em: EntityManager, practiceGroupId: number): Promise<ChainVerification> {
  return inPgTransaction(em, 'begin isolation level repeatable read read only', async client => {
    const query = clientQuery(client)
    const [state] = await query('select sealed_below::text as sealed_below from audit_seal_state', [])
    const entries = await chainEntries(query, practiceGroupId)
    await client.query(`declare verifying no scroll cursor for
      select ${CHAIN_RECORD_COLUMNS} from audit_records where practice_group_id = $1 order by audit_records.id`, [practiceGroupId])
    async function * records (): AsyncGenerator<ChainRecord> {
      for (;;) {
        const { rows } = await client.query(`fetch ${FETCH_SIZE} from verifying`)
        if (rows.length === 0) return
        for (const row of rows) yield chainRecordFromRow(row)
      }
    }
    return verifyChain(entries, records(), BigInt(String(state!.sealed_below)))
  })
}
