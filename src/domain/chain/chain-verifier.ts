import { retentionMinimumAgeMs, type Plan } from '../plan/plan.js'
import { checkpointTooRecent } from '../plan/plan-sentences.js'
import { counted, formatNumber } from '../../plural.js'
import { entryHash, GENESIS, instantMicros, type ChainEntry } from './chain-encoding.js'
import type { ChainRecord } from '../audit-records/chain-reads.js'
import { letOthersRun, RECORDS_PER_TURN } from './turns.js'
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

/** One chain entry as verifying reads it: with those of the records it seals that still exist, in any order. */
export interface EntryWithRecords {
  entry: ChainEntry
  records: readonly ChainRecord[]
}

/** Where a seal lists an id: its entry and the id's place in the entry's list. */
export interface SealPosition {
  id: number
  seq: number
  index: number
}

/** What verifying reads from the database, in the order it reads it. */
export interface ChainReader {
  /** The chain's entries in order, each seal with its records. */
  entries: AsyncIterable<EntryWithRecords> | Iterable<EntryWithRecords>
  /** Ids that more than one seal lists: none, in a chain nobody tampered with. */
  sealedTwice: ReadonlySet<number>
  /** Where seals list these ids, and which of them a record still has: asked only about a checkpoint that deletes records not found missing. */
  lookUp: (ids: readonly number[]) => Promise<{ sealedAt: readonly SealPosition[], present: ReadonlySet<number> }>
  /**
   * The practice's records that no seal lists, in id order. `sealedFound`
   * is how many of the practice's records from before the sealing
   * position the seals found, which lets a reader that counts them tell
   * that none is missing from the seals without looking.
   */
  unsealed: (sealedFound: number) => AsyncIterable<ChainRecord> | Iterable<ChainRecord>
}

/** A sealed record found missing, until a later checkpoint says retention deleted it. */
interface Missing {
  seq: number
  index: number
  sealedOn: string
  time: number | undefined
}

/**
 * Checks one practice's chain against its records in one pass in chain
 * order: every entry follows the one before it and hashes to what it says;
 * every checkpoint keeps to the plan's retention (its cutoff at least the
 * free retention before it was written, and only sealed records older than
 * the cutoff); every sealed record is present and unchanged, or deleted by
 * a later checkpoint; every record of a sealed transaction is in a seal.
 * Only one entry is held at a time, with the sealed records found missing
 * until a checkpoint accounts for them: memory does not grow with the chain.
 * Requests to the same server get their turn every few hundred records.
 */
