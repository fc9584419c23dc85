import type { EntityManager } from '@mikro-orm/core'
import type { Action } from './record.js'
import type { HistoryCriteria, HistoryScope } from './criteria.js'
import { toRow, type HistoryRow } from './reads.js'
import { visibleRows, type SqlQuery } from './visible.js'

/** How many records one person has of one action, and when the first and last of them happened. */
export interface PersonActionCount {
  userId: number | null
  userName: string
  action: Action
  count: number
  first: Date
  last: Date
}

/** The rows this viewer may see under these criteria, counted per user (and the name they had) and action. */
export function perPersonCountQuery (scope: HistoryScope, criteria: HistoryCriteria): SqlQuery {
  const where = visibleRows(scope, null, criteria)
  return {
    sql: `select user_id, user_name, action, count(*) as n, min(occurred_at) as first, max(occurred_at) as last
            from audit_records where ${where.sql}
           group by user_id, user_name, action`,
    params: where.params
  }
}

/**
 * The newest `perPerson` of those rows for each person, newest first. A
 * person is a user; records without one (the system's own) are told apart
 * by the name they carry.
 */
export function newestPerPersonQuery (scope: HistoryScope, criteria: HistoryCriteria, perPerson: number): SqlQuery {
  const where = visibleRows(scope, null, criteria)
  return {
    sql: `select id, occurred_at, user_id, user_name, action, page, record_type, record_id, patient_id, outcome, description, url, host(ip) as ip, changes
            from (select *, row_number() over (partition by user_id, case when user_id is null then user_name end order by occurred_at desc, id desc) as nth
                    from audit_records where ${where.sql}) newest
           where nth <= ?
           order by occurred_at desc, id desc`,
    params: [...where.params, perPerson]
  }
}

async function runInTransaction<T> (em: EntityManager, query: SqlQuery): Promise<T[]> {
  return em.getConnection().execute(query.sql, query.params, 'all', em.getTransactionContext())
}

/** Per person and action, in the caller's transaction if there is one. */
export async function countVisiblePerPersonAndAction (em: EntityManager, scope: HistoryScope, criteria: HistoryCriteria): Promise<PersonActionCount[]> {
  const rows = await runInTransaction<{ user_id: number | null, user_name: string, action: Action, n: string, first: string, last: string }>(em, perPersonCountQuery(scope, criteria))
  return rows.map(r => ({ userId: r.user_id, userName: r.user_name, action: r.action, count: Number(r.n), first: new Date(r.first), last: new Date(r.last) }))
}

/** Each person's newest rows, in the caller's transaction if there is one. */
export async function readVisibleNewestPerPerson (em: EntityManager, scope: HistoryScope, criteria: HistoryCriteria, perPerson: number): Promise<HistoryRow[]> {
  return (await runInTransaction<Record<string, unknown>>(em, newestPerPersonQuery(scope, criteria, perPerson))).map(toRow)
}
