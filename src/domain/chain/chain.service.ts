import type { EntityManager } from '@mikro-orm/core'
import { inPgTransaction, sqlIn } from '../../db/sql.js'
import { UserFacingError } from '../errors.js'
import type { Plan } from '../plan/plan.js'
import { nextEntry, storedInstant } from './chain-encoding.js'
import { chainEntries, chainHead, clientQuery, insertEntry, lockSealing } from './chain-store.js'
import { verifyChain, type ChainVerification } from './chain-verifier.js'
import type { ChainKey } from '../signed-heads/chain-key.js'
import { gatherHeads } from '../signed-heads/head-sources.js'
import { declareVerifyingCursor, fetchChainRecords, type ChainRecord } from '../audit-records/chain-reads.js'

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
    practiceGroupId, kind: 'checkpoint', createdAt: storedInstant(now), recordIds: deletedIds, recordDigests: null, recordTimes: null, cutoff: storedInstant(cutoff)
  })
  await insertEntry(query, entry)
}

/** Verifications of one practice take turns: each reads the whole chain. */
const VERIFY_LOCK_KEY = 727_002

export class VerificationBusyError extends UserFacingError {
  constructor () {
    super(409, 'A verification of this practice is already running. Try again when it has finished.')
  }
}

export interface VerifyAgainst {
  /** A chain head written down by hand earlier. */
  knownHead?: Buffer | null
  /** The public key that signs heads, and the files outside the database that keep copies of them. */
  signing?: { key: ChainKey, files: ReadonlyArray<{ path: string, label: string }> }
}

/**
 * Verifies a practice's chain against its records, all read from one
 * snapshot through a cursor: memory grows with the number of sealed ids,
 * not with the records themselves. `knownHead` is a head written down
 * by hand earlier, which must still be in the chain; so must every signed head
 * found in the database and in the heads files. The retention terms come from
 * the plan in the code, never from the database, whose owner the chain is
 * there to check.
 */
export async function verifyPracticeChain (em: EntityManager, plan: Plan, practiceGroupId: number, against: VerifyAgainst = {}): Promise<ChainVerification> {
  return inPgTransaction(em, 'begin isolation level repeatable read read only', async client => {
    const query = clientQuery(client)
    const [lock] = await query('select pg_try_advisory_xact_lock(?, ?) as locked', [VERIFY_LOCK_KEY, practiceGroupId])
    if (!lock!.locked) throw new VerificationBusyError()
    const [state] = await query(`select sealed_below::text as sealed_below,
      pg_snapshot_xmax(pg_current_snapshot())::text as next_tx from audit_seal_state`, [])
    const entries = await chainEntries(client, practiceGroupId)
    const signedHeads = against.signing && await gatherHeads(query, against.signing.key, practiceGroupId, against.signing.files)
    await declareVerifyingCursor(client, 'verifying', practiceGroupId)
    async function * records (): AsyncGenerator<ChainRecord> {
      for (;;) {
        const records = await fetchChainRecords(client, 'verifying', FETCH_SIZE)
        if (records.length === 0) return
        yield * records
      }
    }
    return verifyChain(plan, entries, records(), BigInt(String(state!.sealed_below)), {
      knownHead: against.knownHead, futureTxFrom: BigInt(String(state!.next_tx)), signedHeads
    })
  })
}
