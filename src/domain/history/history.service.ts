import type { EntityManager } from '@mikro-orm/core'
import type { Action, FieldChangeRecord } from '../audit/activity.js'
import { User } from '../users/user.entity.js'
import type { FilterChoices, HistoryCriteria } from './history-criteria.js'
import type { Column } from './history-params.js'
import type { HistoryScope } from './access.js'

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

/**
 * Counting stops here. Beyond it an exact number costs a pass over the
 * practice's history (seconds for the largest) and tells a person little
 * more than "more than 10,000".
 */
export const COUNT_LIMIT = 10_000

export interface HistoryPage {
  rows: HistoryRow[]
  /** How many rows match: exact up to COUNT_LIMIT, otherwise COUNT_LIMIT and `totalIsExact` false. */
  total: number
  totalIsExact: boolean
  /** The page shown, or null for the last page of a list too long to count. */
  page: number | null
  /** How many pages there are, when the total is exact. */
  pages: number | null
  size: number
  hasNext: boolean
  /** The page asked for lay past the last one, so the last one is shown. */
  requestedPage: number | null
}

/**
 * IDs are mostly numbers kept as text: shorter first keeps 9 before 10.
 * Descriptions and URLs sort by their first 100 characters, which an index
 * can hold; rows alike that far fall back to newest first.
 * The IP is qualified because the selected `ip` is its text form, and
 * addresses must sort as addresses (10.9.0.1 before 10.10.0.1).
 */
const SORT_COLUMNS: Record<Column, string[]> = {
  date: ['occurred_at'], user: ['user_name'], action: ['action'], page: ['page'], id: ['length(record_id)', 'record_id'],
  description: ['left(description, 100)'], url: ['left(url, 100)'], ip: ['audit_records.ip']
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
  // The length leads the record-id index (so 9 sorts before 10); naming it lets an exact ID use that index.
  if (criteria.recordId) add('length(record_id) = length(?::text) and record_id = ?', criteria.recordId, criteria.recordId)
  if (criteria.descriptionContains) add("description ilike ? escape '\\'", likePattern(criteria.descriptionContains))
  if (criteria.urlContains) add("url ilike ? escape '\\'", likePattern(criteria.urlContains))
  if (criteria.ip) add(criteria.ipIsRange ? 'ip <<= ?::inet' : 'ip = ?::inet', criteria.ip)
  return { sql: where.join(' and '), params }
}

/** Unsorted means newest first; ties of a sorted column also break newest first, so pages never shuffle. */
function orderTerms (criteria: HistoryCriteria): [string, 'asc' | 'desc'][] {
  if (!criteria.sort) return [['occurred_at', 'desc'], ['id', 'desc']]
  if (criteria.sort === 'date') return [['occurred_at', criteria.dir], ['id', 'desc']]
  return [...SORT_COLUMNS[criteria.sort].map(sql => [sql, criteria.dir] as [string, 'asc' | 'desc']), ['occurred_at', 'desc'], ['id', 'desc']]
}

/** The order, or its exact reverse: the last page of a long list is the first page read backwards along the same index. */
function ordering (criteria: HistoryCriteria, reversed = false): string {
  const flip = { asc: 'desc', desc: 'asc' } as const
  return orderTerms(criteria).map(([sql, dir]) => `${sql} ${reversed ? flip[dir] : dir}`).join(', ')
}

export interface SqlQuery { sql: string, params: unknown[] }

/** How many rows this viewer may see under these criteria, counted up to one past COUNT_LIMIT. */
export function countQuery (scope: HistoryScope, subject: HistorySubject | null, criteria: HistoryCriteria): SqlQuery {
  const where = conditions(scope, subject, criteria)
  return { sql: `select count(*) as total from (select 1 from audit_records where ${where.sql} limit ${COUNT_LIMIT + 1}) matching`, params: where.params }
}

/**
 * Makes a text column inert in a spreadsheet: a leading = + - @ tab or CR
 * (a formula to a spreadsheet) gets an apostrophe in front, and so does a
 * leading apostrophe, so the original is always the cell minus one leading
 * apostrophe, if it has one.
 */
const inert = (column: string): string => `case when ${column} ~ E'^[-=+@\\t\\r'']' then '''' || ${column} else ${column} end`

/**
 * The CSV export's rows, shaped by PostgreSQL itself (dates in the
 * session's time zone with their offset, formula starts neutralised), in
 * the viewer's order, so COPY can stream them without the app touching
 * each row.
 */
export function csvExportQuery (scope: HistoryScope, subject: HistorySubject | null, criteria: HistoryCriteria): SqlQuery {
  const where = conditions(scope, subject, criteria)
  return {
    sql: `select to_char(occurred_at, 'YYYY-MM-DD"T"HH24:MI:SSTZH:TZM') as "Date", ${inert('user_name')} as "User", ${inert('action')} as "Action",
                 ${inert('page')} as "Page", ${inert("coalesce(record_type, '')")} as "Record type", ${inert("coalesce(record_id, '')")} as "ID",
                 ${inert('description')} as "Description", ${inert('url')} as "URL", coalesce(host(ip), '') as "IP Address"
            from audit_records where ${where.sql}
           order by ${ordering(criteria)}`,
    params: where.params
  }
}

/** The exact number of rows this viewer may see under these criteria: for exports, which carry all of them. */
export function exactCountQuery (scope: HistoryScope, subject: HistorySubject | null, criteria: HistoryCriteria): SqlQuery {
  const where = conditions(scope, subject, criteria)
  return { sql: `select count(*) as total from audit_records where ${where.sql}`, params: where.params }
}

