import type { EntityManager } from '@mikro-orm/core'
import { inPgTransaction } from '../../db/sql.js'
import { instantMicros, nextEntry, storedInstant, type ChainEntry } from './chain-encoding.js'
import { chainHead, clientQuery, insertEntry, lockSealing } from './chain-store.js'
import { letOthersRun, RECORDS_PER_TURN } from './turns.js'
import { allSealableBefore, chainRecordBatches, declareSealingCursor, hasUnsealedBefore } from '../audit-records/chain-reads.js'
import { passEnd } from '../audit-records/pass-spans.js'

/** Keeps each seal's row small (about 200 kB) however much a practice recorded since the last run. */
export const MAX_RECORDS_PER_SEAL = 5000
const FETCH_SIZE = 5000

export interface SealReport {
  records: number
  entries: number
  /** Every finished record is sealed: the pass was not cut short by its `maxRecords`. */
  caughtUp: boolean
}

export interface SealLimits {
  maxPerSeal?: number
  /** Seal about this many records and stop, leaving the rest to the next pass: a pass that must give way (to a shutdown) stays short. */
  maxRecords?: number
}

/**
 * Seals every record whose transaction has finished and that no earlier run
 * sealed (or, given `maxRecords`, about that many, the oldest transactions
 * first), into each practice's chain. "Finished" means older than the
 * oldest transaction still running, so a record that commits late is
 * sealed by the next run instead of being skipped. Runs in one transaction:
 * the seals and the new sealing position commit together or not at all.
 */
export async function sealCommittedRecords (em: EntityManager, now: Date, { maxPerSeal = MAX_RECORDS_PER_SEAL, maxRecords = Infinity }: SealLimits = {}): Promise<SealReport> {
  return inPgTransaction(em, 'begin', async client => {
    const query = clientQuery(client)
    const sealedBelow = await lockSealing(query)
    const [{ boundary }] = await query('select audit_tx(pg_snapshot_xmin(pg_current_snapshot()))::text as boundary', []) as [{ boundary: string }]
    if (BigInt(boundary) <= sealedBelow) return { records: 0, entries: 0, caughtUp: true }

    const end = await passEnd(client, sealedBelow, boundary, maxRecords)
    await declareSealingCursor(client, 'sealing', sealedBelow, end)
    const report: SealReport = { records: 0, entries: 0, caughtUp: end === boundary }
    let practiceGroupId: number | null = null
    let head: Pick<ChainEntry, 'seq' | 'hash'> | null = null
    let ids: number[] = []
    const digests = Buffer.allocUnsafe(32 * maxPerSeal)
    let times: number[] = []
    const flush = async (): Promise<void> => {
      if (ids.length === 0) return
      const entry = nextEntry(head, {
        practiceGroupId: practiceGroupId!, kind: 'seal', createdAt: storedInstant(now), recordIds: ids, recordDigests: Buffer.from(digests.subarray(0, 32 * ids.length)), recordTimes: times, cutoff: null
      })
      await insertEntry(query, entry)
      head = entry
      report.entries++
      ids = []
      times = []
    }
    for await (const records of chainRecordBatches(client, 'sealing', FETCH_SIZE)) {
      for (const record of records) {
        if (record.practiceGroupId !== practiceGroupId) {
          await flush()
          practiceGroupId = record.practiceGroupId
          head = await chainHead(query, practiceGroupId)
        }
        record.digest.copy(digests, 32 * ids.length)
        ids.push(record.id)
        times.push(instantMicros(record.occurredAt))
        report.records++
        if (ids.length >= maxPerSeal) await flush()
        if (report.records % RECORDS_PER_TURN === 0) await letOthersRun()
      }
    }
    await flush()
    await client.query('close sealing')
    await query('update audit_seal_state set sealed_below = ?', [end])
    return report
  })
}

/**
 * Seals until none of the practice's records from before `before` is left
 * unsealed, waiting until all of them can go in one pass rather than
 * splitting them around a transaction still running elsewhere. Such a
 * transaction holds sealing back, so this retries briefly, then gives up
 * quietly: retention deletes only sealed records, and the next run deletes
 * the rest.
 */
export async function sealPracticeBefore (em: EntityManager, practiceGroupId: number, before: Date, now: Date, patienceMs = 10_000): Promise<boolean> {
  const giveUpAt = Date.now() + patienceMs
  // Asked first: the job calls this for every practice, and most have nothing waiting.
  const waiting = (): Promise<boolean> => hasUnsealedBefore(em, practiceGroupId, before)
  for (let attempt = 0; await waiting(); attempt++) {
    if (Date.now() >= giveUpAt) return false
    if (attempt > 0) await new Promise(resolve => setTimeout(resolve, 50))
    if (await allSealableBefore(em, practiceGroupId, before)) await sealCommittedRecords(em, now)
  }
  return true
}
