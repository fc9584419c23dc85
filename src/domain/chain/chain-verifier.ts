import { retentionMinimumAgeMs, type Plan } from '../plan/plan.js'
import { checkpointTooRecent } from '../plan/plan-sentences.js'
import { entryHash, GENESIS, instantMicros, recordDigest, type ChainEntry } from './chain-encoding.js'
import type { ChainRecord } from '../audit-records/chain-reads.js'

export interface ChainProblem {
  /** The chain entry where it shows, when there is one. */
  seq: number | null
  recordId: number | null
  message: string
}

export interface ChainVerification {
  intact: boolean
  /** Records present and identical to what was sealed. */
  verified: number
  /** Sealed records that retention deleted, each accounted for by a checkpoint. */
  deleted: number
  /** Records too recent to be sealed yet. */
  awaitingSeal: number
  entries: number
  /** When the oldest chain entry was written (UTC, as stored). */
  since: string | null
  /** The newest entry's hash, in hex: write it down to detect a rewrite of the whole chain later. */
  head: string
  problems: number
  /** The earliest problem in chain order. */
  firstProblem: ChainProblem | null
}

/** Where a problem sits in the chain, so the earliest one is reported first. */
type Position = [seq: number, index: number]

function before (a: Position, b: Position): boolean {
  return a[0] < b[0] || (a[0] === b[0] && a[1] < b[1])
}

function shortDate (stored: string): string {
  return `${stored.slice(0, 16).replace('T', ' ')} UTC`
}

function storedFromMicros (micros: number): string {
  return new Date(Math.floor(micros / 1000)).toISOString()
}

export interface VerifyOptions {
  /** A chain head written down earlier: it must still be in the chain, or entries were removed or rewritten since. */
  knownHead?: Buffer | null
  /** The first transaction id not yet handed out when the records were read: no record can come from at or after it. */
  futureTxFrom?: bigint | null
}

/**
 * Checks one practice's chain against its records: every entry follows the
 * one before it and hashes to what it says; every checkpoint keeps to the
 * plan's retention (its cutoff at least the free retention before it was
 * written, and only sealed records older than the cutoff); every sealed
 * record is present and unchanged, or deleted by a checkpoint; every
 * record of a sealed transaction is in a seal. `records` must come in ascending id
 * order. Memory grows with the number of sealed ids (about 20 bytes each
 * here, besides the entries themselves), never with the records' size.
 */
