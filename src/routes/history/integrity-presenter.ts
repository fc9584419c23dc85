import type { HistoryAccess } from '../../domain/history/access.js'
import type { VerificationInWords } from '../../domain/chain/describe-verification.js'
import { spacedFingerprint, type ChainKey } from '../../domain/signed-heads/chain-key.js'
import type { HistoryPageSpec } from './subjects.js'

export interface IntegrityView {
  action: string
  /** The head the user typed in, shown back to them. */
  knownHead: string
  error: string | null
  result: VerificationInWords | null
  /** The key that signs the chain's heads, as people compare it, and where to get it and a receipt. */
  signing: { fingerprint: string, publicKeyPem: string, keyHref: string, receiptAction: string }
}

type IntegrityState = Pick<IntegrityView, 'knownHead' | 'error' | 'result'>

export function integrityView (basePath: string, key: ChainKey, state: IntegrityState = { knownHead: '', error: null, result: null }): IntegrityView {
  return {
    action: `${basePath}/verify`,
    ...state,
    signing: { fingerprint: spacedFingerprint(key.fingerprint), publicKeyPem: key.publicKeyPem, keyHref: `${basePath}/signing-key.pem`, receiptAction: `${basePath}/receipt.json` }
  }
}

/** The Verify integrity form: it checks the practice's whole chain, so it is offered on the group history, to those who may verify. */
export function integrityForm (history: HistoryPageSpec, { may }: HistoryAccess, key: ChainKey): IntegrityView | null {
  return history.subject === null && may.verify ? integrityView(history.basePath, key) : null
}
