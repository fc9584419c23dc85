import type { EntityManager } from '@mikro-orm/core'
import { inPgTransaction, sqlIn } from '../../db/sql.js'
import { clientQuery, lockSealing } from '../chain/chain-store.js'
import type { ChainKey } from './chain-key.js'
import { appendHeads, headsFile, linesFromEnd, parseHeadLine } from './head-files.js'
import { chainsAheadOfTheirSignedHead, insertSignedHead, recordsSealedBetween, signedHeadsAfter, type StoredHead } from './head-store.js'
import { headDigest, parsePayload, readSignedHead, signHead } from './signed-head.js'

/**
 * Signs the head of every chain that moved since its last signed head (a
 * seal, a retention checkpoint, or a chain that was never signed). Runs
 * under the sealing lock, so no chain moves while it is signed and two
 * instances never sign one position twice. Returns what it signed, for
 * the copies kept outside the database.
 */
export async function signMovedHeads (em: EntityManager, key: ChainKey, now: Date): Promise<StoredHead[]> {
  return inPgTransaction(em, 'begin', async client => {
    const query = clientQuery(client)
    await lockSealing(query)
    const signed: StoredHead[] = []
    for (const chain of await chainsAheadOfTheirSignedHead(query)) {
      const before = chain.signed ? readSignedHead(key, chain.signed) : null
      // A previous head this key cannot vouch for is not built on: the count starts again from the chain itself.
      const base = before?.valid ? before.facts : null
      const records = (base?.records ?? 0) + await recordsSealedBetween(query, chain.practiceGroupId, base?.seq ?? 0, chain.seq)
      const at = now.toISOString()
      const head = signHead(key, {
        practice: chain.practiceGroupId, seq: chain.seq, head: chain.hash.toString('hex'), records, at,
        previous: base ? headDigest(chain.signed!.payload) : null, key: key.fingerprint
      })
      await insertSignedHead(query, chain.practiceGroupId, chain.seq, at, head)
      signed.push({ practiceGroupId: chain.practiceGroupId, seq: chain.seq, ...head })
    }
    return signed
  })
}

/** The chain position of the newest head a practice's file holds, or 0. */
async function newestFiledSeq (file: string): Promise<number> {
  for await (const line of linesFromEnd(file)) {
    const head = parseHeadLine(line)
    const facts = head && parsePayload(head.payload)
    if (facts) return facts.seq
  }
  return 0
}

/**
 * Copies the practices' signed heads into their files outside the
 * database, from wherever each file ends: a copy missed when the disk was
 * full or the process stopped is made up by the next pass.
 */
export async function fileSignedHeads (em: EntityManager, dir: string, practiceGroupIds: Iterable<number>): Promise<number> {
  const query = sqlIn(em)
  let filed = 0
  for (const practiceGroupId of new Set(practiceGroupIds)) {
    const file = headsFile(dir, practiceGroupId)
    for (let after = await newestFiledSeq(file); ;) {
      const heads = await signedHeadsAfter(query, practiceGroupId, after, 1000)
      if (heads.length === 0) break
      await appendHeads(file, heads)
      filed += heads.length
      after = heads.at(-1)!.seq
    }
  }
  return filed
}

/** One pass of both: sign what moved, then bring the copies outside the database up to date. */
export async function signAndFileHeads (em: EntityManager, key: ChainKey, dir: string, now: Date): Promise<StoredHead[]> {
  const signed = await signMovedHeads(em.fork(), key, now)
  await fileSignedHeads(em.fork(), dir, signed.map(head => head.practiceGroupId))
  return signed
}
