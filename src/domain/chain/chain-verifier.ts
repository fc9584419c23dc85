import { retentionMinimumAgeMs, type Plan } from '../plan/plan.js'
import { checkpointTooRecent } from '../plan/plan-sentences.js'
import { counted, formatNumber } from '../../plural.js'
import { entryHash, GENESIS, instantMicros, recordDigest, type ChainEntry } from './chain-encoding.js'
import type { ChainRecord } from '../audit-records/chain-reads.js'
import { DATABASE_SOURCE, type GatheredHeads, type VouchingHead } from '../signed-heads/head-sources.js'

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
  /** When the oldest record found as it was sealed was recorded (UTC, as stored): where what was checked begins. */
  oldestVerified: string | null
  /** The newest entry's hash, in hex: write it down to detect a rewrite of the whole chain later. */
  head: string
  problems: number
  /** The earliest problem in chain order. */
  firstProblem: ChainProblem | null
  /** The newest signed head the chain was checked against, and every place that held it. */
  signedHead: { seq: number, at: string, records: number, sources: string[] } | null
  /** Chain entries newer than that head: signed by the next seal pass, and until then vouched for by nothing outside the database. */
  unsignedEntries: number
  /** Signed heads of another key, left aside. */
  otherKeyHeads: number
  /** When the history went on in another database cluster (a restored backup), as its chain records. */
  moves: Array<{ seq: number, at: string }>
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
  /** Signed heads found in the database and outside it: the chain must still hold each one. */
  signedHeads?: GatheredHeads
}

/** Orders problems with signed heads before a record's, after the entries they name. */
const HEAD_PROBLEM = -2

function sameHeads (a: VouchingHead, b: VouchingHead): boolean {
  return a.facts.seq === b.facts.seq && a.facts.head === b.facts.head && a.facts.records === b.facts.records
}

/** The newest of the valid heads, with the places that hold that same head. */
function newestHead (heads: readonly VouchingHead[]): ChainVerification['signedHead'] {
  const newest = heads.reduce<VouchingHead | null>((best, head) => !best || head.facts.seq > best.facts.seq ? head : best, null)
  if (!newest) return null
  const { seq, at, records } = newest.facts
  return { seq, at, records, sources: heads.filter(head => sameHeads(head, newest)).map(head => head.source) }
}

/**
 * Every signed head found must still be in the chain, unchanged, with as
 * many records sealed up to it as it says; a head kept outside the
 * database that the database no longer holds means heads were removed.
 */
function checkSignedHeads (
  gathered: GatheredHeads | undefined, sealedUpTo: ReadonlyMap<number, { hash: Buffer, records: number }>, lastSeq: number,
  report: (at: Position, problem: ChainProblem) => void
): void {
  const heads = gathered?.heads ?? []
  const newestInDatabase = Math.max(0, ...heads.filter(head => head.source === DATABASE_SOURCE).map(head => head.facts.seq))
  let removalReported = false
  for (const { facts, source } of heads) {
    const signedOn = `the head signed on ${shortDate(facts.at)} (kept in ${source})`
    const there = sealedUpTo.get(facts.seq)
    if (!there && facts.seq > lastSeq) {
      report([facts.seq, HEAD_PROBLEM], { seq: facts.seq, recordId: null, message: `The chain ends at entry #${lastSeq}, but ${signedOn} vouches for entry #${facts.seq}: newer entries and their records were cut off.` })
    } else if (!there || there.hash.toString('hex') !== facts.head) {
      report([facts.seq, HEAD_PROBLEM], { seq: facts.seq, recordId: null, message: `Chain entry #${facts.seq} is not the one ${signedOn} vouches for: the chain was rewritten under a signed head.` })
    } else if (there.records !== facts.records) {
      report([facts.seq, HEAD_PROBLEM], { seq: facts.seq, recordId: null, message: `The seals up to chain entry #${facts.seq} hold ${counted(there.records, 'record', 'records')}, but ${signedOn} says ${formatNumber(facts.records)}: the chain was rewritten under a signed head.` })
    } else if (facts.seq > newestInDatabase && !removalReported) {
      removalReported = true
      report([facts.seq, HEAD_PROBLEM], { seq: facts.seq, recordId: null, message: `The database no longer holds ${signedOn}, nor any newer one: signed heads were removed from the database.` })
    }
  }
  for (const { source, seq } of gathered?.forged ?? []) {
    report([seq ?? Number.MAX_SAFE_INTEGER - 1, HEAD_PROBLEM], { seq, recordId: null, message: `A signed head${seq ? ` for entry #${seq}` : ''} in ${source} does not carry this key's signature: it was altered or made by someone without the key.` })
  }
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
  const sealedUpTo = new Map<number, { hash: Buffer, records: number }>()
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
    sealedUpTo.set(entry.seq, { hash: entry.hash, records: sealedCount })
    if (options.knownHead && entry.hash.equals(options.knownHead)) headFound = true
    previousHash = entry.hash
    expectedSeq = entry.seq + 1
  }
  if (!headFound) {
    report([Number.MAX_SAFE_INTEGER - 1, -1], { seq: null, recordId: null, message: `The chain head noted earlier (${options.knownHead!.toString('hex').slice(0, 16)}…) is no longer in the chain: entries were removed or the chain was rewritten since.` })
  }

  const heads = options.signedHeads?.heads ?? []
  checkSignedHeads(options.signedHeads, sealedUpTo, entries.at(-1)?.seq ?? 0, report)
  const signedHead = newestHead(heads)

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
  let oldestVerified: string | null = null
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
        if (oldestVerified === null || instantMicros(record.occurredAt) < instantMicros(oldestVerified)) oldestVerified = record.occurredAt
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
    oldestVerified,
    head: previousHash.toString('hex'),
    problems,
    firstProblem: found?.problem ?? null,
    signedHead,
    unsignedEntries: signedHead ? entries.filter(entry => entry.seq > signedHead.seq).length : entries.length,
    otherKeyHeads: options.signedHeads?.otherKey ?? 0,
    moves: entries.filter(entry => entry.kind === 'move').map(entry => ({ seq: entry.seq, at: entry.createdAt }))
  }
}
