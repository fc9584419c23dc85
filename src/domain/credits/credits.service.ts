import type { EntityManager } from '@mikro-orm/core'
import { recordActivity, type Actor } from '../audit/activity.js'
import { UserFacingError } from '../errors.js'
import { sqlIn } from '../../db/sql.js'
import { CreditEntry } from './credit-entry.entity.js'
import type { PaymentProvider } from './payment-provider.js'

export const TOP_UP_AMOUNTS = [100, 200, 500, 1000] as const
export const CREDITS_PAGE = 'Settings > Credits'
const LEDGER_PAGE_SIZE = 100

export class PaymentDeclinedError extends UserFacingError {
  constructor (message: string) {
    super(402, `The payment was declined: ${message}`)
  }
}

export interface TopUpResult { credits: number, balanceAfter: number, repeated: boolean }

/**
 * Adds credits once the provider approves the payment. The ledger row, the
 * new balance and the history record are written together; a repeated
 * idempotency key returns the first top-up instead of a second one.
 */
export async function topUp (em: EntityManager, provider: PaymentProvider, actor: Actor, credits: number, idempotencyKey: string): Promise<TopUpResult> {
  if (!(TOP_UP_AMOUNTS as readonly number[]).includes(credits)) throw new UserFacingError(400, `Top up by ${TOP_UP_AMOUNTS.join(', ')} credits.`)
  const earlier = await em.findOne(CreditEntry, { practiceGroupId: actor.practiceGroupId, idempotencyKey })
  if (earlier) return { credits: earlier.amount, balanceAfter: earlier.balanceAfter, repeated: true }
  const outcome = await provider.charge({ practiceGroupId: actor.practiceGroupId, credits, idempotencyKey })
  if (!outcome.approved) throw new PaymentDeclinedError(outcome.message)
  return em.transactional(async tx => {
    const sql = sqlIn(tx)
    await sql('select 1 from practice_groups where id = ? for update', [actor.practiceGroupId])
    const [again] = await sql<{ amount: number, balance_after: number }>(
      'select amount, balance_after from credit_entries where practice_group_id = ? and idempotency_key = ?', [actor.practiceGroupId, idempotencyKey])
    if (again) return { credits: again.amount, balanceAfter: again.balance_after, repeated: true }
    const [{ balance }] = await sql<{ balance: number }>(
      'update practice_groups set credit_balance = credit_balance + ? where id = ? returning credit_balance as balance', [credits, actor.practiceGroupId]) as [{ balance: number }]
    await sql(
      `insert into credit_entries (practice_group_id, occurred_at, kind, amount, balance_after, description, provider, provider_reference, idempotency_key, user_id)
       values (?, ?, 'top_up', ?, ?, ?, ?, ?, ?, ?)`,
      [actor.practiceGroupId, actor.occurredAt, credits, balance, `Top-up of ${credits} credits`, provider.name, outcome.reference, idempotencyKey, actor.userId])
    await recordActivity(tx, actor, {
      action: 'purchase', page: CREDITS_PAGE, recordType: 'credits', recordId: null,
      description: `Topped up ${credits} credits through the ${provider.name} payment provider (reference ${outcome.reference}). Balance ${balance} credits.`
    })
    return { credits, balanceAfter: balance, repeated: false }
  })
}

/** The practice's credit movements, newest first. */
export async function creditLedger (em: EntityManager, practiceGroupId: number): Promise<CreditEntry[]> {
  return em.find(CreditEntry, { practiceGroupId }, { orderBy: { occurredAt: 'desc', id: 'desc' }, limit: LEDGER_PAGE_SIZE })
}
