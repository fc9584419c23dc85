import type { EntityManager } from '@mikro-orm/core'

/** Runs SQL inside whatever transaction this EntityManager is in: row locks and their changes stay together. */
export function sqlIn (em: EntityManager) {
  return async <T = Record<string, unknown>>(query: string, params: unknown[] = []): Promise<T[]> =>
    em.getConnection().execute(query, params, 'all', em.getTransactionContext()) as Promise<T[]>
}

/** Knex-style `?` placeholders as node-postgres's `$1, $2, …`, for queries sent on a raw pg client. */
export function toPg (sql: string): string {
  let n = 0
  return sql.replace(/\?/g, () => `$${++n}`)
}
