import { counted, plural } from '../../plural.js'
import { formatDateTime } from '../time/zoned.js'
import type { ChainVerification } from './chain-verifier.js'

export interface VerificationInWords {
  intact: boolean
  /** What the check found, in a practice owner's words. */
  headline: string
  /** What else the owner should know, in the same words: records not checked yet, records retention deleted, what to do. */
  notes: string[]
  /** The technical findings, for whoever looks after the server or audits the chain. */
  details: string[]
  head: string
}

/** A stored instant with microseconds, to the milliseconds JavaScript dates hold. */
const millis = (stored: string): string => stored.replace(/(\.\d{3})\d*Z$/, '$1Z')

const count = (n: number, one: string, many = `${one}s`): string => counted(n, one, many)
const isAre = (n: number): string => plural(n, 'is', 'are')
const wasWere = (n: number): string => plural(n, 'was', 'were')

function signedHeadInWords (result: ChainVerification, timeZone: string): string[] {
  const lines: string[] = []
  const head = result.signedHead
  if (head) {
    lines.push(`Checked against the chain head signed on ${formatDateTime(head.at, timeZone)}, which vouches for ${count(head.records, 'sealed record')} (kept in ${head.sources.join(' and ')}).`)
    if (result.unsignedEntries > 0) lines.push(`${count(result.unsignedEntries, 'newer chain entry', 'newer chain entries')} ${isAre(result.unsignedEntries)} not signed yet: the next seal pass signs ${plural(result.unsignedEntries, 'it', 'them')}.`)
  } else if (result.entries > 0) {
    lines.push('No signed chain head was found for this chain yet: the next seal pass signs one.')
  }
  if (result.otherKeyHeads > 0) lines.push(`${count(result.otherKeyHeads, 'signed head')} made with another key ${wasWere(result.otherKeyHeads)} left aside.`)
  return lines
}

/** What a practice owner reads first: whether the records are as they were recorded, how many, and from when. */
function headlineOf (result: ChainVerification, timeZone: string): string {
  if (!result.intact) return 'The history is not exactly as recorded: something was changed, removed or added outside the app.'
  if (result.verified === 0 || !result.oldestVerified) {
    const waiting = result.awaitingSeal
    if (waiting === 0) return 'There are no records to check yet.'
    return `${plural(waiting, 'The 1 record', `None of the ${count(waiting, 'record')}`)} can be checked yet: records can be checked about a minute after they are written.`
  }
  const from = formatDateTime(millis(result.oldestVerified), timeZone)
  return plural(result.verified, `The 1 record since ${from} is exactly as recorded.`, `All ${count(result.verified, 'record')} since ${from} are exactly as recorded.`)
}

/**
 * The verification in words, with times in the practice's zone: a
 * headline and notes anyone can read, and the chain's technical details.
 */
export function describeVerification (result: ChainVerification, timeZone: string): VerificationInWords {
  const notes: string[] = []
  if (result.awaitingSeal > 0 && result.verified > 0) notes.push(`${count(result.awaitingSeal, 'newer record')} ${isAre(result.awaitingSeal)} not included yet: records can be checked about a minute after they are written.`)
  if (result.deleted > 0) notes.push(`${count(result.deleted, 'older record')} ${wasWere(result.deleted)} deleted under the retention rules; each deletion is accounted for.`)
  if (!result.intact) {
    notes.push(`${count(result.verified, 'record')} still ${plural(result.verified, 'matches', 'match')} what was recorded. Keep this result and tell whoever looks after your server: the details say what was found first.`)
  }

  const details: string[] = []
  if (!result.intact) {
    details.push(`First problem: ${result.firstProblem!.message}`)
    if (result.problems > 1) details.push(`${count(result.problems - 1, 'more problem')} after it.`)
  }
  details.push(...signedHeadInWords(result, timeZone))
  if (result.since) {
    details.push(`${count(result.verified, 'record')} matched ${plural(result.verified, 'its', 'their')} seals in ${count(result.entries, 'chain entry', 'chain entries')}, the first written on ${formatDateTime(millis(result.since), timeZone)}.`)
  }
  for (const move of result.moves) {
    details.push(`On ${formatDateTime(millis(move.at), timeZone)} the history went on in another database cluster (a restored backup); chain entry #${move.seq} records the move, and everything before it was sealed first.`)
  }
  return { intact: result.intact, headline: headlineOf(result, timeZone), notes, details, head: result.head }
}
