import type { EntityManager } from '@mikro-orm/core'
import type { Knex } from '@mikro-orm/knex'
import type { PoolClient } from 'pg'

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

/**
 * Lends one pooled connection for work that needs a connection to itself
 * (a cursor, or a transaction managed by hand), and always gives it back.
 */
export async function withPgClient<T> (em: EntityManager, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const knex = (em.getConnection() as unknown as { getKnex: () => Knex }).getKnex()
  const client = await knex.client.acquireConnection() as PoolClient
  try {
    return await work(client)
  } finally {
    await knex.client.releaseConnection(client)
  }
}

/** `work` inside a transaction of its own on its own connection: committed if it returns, rolled back if it throws. */
export async function inPgTransaction<T> (em: EntityManager, begin: string, work: (client: PoolClient) => Promise<T>): Promise<T> {
  return withPgClient(em, async client => {
    await client.query(begin)
    try {
      const result = await work(client)
      await client.query('commit')
      return result
    } catch (err) {
      await client.query('rollback').catch(() => {})
      throw err
    }
  })
}
