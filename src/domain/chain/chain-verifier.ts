import { entryHash, GENESIS, recordDigest, type ChainEntry, type ChainRecord } from './chain-encoding.js'

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

/**
 * Checks one practice's chain against its records: every entry follows the
 * one before it and hashes to what it says; every sealed record is present
 * and unchanged, or deleted by a checkpoint; every record of a sealed
 * transaction is in a seal. `records` must come in ascending id order.
 * Memory grows with the number of sealed ids (about 20 bytes each), never
 * with the records' size.
 */
export async function verifyChain (
  entries: readonly ChainEntry[], records: AsyncIterable<ChainRecord> | Iterable<ChainRecord>, sealedBelow: bigint
): Promise<ChainVerification> {
  let problems = 0
  let first: { at: Position, problem: ChainProblem } | null = null
  const report = (at: Position, problem: ChainProblem): void => {
    problems++
    if (!first || before(at, first.at)) first = { at, problem }
  }

  let previousHash: Buffer = GENESIS
  let expectedSeq = 1
  let sealedCount = 0
  for (const entry of entries) {
    if (entry.seq !== expectedSeq) {
      report([expectedSeq, -1], { seq: expectedSeq, recordId: null, message: `Chain entry #${expectedSeq} is missing: the chain goes on at #${entry.seq}.` })
    } else if (!entry.previousHash.equals(previousHash)) {
      report([entry.seq, -1], { seq: entry.seq, recordId: null, message: `Chain entry #${entry.seq} does not follow the entry before it: entries were removed, reordered or replaced.` })
    }
    if (!entryHash(entry).equals(entry.hash)) {
      report([entry.seq, -1], { seq: entry.seq, recordId: null, message: `Chain entry #${entry.seq} (${entry.kind} of ${shortDate(entry.createdAt)}) was altered after it was written.` })
    }
    if (entry.kind === 'seal') sealedCount += entry.recordIds.length
    previousHash = entry.hash
    expectedSeq = entry.seq + 1
  }

  // Every sealed id with the entry and position that sealed it, sorted by id for a merge with the records.
  const ids = new Float64Array(sealedCount)
  const entryOf = new Int32Array(sealedCount)
  const indexIn = new Int32Array(sealedCount)
  let n = 0
  const deletedBy = new Map<number, number>()
  const sealedSoFar = new Set<number>()
  entries.forEach((entry, e) => {
    if (entry.kind === 'seal') {
      entry.recordIds.forEach((id, i) => {
        ids[n] = id
        entryOf[n] = e
        indexIn[n] = i
        n++
        sealedSoFar.add(id)
      })
      return
    }
    entry.recordIds.forEach((id, i) => {
      if (!sealedSoFar.has(id)) {
        report([entry.seq, i], { seq: entry.seq, recordId: id, message: `Checkpoint #${entry.seq} deletes record #${id}, which no earlier seal holds.` })
      }
      deletedBy.set(id, entry.seq)
    })
  })
  sealedSoFar.clear()
  const order = Uint32Array.from({ length: n }, (_, i) => i).sort((a, b) => ids[a]! - ids[b]!)

  const positionOf = (k: number): Position => [entries[entryOf[k]!]!.seq, indexIn[k]!]
  let verified = 0
  let deleted = 0
  let awaitingSeal = 0
  let p = 0
  const missing = (k: number): void => {
    const id = ids[k]!
    if (deletedBy.has(id)) {
      deleted++
      return
    }
    const entry = entries[entryOf[k]!]!
    report(positionOf(k), { seq: entry.seq, recordId: id, message: `Record #${id}, sealed in entry #${entry.seq} on ${shortDate(entry.createdAt)}, is missing: it was deleted without a checkpoint.` })
  }

  for await (const record of records) {
    while (p < n && ids[order[p]!]! < record.id) missing(order[p++]!)
    if (p < n && ids[order[p]!]! === record.id) {
      const k = order[p++]!
      const entry = entries[entryOf[k]!]!
      const deletedAt = deletedBy.get(record.id)
      if (deletedAt !== undefined) {
        report(positionOf(k), { seq: entry.seq, recordId: record.id, message: `Record #${record.id} is present although checkpoint #${deletedAt} deleted it.` })
      } else if (!recordDigest(record).equals(entry.recordDigests!.subarray(32 * indexIn[k]!, 32 * indexIn[k]! + 32))) {
        report(positionOf(k), { seq: entry.seq, recordId: record.id, message: `Record #${record.id} (${shortDate(record.occurredAt)}) differs from what entry #${entry.seq} sealed: it was changed after it was recorded.` })
      } else {
        verified++
      }
    } else if (BigInt(record.txId) < sealedBelow) {
      report([Number.MAX_SAFE_INTEGER, record.id], { seq: null, recordId: record.id, message: `Record #${record.id} (${shortDate(record.occurredAt)}) is in no seal although everything written at its time was sealed: it was inserted afterwards.` })
    } else {
      awaitingSeal++
    }
  }
  while (p < n) missing(order[p++]!)

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
