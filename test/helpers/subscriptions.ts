import type { EntityManager } from '@mikro-orm/postgresql'
import type { Actor } from '../../src/domain/audit-records/record.js'
import { DEFAULT_PLAN, type Plan } from '../../src/domain/plan/plan.js'
import type { User } from '../../src/domain/users/user.entity.js'
import { purchaseSubscription, type PurchaseResult } from '../../src/domain/subscriptions/subscription.service.js'
import { PracticeGroup } from '../../src/domain/practice-groups/practice-group.entity.js'

/** The user acting in the app at a given moment, as a request would describe them. */
export function actorAt (user: User, at: Date | string): Actor {
  return {
    practiceGroupId: user.practiceGroupId, userId: user.id, userName: user.name, url: '/settings/add-ons/subscribe',
    ip: '203.0.113.9', timeZone: 'Australia/Sydney', occurredAt: new Date(at)
  }
}

let keys = 0
export async function subscribeAt (em: EntityManager, owner: User, at: Date | string, plan: Plan = DEFAULT_PLAN): Promise<PurchaseResult> {
  return purchaseSubscription(em, plan, actorAt(owner, at), `test-key-${process.pid}-${++keys}`)
}

export async function balanceOf (em: EntityManager, practiceGroupId: number): Promise<number> {
  return (await em.fork().findOneOrFail(PracticeGroup, { id: practiceGroupId })).creditBalance
}

/** Ledger rows of a practice, oldest first. */
export async function ledger (em: EntityManager, practiceGroupId: number): Promise<{ kind: string, amount: number, balance_after: number, period_start: Date | null, period_end: Date | null }[]> {
  return em.getConnection().execute('select kind, amount, balance_after, period_start, period_end from credit_entries where practice_group_id = ? order by id', [practiceGroupId])
}
