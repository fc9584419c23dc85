import type { EntityManager } from '@mikro-orm/core'
import { inPgTransaction } from '../../db/sql.js'
import { nextEntry, storedInstant } from './chain-encoding.js'
import { chainHead, clientQuery, insertEntry, lockSealing } from './chain-store.js'

/** What a move entry's note says: where the history ran before and where it goes on. */
export interface MoveNote {
  fromCluster: string | null
  toCluster: string
  /** The transaction offset from now on (see audit_tx). */
  txOffset: string
}

/**
 * Writes a move into the chain of every practice that has one, under the
 * sealing lock, so each chain says when and where the history went on.
 */
export async function appendMoveEntries (em: EntityManager, now: Date, move: MoveNote): Promise<number> {
  return inPgTransaction(em, 'begin', async client => {
    const query = clientQuery(client)
    await lockSealing(query)
    const chains = await query('select distinct practice_group_id from audit_chain order by 1', [])
    const note = JSON.stringify({ fromCluster: move.fromCluster, toCluster: move.toCluster, txOffset: move.txOffset })
    for (const { practice_group_id: practiceGroupId } of chains) {
      const entry = nextEntry(await chainHead(query, Number(practiceGroupId)), {
        practiceGroupId: Number(practiceGroupId), kind: 'move', createdAt: storedInstant(now), recordIds: [], recordDigests: null, recordTimes: null, cutoff: null, note
      })
      await insertEntry(query, entry)
    }
    return chains.length
  })
}
