import type { Query } from '../chain/chain-store.js'
import { publicKeyFromPem, type ChainKey } from './chain-key.js'
import { signedHeadsCovering } from './head-store.js'
import { readSignedHead, type HeadFacts } from './signed-head.js'

export const RECEIPT_KIND = 'Practice Audit signed chain heads'

/** Signed heads that vouch for a period of one practice's history, with the public key to check them by: verifiable with no access to the app. */
export interface Receipt {
  receipt: typeof RECEIPT_KIND
  practice: { id: number, name: string }
  period: { from: string, to: string }
  publicKey: string
  fingerprint: string
  heads: Array<{ payload: string, signature: string }>
}

export async function buildReceipt (query: Query, key: ChainKey, practice: { id: number, name: string }, from: Date, to: Date): Promise<Receipt> {
  const heads = await signedHeadsCovering(query, practice.id, from, to)
  return {
    receipt: RECEIPT_KIND,
    practice: { id: practice.id, name: practice.name },
    period: { from: from.toISOString(), to: to.toISOString() },
    publicKey: key.publicKeyPem,
    fingerprint: key.fingerprint,
    heads: heads.map(head => ({ payload: head.payload, signature: head.signature.toString('base64') }))
  }
}

export interface ReceiptCheck {
  valid: boolean
  fingerprint: string | null
  /** The heads in chain order, each checked. */
  heads: HeadFacts[]
  problems: string[]
}

/**
 * Checks a receipt offline: every head signed by the key (the receipt's
 * own, or `trustedKey` when the practice's published key is at hand), of
 * the practice it names, in chain order, with time and record counts that
 * only move forward. A receipt proves what the key's holder signed: its
 * fingerprint must be compared with the one the practice published.
 */
export function checkReceipt (text: string, trustedKey: ChainKey | null = null): ReceiptCheck {
  const problems: string[] = []
  let receipt: Partial<Receipt>
  try {
    receipt = JSON.parse(text) as Partial<Receipt>
  } catch {
    return { valid: false, fingerprint: null, heads: [], problems: ['This is not a receipt: it is not JSON.'] }
  }
  if (receipt?.receipt !== RECEIPT_KIND || !Array.isArray(receipt.heads) || typeof receipt.practice?.id !== 'number') {
    return { valid: false, fingerprint: null, heads: [], problems: [`This is not a receipt: it does not say "${RECEIPT_KIND}" with a practice and its heads.`] }
  }
  let key: ChainKey
  try {
    key = trustedKey ?? publicKeyFromPem(String(receipt.publicKey))
  } catch (err) {
    return { valid: false, fingerprint: null, heads: [], problems: [`The receipt's public key cannot be read: ${(err as Error).message}.`] }
  }
  if (receipt.fingerprint !== key.fingerprint) problems.push(`The receipt names key ${String(receipt.fingerprint)}, but its heads are checked with key ${key.fingerprint}.`)
  const heads: HeadFacts[] = []
  receipt.heads.forEach((head, i) => {
    const reading = typeof head?.payload === 'string' && typeof head.signature === 'string'
      ? readSignedHead(key, { payload: head.payload, signature: Buffer.from(head.signature, 'base64') })
      : null
    if (!reading?.valid) {
      problems.push(`Head ${i + 1} ${reading?.why === 'other key' ? 'was signed by another key' : reading?.why === 'bad signature' ? 'does not match its signature: it was altered' : 'is not a signed head'}.`)
      return
    }
    const facts = reading.facts
    if (facts.practice !== receipt.practice!.id) problems.push(`Head ${i + 1} belongs to practice #${facts.practice}, not #${receipt.practice!.id}.`)
    const before = heads.at(-1)
    if (before && (facts.seq <= before.seq || facts.at < before.at || facts.records < before.records)) {
      problems.push(`Head ${i + 1} (entry #${facts.seq}) does not come after head ${i} (entry #${before.seq}): heads were reordered or replaced.`)
    }
    heads.push(facts)
  })
  if (receipt.heads.length === 0) problems.push('The receipt holds no signed head: nothing was signed in or after its period yet.')
  return { valid: problems.length === 0, fingerprint: key.fingerprint, heads, problems }
}
