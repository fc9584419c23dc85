import type { EntityManager } from '@mikro-orm/core'
import { inPgTransaction, sqlIn } from '../../db/sql.js'
import { UserFacingError } from '../errors.js'
import type { Plan } from '../plan/plan.js'
import { nextEntry, storedInstant } from './chain-encoding.js'
import { chainEntries, chainHead, clientQuery, idsSealedTwice, insertEntry, lockSealing, sealPositions } from './chain-store.js'
import { verifyChain, type ChainReader, type ChainVerification, type EntryWithRecords } from './chain-verifier.js'
import type { ChainKey } from '../signed-heads/chain-key.js'
import { gatherHeads } from '../signed-heads/head-sources.js'
import { chainRecordBatches, chainRecordsById, countSealable, declareUnsealedCursor, existingRecordIds } from '../audit-records/chain-reads.js'
import type { PoolClient } from 'pg'

const FETCH_SIZE = 5000

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
 * Each entry of a practice's chain with the records it seals, asking for
 * the next seal's records before handing out this one, so the database
 * finds them while this process hashes.
 */
async function * entriesWithRecords (client: PoolClient, practiceGroupId: number): AsyncGenerator<EntryWithRecords> {
  let ahead: Promise<EntryWithRecords> | null = null
  for await (const entry of chainEntries(client, practiceGroupId)) {
    const next = entry.kind === 'seal'
      ? chainRecordsById(client, entry.recordIds).then(records => ({ entry, records }))
      : Promise.resolve({ entry, records: [] })
    // Should verifying stop early, its transaction fails and ends; this read's failure then says nothing more.
    next.catch(() => {})
    if (ahead) yield await ahead
    ahead = next
  }
  if (ahead) yield await ahead
}

/** What verifying reads, from one snapshot: the chain entry by entry, and the few questions only a problem raises. */
function chainReader (client: PoolClient, practiceGroupId: number, sealedBelow: bigint, sealedTwice: ReadonlySet<number>): ChainReader {
  const query = clientQuery(client)
  return {
    entries: entriesWithRecords(client, practiceGroupId),
    sealedTwice,
    lookUp: async ids => ({ sealedAt: await sealPositions(query, practiceGroupId, ids), present: await existingRecordIds(client, ids) }),
    unsealed: async function * (sealedFound) {
      const everySealableFound = await countSealable(client, practiceGroupId, sealedBelow) === sealedFound
      await declareUnsealedCursor(client, 'unsealed', practiceGroupId, sealedBelow, everySealableFound)
      for await (const records of chainRecordBatches(client, 'unsealed', FETCH_SIZE)) yield * records
      await client.query('close unsealed')
    }
  }
}

/**
 * Verifies a practice's chain against its records, all read from one
 * snapshot, entry by entry in chain order: memory holds one seal's records
 * at a time, not the chain. `knownHead` is a head written down
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
      audit_tx(pg_snapshot_xmax(pg_current_snapshot()))::text as next_tx from audit_seal_state`, [])
    const sealedBelow = BigInt(String(state!.sealed_below))
    const signedHeads = against.signing && await gatherHeads(query, against.signing.key, practiceGroupId, against.signing.files)
    const reader = chainReader(client, practiceGroupId, sealedBelow, await idsSealedTwice(query, practiceGroupId))
    return verifyChain(plan, reader, sealedBelow, { knownHead: against.knownHead, futureTxFrom: BigInt(String(state!.next_tx)), signedHeads })
  })
}
