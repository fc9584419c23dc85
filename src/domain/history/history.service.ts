import type { EntityManager } from '@mikro-orm/core'
import type { Action, FieldChangeRecord } from '../audit/activity.js'
import { User } from '../users/user.entity.js'
import type { FilterChoices, HistoryCriteria } from './history-criteria.js'
import type { Column } from './history-params.js'
import type { HistoryScope } from './history-scope.js'

/** The practice record a record history is about; null for the group history. */
export interface HistorySubject { recordType: string, recordId: string }

export interface HistoryRow {
  id: string
  occurredAt: Date
  userId: number | null
  userName: string
  action: Action
  page: string
  recordType: string | null
  recordId: string | null
  description: string
  url: string
  ip: string | null
  changes: FieldChangeRecord[] | null
}

export interface HistoryPage {
  rows: HistoryRow[]
  total: number
  page: number
  pages: number
  size: number
  /** The page asked for lay past the last one, so the last one is shown. */
  requestedPage: number | null
}

/**
 * IDs are mostly numbers kept as text: shorter first keeps 9 before 10.
 * The IP is qualified because the selected `ip` is its text form, and
 * addresses must sort as addresses (10.9.0.1 before 10.10.0.1).
 */
const SORT_COLUMNS: Record<Column, string[]> = {
  date: ['occurred_at'], user: ['user_name'], action: ['action'], page: ['page'], id: ['length(record_id)', 'record_id'],
  description: ['description'], url: ['url'], ip: ['audit_records.ip']
}

const likePattern = (text: string): string => `%${text.replace(/[\\%_]/g, c => `\\${c}`)}%`

/** The WHERE clause for what this viewer may see of this subject under these criteria. */
function conditions (scope: HistoryScope, subject: HistorySubject | null, criteria: HistoryCriteria): { sql: string, params: unknown[] } {
  const where: string[] = ['practice_group_id = ?']
  const params: unknown[] = [scope.practiceGroupId]
  const add = (sql: string, ...values: unknown[]): void => { where.push(sql); params.push(...values) }

  const since = criteria.since && criteria.since > scope.window.since ? criteria.since : scope.window.since
  add('occurred_at >= ?', since)
  if (criteria.until) add('occurred_at < ?', criteria.until)
  if (scope.onlyUserId !== null) add('user_id = ?', scope.onlyUserId)
  if (subject) add('record_type = ? and record_id = ?', subject.recordType, subject.recordId)
  if (criteria.userIds.length) add(`user_id in (${criteria.userIds.map(() => '?').join(', ')})`, ...criteria.userIds)
  if (criteria.actions.length) add(`action in (${criteria.actions.map(() => '?').join(', ')})`, ...criteria.actions)
  if (criteria.pageName) add('page = ?', criteria.pageName)
  if (criteria.recordId) add('record_id = ?', criteria.recordId)
  if (criteria.descriptionContains) add("description ilike ? escape '\\'", likePattern(criteria.descriptionContains))
  if (criteria.urlContains) add("url ilike ? escape '\\'", likePattern(criteria.urlContains))
  if (criteria.ip) add(criteria.ipIsRange ? 'ip <<= ?::inet' : 'ip = ?::inet', criteria.ip)
  return { sql: where.join(' and '), params }
}

/** Unsorted means newest first; ties of a sorted column also break newest first, so pages never shuffle. */
function ordering (criteria: HistoryCriteria): string {
  if (!criteria.sort) return 'occurred_at desc, id desc'
  if (criteria.sort === 'date') return criteria.dir === 'asc' ? 'occurred_at asc, id desc' : 'occurred_at desc, id desc'
  return `${SORT_COLUMNS[criteria.sort].map(sql => `${sql} ${criteria.dir}`).join(', ')}, occurred_at desc, id desc`
}

export interface SqlQuery { sql: string, params: unknown[] }

