import type { EntityManager } from '@mikro-orm/core'
import { User } from '../users/user.entity.js'

export const SMALL_GROUP_PRICE = 100
export const LARGE_GROUP_PRICE = 200
export const LARGE_GROUP_FROM = 5

/** Active people count toward the price; deactivated users and the system user do not. */
export async function activeUserCount (em: EntityManager, practiceGroupId: number): Promise<number> {
  return em.count(User, { practiceGroupId, active: true, isSystem: false })
}

/** Credits a month: 100 under 5 active users, 200 from 5. */
export function monthlyPrice (activeUsers: number): number {
  return activeUsers >= LARGE_GROUP_FROM ? LARGE_GROUP_PRICE : SMALL_GROUP_PRICE
}
