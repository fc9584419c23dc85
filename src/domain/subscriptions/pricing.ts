import type { EntityManager } from '@mikro-orm/core'
import { monthlyPrice, type Plan } from '../plan/plan.js'
import { User } from '../users/user.entity.js'

/** Active people count toward the price; deactivated users and the system user do not. */
export const activePeople = (practiceGroupId: number) => ({ practiceGroupId, active: true, isSystem: false })

export async function activeUserCount (em: EntityManager, practiceGroupId: number): Promise<number> {
  return em.count(User, activePeople(practiceGroupId))
}

/** How many of those hold the User Action History permission, so see what the subscription pays for. */
export async function activeHistoryViewerCount (em: EntityManager, practiceGroupId: number): Promise<number> {
  return em.count(User, { ...activePeople(practiceGroupId), canViewHistory: true })
}

/** The practice's monthly price as of now, by the plan's tiers, and the active users it was counted from. */
export async function currentPrice (em: EntityManager, plan: Plan, practiceGroupId: number): Promise<{ price: number, activeUsers: number }> {
  const activeUsers = await activeUserCount(em, practiceGroupId)
  return { price: monthlyPrice(plan, activeUsers), activeUsers }
}