export async function verifyChain (plan: Plan, reader: ChainReader, sealedBelow: bigint, options: VerifyOptions = {}): Promise<ChainVerification> {
  const retentionMinimumAgeMicros = retentionMinimumAgeMs(plan) * 1000
  let problems = 0
  let first: { at: Position, problem: ChainProblem } | null = null
  const report = (at: Position, problem: ChainProblem): void => {
    problems++
    if (!first || before(at, first.at)) first = { at, problem }
  }

  const heads = options.signedHeads?.heads ?? []
  const signedHead = newestHead(heads)
  const headSeqs = new Set(heads.map(head => head.facts.seq))
  const sealedUpTo = new Map<number, { hash: Buffer, records: number }>()
  let previousHash: Buffer = GENESIS
  let expectedSeq = 1
  let lastSeq = 0
  let entries = 0
  let since: string | null = null
  let unsignedEntries = 0
  const moves: ChainVerification['moves'] = []
  let sealedCount = 0
  let headFound = !options.knownHead

  let verified = 0
  let oldestVerified: string | null = null
  let deleted = 0
  /** Records of the practice from before the sealing position found in seals, each counted once. */
  let sealedFound = 0
  /** Sealed records left out of that count (changed ones, or a transaction after the sealing position): already judged by their seal. */
  const uncounted = new Set<number>()
  const missing = new Map<number, Missing>()
  const seenOnce = new Set<number>()

  let checked = 0
  const checkSeal = async (entry: ChainEntry, records: readonly ChainRecord[]): Promise<void> => {
    const byId = new Map(records.map(record => [record.id, record]))
    for (const [index, id] of entry.recordIds.entries()) {
      if (++checked % RECORDS_PER_TURN === 0) await letOthersRun()
      if (reader.sealedTwice.has(id)) {
        if (seenOnce.has(id)) {
          report([entry.seq, index], { seq: entry.seq, recordId: id, message: `Record #${id} is sealed twice, again in entry #${entry.seq}.` })
          continue
        }
        seenOnce.add(id)
      }
      const record = byId.get(id)
      if (!record) {
        missing.set(id, { seq: entry.seq, index, sealedOn: entry.createdAt, time: entry.recordTimes?.[index] })
        continue
      }
      if (record.digest.compare(entry.recordDigests!, 32 * index, 32 * index + 32) !== 0) {
        uncounted.add(id)
        report([entry.seq, index], { seq: entry.seq, recordId: id, message: `Record #${id} (${shortDate(record.occurredAt)}) differs from what entry #${entry.seq} sealed: it was changed after it was recorded.` })
      } else {
        if (BigInt(record.txId) < sealedBelow) sealedFound++
        else uncounted.add(id)
        verified++
        // The stored form sorts as its instants do.
        if (oldestVerified === null || record.occurredAt < oldestVerified) oldestVerified = record.occurredAt
      }
    }
  }

  const checkCheckpoint = async (entry: ChainEntry): Promise<void> => {
    const cutoff = instantMicros(entry.cutoff!)
    const unexplained: number[] = []
    entry.recordIds.forEach((id, index) => {
      const sealed = missing.get(id)
      if (!sealed) {
        unexplained.push(index)
        return
      }
      missing.delete(id)
      deleted++
      if (sealed.time !== undefined && sealed.time >= cutoff) {
        report([entry.seq, index], { seq: entry.seq, recordId: id, message: `Checkpoint #${entry.seq} deletes record #${id} of ${shortDate(storedFromMicros(sealed.time))}, which was not older than its cutoff (${shortDate(entry.cutoff!)}).` })
      }
    })
    if (unexplained.length === 0) return
    const { sealedAt, present } = await reader.lookUp(unexplained.map(index => entry.recordIds[index]!))
    for (const index of unexplained) {
      const id = entry.recordIds[index]!
      const seal = sealedAt.find(position => position.id === id && position.seq < entry.seq)
      if (!seal) {
        report([entry.seq, index], { seq: entry.seq, recordId: id, message: `Checkpoint #${entry.seq} deletes record #${id}, which no earlier seal holds.` })
      } else if (present.has(id)) {
        report([seal.seq, seal.index], { seq: seal.seq, recordId: id, message: `Record #${id} is present although checkpoint #${entry.seq} deleted it.` })
      }
    }
  }

  for await (const { entry, records } of reader.entries) {
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
    if (entry.kind === 'seal') {
      sealedCount += entry.recordIds.length
      await checkSeal(entry, records)
    } else if (entry.kind === 'checkpoint') {
      await checkCheckpoint(entry)
    } else {
      moves.push({ seq: entry.seq, at: entry.createdAt })
    }
    if (headSeqs.has(entry.seq)) sealedUpTo.set(entry.seq, { hash: entry.hash, records: sealedCount })
    if (options.knownHead && entry.hash.equals(options.knownHead)) headFound = true
    if (!signedHead || entry.seq > signedHead.seq) unsignedEntries++
    since ??= entry.createdAt
    entries++
    lastSeq = entry.seq
    previousHash = entry.hash
    expectedSeq = entry.seq + 1
  }
  if (!headFound) {
    report([Number.MAX_SAFE_INTEGER - 1, -1], { seq: null, recordId: null, message: `The chain head noted earlier (${options.knownHead!.toString('hex').slice(0, 16)}…) is no longer in the chain: entries were removed or the chain was rewritten since.` })
  }
  checkSignedHeads(options.signedHeads, sealedUpTo, lastSeq, report)
  for (const [id, { seq, index, sealedOn }] of missing) {
    report([seq, index], { seq, recordId: id, message: `Record #${id}, sealed in entry #${seq} on ${shortDate(sealedOn)}, is missing: it was deleted without a checkpoint.` })
  }

  let awaitingSeal = 0
  for await (const record of reader.unsealed(sealedFound)) {
    if (uncounted.has(record.id)) continue
    if (BigInt(record.txId) < sealedBelow) {
      report([Number.MAX_SAFE_INTEGER, record.id], { seq: null, recordId: record.id, message: `Record #${record.id} (${shortDate(record.occurredAt)}) is in no seal although everything written at its time was sealed: it was inserted afterwards.` })
    } else if (options.futureTxFrom != null && BigInt(record.txId) >= options.futureTxFrom) {
      report([Number.MAX_SAFE_INTEGER, record.id], { seq: null, recordId: record.id, message: `Record #${record.id} (${shortDate(record.occurredAt)}) claims a transaction that has not happened yet: it was forged.` })
    } else {
      awaitingSeal++
    }
  }

  const found = first as { problem: ChainProblem } | null
  return {
    intact: problems === 0,
    verified,
    deleted,
    awaitingSeal,
    entries,
    since,
    oldestVerified,
    head: previousHash.toString('hex'),
    problems,
    firstProblem: found?.problem ?? null,
    signedHead,
    unsignedEntries,
    otherKeyHeads: options.signedHeads?.otherKey ?? 0,
    moves
  }
}
