import { formatDateTime } from '../time/zoned.js'
import type { ChainVerification } from './chain-verifier.js'

export interface VerificationInWords {
  intact: boolean
  headline: string
  details: string[]
  head: string
}

const count = (n: number, one: string, many = `${one}s`): string => `${n.toLocaleString('en-AU')} ${n === 1 ? one : many}`

function signedHeadInWords (result: ChainVerification, timeZone: string): string[] {
  const lines: string[] = []
  const head = result.signedHead
  if (head) {
    lines.push(`Checked against the chain head signed on ${formatDateTime(head.at, timeZone)}, which vouches for ${count(head.records, 'sealed record')} (kept in ${head.sources.join(' and ')}).`)
    if (result.unsignedEntries > 0) lines.push(`${count(result.unsignedEntries, 'newer chain entry', 'newer chain entries')} ${result.unsignedEntries === 1 ? 'is' : 'are'} not signed yet: the next seal pass signs ${result.unsignedEntries === 1 ? 'it' : 'them'}.`)
  } else if (result.entries > 0) {
    lines.push('No signed chain head was found for this chain yet: the next seal pass signs one.')
  }
  if (result.otherKeyHeads > 0) lines.push(`${count(result.otherKeyHeads, 'signed head')} made with another key ${result.otherKeyHeads === 1 ? 'was' : 'were'} left aside.`)
  return lines
}

/** The verification in words, with times in the practice's zone. */
export function describeVerification (result: ChainVerification, timeZone: string): VerificationInWords {
  const since = result.since ? formatDateTime(result.since.replace(/(\.\d{3})\d*Z$/, '$1Z'), timeZone) : null
  const details: string[] = []
  if (result.deleted > 0) details.push(`${count(result.deleted, 'record')} deleted by retention ${result.deleted === 1 ? 'is' : 'are'} accounted for by checkpoints.`)
  if (result.awaitingSeal > 0) details.push(`${count(result.awaitingSeal, 'record')} ${result.awaitingSeal === 1 ? 'is' : 'are'} not sealed yet, so not checked (the sealer adds new records within a minute).`)
  details.push(...signedHeadInWords(result, timeZone))
  if (!result.intact) {
    details.unshift(result.firstProblem!.message)
    if (result.problems > 1) details.push(`${count(result.problems - 1, 'more problem')} after it.`)
    details.push(`${count(result.verified, 'record')} still ${result.verified === 1 ? 'matches its' : 'match their'} seal.`)
    return { intact: false, headline: 'The chain is broken. The first break:', details, head: result.head }
  }
  const headline = since
    ? `${count(result.verified, 'record')} verified, chain intact since ${since}.`
    : 'Nothing has been sealed yet: the sealer adds records within a minute of their being written.'
  return { intact: true, headline, details, head: result.head }
}
