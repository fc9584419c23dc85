import type { EntityManager } from '@mikro-orm/core'
import { UserFacingError } from '../errors.js'
import { CreditEntry } from './credit-entry.entity.js'

export const TOP_UP_AMOUNTS = [100, 200, 500, 1000] as const
export const CREDITS_PAGE = 'Settings > Credits'
const LEDGER_PAGE_SIZE = 100

export class PaymentDeclinedError extends UserFacingError {
  constructor (message: string) {
    super(402, `The payment was declined: ${message}`)
  }
}

/** The practice's credit movements, newest first. */
export async function creditLedger (em: EntityManager, practiceGroupId: number): Promise<CreditEntry[]> {
  return em.find(CreditEntry, { practiceGroupId }, { orderBy: { occurredAt: 'desc', id: 'desc' }, limit: LEDGER_PAGE_SIZE })
}