export async function verifyChain (
  plan: Plan, entries: readonly ChainEntry[], records: AsyncIterable<ChainRecord> | Iterable<ChainRecord>, sealedBelow: bigint, options: VerifyOptions = {}
): Promise<ChainVerification> {
  const retentionMinimumAgeMicros = retentionMinimumAgeMs(plan) * 1000
  let problems = 0
  let first: { at: Position, problem: ChainProblem } | null = null
  const report = (at: Position, problem: ChainProblem): void => {
    problems++
    if (!first || before(at, first.at)) first = { at, problem }
  }

  let previousHash: Buffer = GENESIS
  let expectedSeq = 1
  let sealedCount = 0
  let headFound = !options.knownHead
  for (const entry of entries) {
    if (entry.seq !== expectedSeq) {
      report([expectedSeq, -1], { seq: expectedSeq, recordId: null, message: `Chain entry #${expectedSeq} is missing: the chain goes on at #${entry.seq}.` })
    } else if (!entry.previousHash.equals(previousHash)) {
      report([entry.seq, -1], { seq: entry.seq, recordId: null, message: `Chain entry #${entry.seq} does not follow the entry before it: entries were removed, reordered or replaced.` })
    }
    if (!entryHash(entry).equals(entry.hash)) {
      report([entry.seq, -1], { seq: entry.seq, recordId: null, message: `Chain entry #${entry.seq} (${entry.kind} of ${shortDate(entry.createdAt)}) was altered after it was written.` })
    }
    if (entry.kind === 'checkpoint' && instantMicros(entry.cutoff!) > instantMicros(entry.createdAt) - retentionMinimumAgeMicros) {
      report([entry.seq, -1], { seq: entry.seq, recordId: null, message: checkpointTooRecent(plan, entry.seq, shortDate(entry.createdAt), shortDate(entry.cutoff!)) })
    }
    if (entry.kind === 'seal') sealedCount += entry.recordIds.length
    if (options.knownHead && entry.hash.equals(options.knownHead)) headFound = true
    previousHash = entry.hash
    expectedSeq = entry.seq + 1
  }
  if (!headFound) {
    report([Number.MAX_SAFE_INTEGER - 1, -1], { seq: null, recordId: null, message: `The chain head noted earlier (${options.knownHead!.toString('hex').slice(0, 16)}…) is no longer in the chain: entries were removed or the chain was rewritten since.` })
  }

  // Every sealed id with the entry and position that sealed it, sorted by id for lookups and a merge with the records.
  const ids = new Float64Array(sealedCount)
  const entryOf = new Int32Array(sealedCount)
  const indexIn = new Int32Array(sealedCount)
  let n = 0
  entries.forEach((entry, e) => {
    if (entry.kind !== 'seal') return
    entry.recordIds.forEach((id, i) => {
      ids[n] = id
      entryOf[n] = e
      indexIn[n] = i
      n++
    })
  })
  const order = Uint32Array.from({ length: n }, (_, i) => i).sort((a, b) => ids[a]! - ids[b]! || entryOf[a]! - entryOf[b]!)
  const positionOf = (k: number): Position => [entries[entryOf[k]!]!.seq, indexIn[k]!]
  /** Where in `order` a sealed id sits, or -1. */
  const find = (id: number): number => {
    let low = 0
    let high = n - 1
    while (low <= high) {
      const mid = (low + high) >> 1
      const value = ids[order[mid]!]!
      if (value === id) return mid
      if (value < id) low = mid + 1
      else high = mid - 1
    }
    return -1
  }
  for (let p = 1; p < n; p++) {
    if (ids[order[p]!] === ids[order[p - 1]!]) {
      const k = order[p]!
      report(positionOf(k), { seq: entries[entryOf[k]!]!.seq, recordId: ids[k]!, message: `Record #${ids[k]} is sealed twice, again in entry #${entries[entryOf[k]!]!.seq}.` })
    }
  }

  // Which sealed records each checkpoint deleted (by its seq), checked against the retention rules.
  const deletedBy = new Int32Array(n)
  entries.forEach((entry, e) => {
    if (entry.kind !== 'checkpoint') return
    const cutoff = instantMicros(entry.cutoff!)
    entry.recordIds.forEach((id, i) => {
      const p = find(id)
      const k = p < 0 ? -1 : order[p]!
      if (k < 0 || entryOf[k]! > e) {
        report([entry.seq, i], { seq: entry.seq, recordId: id, message: `Checkpoint #${entry.seq} deletes record #${id}, which no earlier seal holds.` })
        return
      }
      const time = entries[entryOf[k]!]!.recordTimes?.[indexIn[k]!]
      if (time !== undefined && time >= cutoff) {
        report([entry.seq, i], { seq: entry.seq, recordId: id, message: `Checkpoint #${entry.seq} deletes record #${id} of ${shortDate(storedFromMicros(time))}, which was not older than its cutoff (${shortDate(entry.cutoff!)}).` })
      }
      deletedBy[p] = entry.seq
    })
  })

  let verified = 0
  let deleted = 0
  let awaitingSeal = 0
  let p = 0
  const missing = (q: number): void => {
    const k = order[q]!
    if (deletedBy[q]! > 0) {
      deleted++
      return
    }
    const entry = entries[entryOf[k]!]!
    report(positionOf(k), { seq: entry.seq, recordId: ids[k]!, message: `Record #${ids[k]}, sealed in entry #${entry.seq} on ${shortDate(entry.createdAt)}, is missing: it was deleted without a checkpoint.` })
  }

  for await (const record of records) {
    while (p < n && ids[order[p]!]! < record.id) missing(p++)
    if (p < n && ids[order[p]!]! === record.id) {
      const q = p++
      while (p < n && ids[order[p]!]! === record.id) p++
      const k = order[q]!
      const entry = entries[entryOf[k]!]!
      if (deletedBy[q]! > 0) {
        report(positionOf(k), { seq: entry.seq, recordId: record.id, message: `Record #${record.id} is present although checkpoint #${deletedBy[q]} deleted it.` })
      } else if (!recordDigest(record).equals(entry.recordDigests!.subarray(32 * indexIn[k]!, 32 * indexIn[k]! + 32))) {
        report(positionOf(k), { seq: entry.seq, recordId: record.id, message: `Record #${record.id} (${shortDate(record.occurredAt)}) differs from what entry #${entry.seq} sealed: it was changed after it was recorded.` })
      } else {
        verified++
      }
    } else if (BigInt(record.txId) < sealedBelow) {
      report([Number.MAX_SAFE_INTEGER, record.id], { seq: null, recordId: record.id, message: `Record #${record.id} (${shortDate(record.occurredAt)}) is in no seal although everything written at its time was sealed: it was inserted afterwards.` })
    } else if (options.futureTxFrom != null && BigInt(record.txId) >= options.futureTxFrom) {
      report([Number.MAX_SAFE_INTEGER, record.id], { seq: null, recordId: record.id, message: `Record #${record.id} (${shortDate(record.occurredAt)}) claims a transaction that has not happened yet: it was forged.` })
    } else {
      awaitingSeal++
    }
  }
  while (p < n) missing(p++)

  const found = first as { problem: ChainProblem } | null
  return {
    intact: problems === 0,
    verified,
    deleted,
    awaitingSeal,
    entries: entries.length,
    since: entries[0]?.createdAt ?? null,
    head: previousHash.toString('hex'),
    problems,
    firstProblem: found?.problem ?? null
  }
}
