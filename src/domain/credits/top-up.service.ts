import type { EntityManager } from '@mikro-orm/core'
import { recordEvent } from '../recorder/recorder.js'
import { type Actor } from '../audit-records/record.js'
import { UserFacingError } from '../errors.js'
import { sqlIn } from '../../db/sql.js'
import { PracticeGroup } from '../practice-groups/practice-group.entity.js'
import { formatDateTime } from '../time/zoned.js'
import { creditsText } from '../plan/plan-sentences.js'
import { systemActor, systemUser } from '../users/system-user.js'
import { CREDITS_PAGE, PaymentDeclinedError, TOP_UP_AMOUNTS } from './credits.service.js'
import type { PaymentOutcome, PaymentProvider } from './payment-provider.js'

export type TopUpResult =
  | { status: 'settled', credits: number, balanceAfter: number, repeated: boolean }
  /** The provider's answer is not known yet: the settler asks again. `problem` is why, when this request asked. */
  | { status: 'pending', credits: number, since: Date, problem?: unknown }

/** A top-up waiting for the provider's answer, as the Credits page and the settler see it. */
export interface PendingTopUp {
  id: number
  practiceGroupId: number
  userId: number | null
  requestedBy: string | null
  idempotencyKey: string
  credits: number
  provider: string
  since: Date
}

/** What settling a practice's pending top-ups did; `pending` are still waiting, `problems` say why. */
export interface TopUpSettlement { settled: number, declined: number, pending: number, problems: string[] }

const MAX_DECLINE_MESSAGE = 500

/** Recorded (and committed) before the provider is asked; null when the key was used before. */
async function recordPending (em: EntityManager, provider: PaymentProvider, actor: Actor, credits: number, idempotencyKey: string): Promise<PendingTopUp | null> {
  const [row] = await sqlIn(em)<{ id: string }>(
    `insert into top_ups (practice_group_id, user_id, idempotency_key, credits, provider, status, created_at, updated_at)
     values (?, ?, ?, ?, ?, 'pending', ?, ?)
     on conflict (practice_group_id, idempotency_key) do nothing returning id`,
    [actor.practiceGroupId, actor.userId, idempotencyKey, credits, provider.name, actor.occurredAt, actor.occurredAt])
  if (!row) return null
  return {
    id: Number(row.id), practiceGroupId: actor.practiceGroupId, userId: actor.userId, requestedBy: actor.userName,
    idempotencyKey, credits, provider: provider.name, since: actor.occurredAt
  }
}

/** What became of an earlier top-up with this key: it is answered again, never paid again. */
async function earlierOutcome (em: EntityManager, practiceGroupId: number, idempotencyKey: string): Promise<TopUpResult> {
  const [earlier] = await sqlIn(em)<{ status: string, credits: number, decline_message: string | null, created_at: Date, balance_after: number | null }>(
    `select t.status, t.credits, t.decline_message, t.created_at, c.balance_after
       from top_ups t left join credit_entries c on c.practice_group_id = t.practice_group_id and c.idempotency_key = t.idempotency_key
      where t.practice_group_id = ? and t.idempotency_key = ?`, [practiceGroupId, idempotencyKey])
  if (!earlier) throw new Error(`No top-up with key ${idempotencyKey}`)
  if (earlier.status === 'declined') throw new PaymentDeclinedError(earlier.decline_message ?? '')
  if (earlier.status === 'settled') return { status: 'settled', credits: earlier.credits, balanceAfter: earlier.balance_after ?? 0, repeated: true }
  return { status: 'pending', credits: earlier.credits, since: new Date(earlier.created_at) }
}

async function decline (em: EntityManager, topUp: PendingTopUp, message: string, at: Date): Promise<void> {
  await sqlIn(em)(
    "update top_ups set status = 'declined', decline_message = ?, updated_at = ? where id = ? and status = 'pending'",
    [message.slice(0, MAX_DECLINE_MESSAGE), at, topUp.id])
}

/**
 * Credits a paid top-up: the top-up (still pending, checked under its row
 * lock), the balance, the ledger row and the history record change together
 * or not at all. If another settler got there first, its result is answered.
 */
async function settle (
  em: EntityManager, topUp: PendingTopUp, reference: string, actor: Actor, describe: (balance: number) => string
): Promise<TopUpResult> {
  const settled = await em.transactional(async tx => {
    const sql = sqlIn(tx)
    const [stillPending] = await sql("select 1 from top_ups where id = ? and status = 'pending' for update", [topUp.id])
    if (!stillPending) return null
    const [{ balance }] = await sql<{ balance: number }>(
      'update practice_groups set credit_balance = credit_balance + ? where id = ? returning credit_balance as balance', [topUp.credits, topUp.practiceGroupId]) as [{ balance: number }]
    await sql(
      `insert into credit_entries (practice_group_id, occurred_at, kind, amount, balance_after, description, provider, provider_reference, idempotency_key, user_id)
       values (?, ?, 'top_up', ?, ?, ?, ?, ?, ?, ?)`,
      [topUp.practiceGroupId, actor.occurredAt, topUp.credits, balance, `Top-up of ${creditsText(topUp.credits)}`, topUp.provider, reference, topUp.idempotencyKey, topUp.userId])
    await recordEvent(tx, actor, { action: 'purchase', page: CREDITS_PAGE, recordType: 'credits', recordId: null, description: describe(balance) })
    await sql("update top_ups set status = 'settled', provider_reference = ?, updated_at = ? where id = ?", [reference, actor.occurredAt, topUp.id])
    return { status: 'settled', credits: topUp.credits, balanceAfter: balance, repeated: false } as const
  })
  return settled ?? earlierOutcome(em, topUp.practiceGroupId, topUp.idempotencyKey)
}

