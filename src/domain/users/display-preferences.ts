import type { EntityManager } from '@mikro-orm/core'
import { User } from './user.entity.js'

/**
 * Remembers whether `user` keeps the history's activity chart folded away,
 * on every history page and in every browser they sign in from. A display
 * preference, not practice data: it is not recorded in the history.
 */
export async function rememberHistoryChartCollapsed (em: EntityManager, user: Pick<User, 'id' | 'practiceGroupId'>, collapsed: boolean): Promise<void> {
  await em.nativeUpdate(User, { id: user.id, practiceGroupId: user.practiceGroupId }, { historyChartCollapsed: collapsed })
}