/** How many rows this viewer may see under these criteria: the total under the table. */
export function countQuery (scope: HistoryScope, subject: HistorySubject | null, criteria: HistoryCriteria): SqlQuery {
  const where = conditions(scope, subject, criteria)
  return { sql: `select count(*) as total from audit_records where ${where.sql}`, params: where.params }
}

/** One page of those rows in the chosen order. */
export function pageQuery (scope: HistoryScope, subject: HistorySubject | null, criteria: HistoryCriteria, page: number): SqlQuery {
  const where = conditions(scope, subject, criteria)
  return {
    sql: `select id, occurred_at, user_id, user_name, action, page, record_type, record_id, description, url, host(ip) as ip, changes
            from audit_records where ${where.sql}
           order by ${ordering(criteria)} limit ? offset ?`,
    params: [...where.params, criteria.size, (page - 1) * criteria.size]
  }
}

/** One page of the history as this viewer may see it, with the total that matches. */
export async function searchHistory (em: EntityManager, scope: HistoryScope, subject: HistorySubject | null, criteria: HistoryCriteria): Promise<HistoryPage> {
  const connection = em.getConnection()
  const counting = countQuery(scope, subject, criteria)
  const [{ total }] = await connection.execute<{ total: string }[]>(counting.sql, counting.params)
  const count = Number(total)
  const pages = Math.max(1, Math.ceil(count / criteria.size))
  const page = Math.min(criteria.page, pages)
  const paging = pageQuery(scope, subject, criteria, page)
  const rows = await connection.execute<Record<string, unknown>[]>(paging.sql, paging.params)
  return {
    rows: rows.map((r: Record<string, unknown>) => ({
      id: String(r.id),
      occurredAt: new Date(r.occurred_at as string),
      userId: r.user_id as number | null,
      userName: r.user_name as string,
      action: r.action as Action,
      page: r.page as string,
      recordType: r.record_type as string | null,
      recordId: r.record_id as string | null,
      description: r.description as string,
      url: r.url as string,
      ip: r.ip as string | null,
      changes: r.changes as FieldChangeRecord[] | null
    })),
    total: count,
    page,
    pages,
    size: criteria.size,
    requestedPage: criteria.page > pages ? criteria.page : null
  }
}

/**
 * The users and page names a viewer can filter by: only names from rows
 * the viewer may see. Page names come from a skip scan of the (group,
 * page) index, so they cost a lookup per name, not a pass over the history.
 */
export async function filterChoices (em: EntityManager, scope: HistoryScope): Promise<FilterChoices> {
  const users = await em.find(User, scope.onlyUserId === null
    ? { practiceGroupId: scope.practiceGroupId }
    : { practiceGroupId: scope.practiceGroupId, id: scope.onlyUserId }, { fields: ['id', 'name'], orderBy: { name: 'asc', id: 'asc' } })
  const own = scope.onlyUserId === null ? '' : ` and user_id = ${Number(scope.onlyUserId)}`
  const pages = await em.getConnection().execute<{ page: string }[]>(
    `with recursive pages(page) as (
       (select page from audit_records where practice_group_id = ? and occurred_at >= ?${own} order by page limit 1)
       union all
       select (select a.page from audit_records a
                where a.practice_group_id = ? and a.occurred_at >= ?${own.replace('user_id', 'a.user_id')} and a.page > pages.page
                order by a.page limit 1)
         from pages where pages.page is not null
     )
     select page from pages where page is not null`,
    [scope.practiceGroupId, scope.window.since, scope.practiceGroupId, scope.window.since]
  )
  return { users: users.map(u => ({ id: u.id, name: u.name })), pages: pages.map((p: { page: string }) => p.page) }
}

/** Whether a record, even one since deleted, ever appeared in this practice's history. */
export async function hasHistory (em: EntityManager, practiceGroupId: number, subject: HistorySubject): Promise<boolean> {
  const rows = await em.getConnection().execute(
    'select 1 from audit_records where practice_group_id = ? and record_type = ? and record_id = ? limit 1',
    [practiceGroupId, subject.recordType, subject.recordId]
  )
  return rows.length > 0
}
