import { counted, plural } from '../../plural.js'
import { formatDateTime } from '../time/zoned.js'
import type { ChainVerification } from './chain-verifier.js'

export interface VerificationInWords {
  intact: boolean
  headline: string
  details: string[]
  head: string
}

/** A stored instant with microseconds, to the milliseconds JavaScript dates hold. */
const millis = (stored: string): string => stored.replace(/(\.\d{3})\d*Z$/, '$1Z')

function signedHeadInWords (result: ChainVerification, timeZone: string): string[] {
  const lines: string[] = []
  const head = result.signedHead
  if (head) {
    lines.push(`Checked against the chain head signed on ${formatDateTime(head.at, timeZone)}, which vouches for ${counted(head.records, 'sealed record', 'sealed records')} (kept in ${head.sources.join(' and ')}).`)
    if (result.unsignedEntries > 0) lines.push(`${counted(result.unsignedEntries, 'newer chain entry', 'newer chain entries')} ${plural(result.unsignedEntries, 'is', 'are')} not signed yet: the next seal pass signs ${plural(result.unsignedEntries, 'it', 'them')}.`)
  } else if (result.entries > 0) {
    lines.push('No signed chain head was found for this chain yet: the next seal pass signs one.')
  }
  if (result.otherKeyHeads > 0) lines.push(`${counted(result.otherKeyHeads, 'signed head', 'signed heads')} made with another key ${plural(result.otherKeyHeads, 'was', 'were')} left aside.`)
  return lines
}

/** The verification in words, with times in the practice's zone. */
export function describeVerification (result: ChainVerification, timeZone: string): VerificationInWords {
  const since = result.since ? formatDateTime(millis(result.since), timeZone) : null
  const details: string[] = []
  if (result.deleted > 0) details.push(`${counted(result.deleted, 'record', 'records')} deleted by retention ${plural(result.deleted, 'is', 'are')} accounted for by checkpoints.`)
  if (result.awaitingSeal > 0) details.push(`${counted(result.awaitingSeal, 'record', 'records')} ${plural(result.awaitingSeal, 'is', 'are')} not sealed yet, so not checked (the sealer adds new records within a minute).`)
  for (const move of result.moves) {
    details.push(`On ${formatDateTime(millis(move.at), timeZone)} the history went on in another database cluster (a restored backup); chain entry #${move.seq} records the move, and everything before it was sealed first.`)
  }
  details.push(...signedHeadInWords(result, timeZone))
  if (!result.intact) {
    details.unshift(result.firstProblem!.message)
    if (result.problems > 1) details.push(`${counted(result.problems - 1, 'more problem', 'more problems')} after it.`)
    details.push(`${counted(result.verified, 'record', 'records')} still ${plural(result.verified, 'matches its', 'match their')} seal.`)
    return { intact: false, headline: 'The chain is broken. The first break:', details, head: result.head }
  }
  const headline = since
    ? `${counted(result.verified, 'record', 'records')} verified, chain intact since ${since}.`
    : 'Nothing has been sealed yet: the sealer adds records within a minute of their being written.'
  return { intact: true, headline, details, head: result.head }
}
