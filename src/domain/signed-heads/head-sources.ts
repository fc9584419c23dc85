import type { Query } from '../chain/chain-store.js'
import type { ChainKey } from './chain-key.js'
import { linesFromEnd, parseHeadLine } from './head-files.js'
import { newestSignedHeads } from './head-store.js'
import { readSignedHead, type HeadFacts } from './signed-head.js'

/** A signed head whose signature checked out, and where it was found. */
export interface VouchingHead {
  facts: HeadFacts
  source: string
}

export interface GatheredHeads {
  /** The newest valid head from each place that had one. */
  heads: VouchingHead[]
  /** Heads that claim this key but do not carry its signature: someone altered them. */
  forged: Array<{ source: string, seq: number | null }>
  /** Heads of another key (one used before this one, or a stranger's), left aside. */
  otherKey: number
}

export const DATABASE_SOURCE = 'the database'

/** How many of the newest stored heads are read looking for a valid one, before giving up on the database as a source. */
const DATABASE_LOOKBACK = 50

/**
 * The newest valid signed head of a practice in the database and in each
 * heads file. A head the key did not sign is never used; one that claims
 * the key and fails its signature is reported as forged.
 */
export async function gatherHeads (query: Query, key: ChainKey, practiceGroupId: number, files: ReadonlyArray<{ path: string, label: string }>): Promise<GatheredHeads> {
  const gathered: GatheredHeads = { heads: [], forged: [], otherKey: 0 }
  const consider = (source: string, signed: { payload: string, signature: Buffer }): boolean => {
    const reading = readSignedHead(key, signed)
    if (reading.facts && reading.facts.practice !== practiceGroupId) return false
    if (reading.valid) {
      gathered.heads.push({ facts: reading.facts, source })
      return true
    }
    if (reading.why === 'other key') gathered.otherKey++
    else gathered.forged.push({ source, seq: reading.facts?.seq ?? null })
    return false
  }
  for (const stored of await newestSignedHeads(query, practiceGroupId, DATABASE_LOOKBACK)) {
    if (stored.practiceGroupId === practiceGroupId && consider(DATABASE_SOURCE, stored)) break
  }
  for (const file of files) {
    for await (const line of linesFromEnd(file.path)) {
      const signed = parseHeadLine(line)
      // A last line cut short by a crash is not a forgery, so lines that are no head at all are passed over.
      if (signed && consider(file.label, signed)) break
    }
  }
  return gathered
}