/** How many of those rows fall on each local day (in `timeZone`) from `from` on: the activity chart's bars. */
export function perDayQuery (scope: HistoryScope, subject: HistorySubject | null, criteria: HistoryCriteria, timeZone: string, from: Date): SqlQuery {
  const where = conditions(scope, subject, criteria)
  return {
    sql: `select to_char(occurred_at at time zone ?, 'YYYY-MM-DD') as day, count(*) as n
            from audit_records where ${where.sql} and occurred_at >= ? group by 1 order by 1`,
    params: [timeZone, ...where.params, from]
  }
}

/** One page of those rows in the chosen order; `page` "last" reads the end of the list backwards. */
export function pageQuery (scope: HistoryScope, subject: HistorySubject | null, criteria: HistoryCriteria, page: number | 'last'): SqlQuery {
  const where = conditions(scope, subject, criteria)
  return {
    sql: `select id, occurred_at, user_id, user_name, action, page, record_type, record_id, description, url, host(ip) as ip, changes
            from audit_records where ${where.sql}
           order by ${ordering(criteria, page === 'last')} limit ? offset ?`,
    params: [...where.params, criteria.size, page === 'last' ? 0 : (page - 1) * criteria.size]
  }
}

export function toRow (r: Record<string, unknown>): HistoryRow {
  return {
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
  }
}

/**
 * One page of the history as this viewer may see it, with the total that
 * matches. Up to COUNT_LIMIT rows the total and the pages are exact; past
 * it, pages are still reached by number, and the last page is read from
 * the other end.
 */
export async function searchHistory (em: EntityManager, scope: HistoryScope, subject: HistorySubject | null, criteria: HistoryCriteria): Promise<HistoryPage> {
  const connection = em.getConnection()
  const read = async (page: number | 'last'): Promise<HistoryRow[]> => {
    const query = pageQuery(scope, subject, criteria, page)
    const rows = (await connection.execute<Record<string, unknown>[]>(query.sql, query.params)).map(toRow)
    return page === 'last' ? rows.reverse() : rows
  }
  const counting = countQuery(scope, subject, criteria)
  const size = criteria.size
  const asked = criteria.lastPage ? null : criteria.page
  // The page asked for is read while counting, on a second connection: almost always it exists, and the reply comes a round trip sooner.
  const askedRows = asked === null ? null : read(asked)
  askedRows?.catch(() => {})
  const [{ total }] = await connection.execute<{ total: string }[]>(counting.sql, counting.params)
  const count = Number(total)
  if (count <= COUNT_LIMIT) {
    const pages = Math.max(1, Math.ceil(count / size))
    const page = asked === null ? pages : Math.min(asked, pages)
    const rows = page === asked ? await askedRows! : await read(page)
    return { rows, total: count, totalIsExact: true, page, pages, size, hasNext: page < pages, requestedPage: asked !== null && asked > pages ? asked : null }
  }
  if (asked !== null) {
    const rows = await askedRows!
    if (rows.length > 0) return { rows, total: COUNT_LIMIT, totalIsExact: false, page: asked, pages: null, size, hasNext: rows.length === size, requestedPage: null }
  }
  return { rows: await read('last'), total: COUNT_LIMIT, totalIsExact: false, page: null, pages: null, size, hasNext: false, requestedPage: asked }
}

const CHOICES_TTL_MS = 60_000
const cachedChoices = new Map<string, { choices: FilterChoices, until: number }>()

/**
 * The users and page names a viewer can filter by: only names from rows
 * the viewer may see. Page names come from a skip scan of the (group,
 * page) index, a lookup per name; they change rarely, so each viewer's
 * list is kept for a minute rather than looked up on every refinement.
 */
export async function filterChoices (em: EntityManager, scope: HistoryScope): Promise<FilterChoices> {
  const key = `${scope.practiceGroupId}:${scope.onlyUserId ?? 'all'}:${scope.window.since.toISOString().slice(0, 13)}`
  const cached = cachedChoices.get(key)
  if (cached && cached.until > Date.now()) return cached.choices
  const users = await em.find(User, scope.onlyUserId === null
    ? { practiceGroupId: scope.practiceGroupId }
    : { practiceGroupId: scope.practiceGroupId, id: scope.onlyUserId }, { fields: ['id', 'name'], orderBy: { name: 'asc', id: 'asc' } })
  const own = scope.onlyUserId === null ? '' : ' and user_id = ?'
  const ownParams = scope.onlyUserId === null ? [] : [scope.onlyUserId]
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
    [scope.practiceGroupId, scope.window.since, ...ownParams, scope.practiceGroupId, scope.window.since, ...ownParams]
  )
  const choices = { users: users.map(u => ({ id: u.id, name: u.name })), pages: pages.map((p: { page: string }) => p.page) }
  if (cachedChoices.size > 10_000) cachedChoices.clear()
  cachedChoices.set(key, { choices, until: Date.now() + CHOICES_TTL_MS })
  return choices
}

/** Whether a record, even one since deleted, ever appeared in this practice's history. */
export async function hasHistory (em: EntityManager, practiceGroupId: number, subject: HistorySubject): Promise<boolean> {
  const rows = await em.getConnection().execute(
    'select 1 from audit_records where practice_group_id = ? and record_type = ? and record_id = ? limit 1',
    [practiceGroupId, subject.recordType, subject.recordId]
  )
  return rows.length > 0
}