/**
 * Tops up the practice's credits through the payment provider. The top-up
 * is recorded as pending first, so whatever fails after the provider is
 * asked (the provider itself, the app, the database) leaves it pending and
 * shown, and the settler asks the provider again with the same idempotency
 * key and credits it. A repeated key answers the first top-up's outcome and
 * pays nothing more.
 */
export async function topUp (em: EntityManager, provider: PaymentProvider, actor: Actor, credits: number, idempotencyKey: string): Promise<TopUpResult> {
  if (!(TOP_UP_AMOUNTS as readonly number[]).includes(credits)) throw new UserFacingError(400, `Top up by ${TOP_UP_AMOUNTS.join(', ')} credits.`)
  const pending = await recordPending(em, provider, actor, credits, idempotencyKey)
  if (!pending) return earlierOutcome(em, actor.practiceGroupId, idempotencyKey)
  let outcome: PaymentOutcome
  try {
    outcome = await provider.charge({ practiceGroupId: actor.practiceGroupId, credits, idempotencyKey })
  } catch (problem) {
    return { status: 'pending', credits, since: pending.since, problem }
  }
  if (!outcome.approved) {
    await decline(em, pending, outcome.message, actor.occurredAt)
    throw new PaymentDeclinedError(outcome.message)
  }
  return settle(em, pending, outcome.reference, actor, balance =>
    `Topped up ${creditsText(credits)} through the ${provider.name} payment provider (reference ${outcome.reference}). Balance ${creditsText(balance)}.`)
}

/** The practice's top-ups still waiting for the provider, oldest first. */
export async function pendingTopUps (em: EntityManager, practiceGroupId: number): Promise<PendingTopUp[]> {
  const rows = await sqlIn(em)<{ id: string, user_id: number | null, user_name: string | null, idempotency_key: string, credits: number, provider: string, created_at: Date }>(
    `select t.id, t.user_id, u.name as user_name, t.idempotency_key, t.credits, t.provider, t.created_at
       from top_ups t left join users u on u.id = t.user_id
      where t.practice_group_id = ? and t.status = 'pending' order by t.created_at, t.id`, [practiceGroupId])
  return rows.map(row => ({
    id: Number(row.id), practiceGroupId, userId: row.user_id, requestedBy: row.user_name, idempotencyKey: row.idempotency_key,
    credits: row.credits, provider: row.provider, since: new Date(row.created_at)
  }))
}

/**
 * Asks the provider again, with the same idempotency key, about each of the
 * practice's pending top-ups, and settles or declines them as it answers.
 * The credits are recorded by the practice's System user, naming who asked.
 * Only the provider a top-up was made with can answer for it; without it,
 * or in a dry run, pending top-ups are counted and left alone.
 */
export async function settlePendingTopUps (
  em: EntityManager, provider: PaymentProvider | null, practice: PracticeGroup, now: Date, dryRun = false
): Promise<TopUpSettlement> {
  const settlement: TopUpSettlement = { settled: 0, declined: 0, pending: 0, problems: [] }
  for (const topUp of await pendingTopUps(em, practice.id)) {
    if (dryRun || topUp.provider !== provider?.name) {
      settlement.pending += 1
      if (!dryRun) settlement.problems.push(`top-up ${topUp.idempotencyKey} was made with the ${topUp.provider} payment provider, which is not configured here`)
      continue
    }
    try {
      const outcome = await provider.charge({ practiceGroupId: practice.id, credits: topUp.credits, idempotencyKey: topUp.idempotencyKey })
      if (!outcome.approved) {
        await decline(em, topUp, outcome.message, now)
        settlement.declined += 1
        continue
      }
      const requested = `requested by ${topUp.requestedBy ?? 'a former user'} on ${formatDateTime(topUp.since, practice.timeZone)}`
      const result = await settle(em, topUp, outcome.reference, systemActor(await systemUser(em, practice.id), practice, now), balance =>
        `Topped up ${creditsText(topUp.credits)} through the ${provider.name} payment provider (reference ${outcome.reference}), ${requested}, once the provider confirmed the payment. Balance ${creditsText(balance)}.`)
      if (result.status === 'settled' && !result.repeated) settlement.settled += 1
    } catch (err) {
      settlement.pending += 1
      settlement.problems.push(`top-up ${topUp.idempotencyKey}: ${err instanceof Error ? err.message : String(err)}`)
    }
  }
  return settlement
}

/** The practices with a top-up waiting for the provider. */
export async function practicesWithPendingTopUps (em: EntityManager): Promise<Set<number>> {
  const rows = await sqlIn(em)<{ practice_group_id: number }>("select distinct practice_group_id from top_ups where status = 'pending'")
  return new Set(rows.map(row => row.practice_group_id))
}

/** Settles what every practice has pending: at start-up, so a top-up interrupted by a stop is completed without waiting for the job. */
export async function settleAllPendingTopUps (em: EntityManager, provider: PaymentProvider | null, now: Date): Promise<(TopUpSettlement & { practiceGroupId: number })[]> {
  const waiting = await practicesWithPendingTopUps(em)
  const practices = await em.fork().find(PracticeGroup, { id: { $in: [...waiting] } }, { orderBy: { id: 'asc' } })
  const settlements = []
  for (const practice of practices) {
    settlements.push({ practiceGroupId: practice.id, ...await settlePendingTopUps(em.fork(), provider, practice, now) })
  }
  return settlements
}
