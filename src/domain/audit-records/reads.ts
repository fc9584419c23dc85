import type { EntityManager } from '@mikro-orm/core'
import type { Action, FieldChangeRecord, Outcome } from './record.js'
import { EVERYTHING, type HistoryCriteria, type HistoryScope } from './criteria.js'
import { ordering, recordIdIs, visibleRows, WITHHELD, withholding, type HistorySubject, type SqlQuery } from './visible.js'

/** One history record as a viewer reads it. */
export interface HistoryRow {
  id: string
  occurredAt: Date
  userId: number | null
  userName: string
  action: Action
  page: string
  recordType: string | null
  recordId: string | null
  /** The patient the record concerns; null when it names none, or names a patient whose details this viewer may not see. */
  patientId: number | null
  outcome: Outcome
  description: string
  url: string
  ip: string | null
  changes: FieldChangeRecord[] | null
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
    patientId: r.patient_id as number | null,
    outcome: r.outcome as Outcome,
    description: r.description as string,
    url: r.url as string,
    ip: r.ip as string | null,
    changes: r.changes as FieldChangeRecord[] | null
  }
}

/** How many rows `where` keeps, counted up to `limit` (and one past, to tell "more"). */
export function countOf (where: SqlQuery, limit: number): SqlQuery {
  return { sql: `select count(*) as total from (select 1 from audit_records where ${where.sql} limit ${limit + 1}) matching`, params: where.params }
}

/** How many rows this viewer may see under these criteria, counted up to `limit` (and one past). */
export function countQuery (scope: HistoryScope, subject: HistorySubject | null, criteria: HistoryCriteria, limit: number): SqlQuery {
  return countOf(visibleRows(scope, subject, criteria), limit)
}

/** The exact number of rows this viewer may see under these criteria: for exports, which carry all of them. */
export function exactCountQuery (scope: HistoryScope, subject: HistorySubject | null, criteria: HistoryCriteria): SqlQuery {
  const where = visibleRows(scope, subject, criteria)
  return { sql: `select count(*) as total from audit_records where ${where.sql}`, params: where.params }
}

/** The columns a viewer reads of each row, with a restricted patient's details withheld: the select list of a page. */
export function shownColumns (scope: HistoryScope): SqlQuery {
  const description = withholding(scope, 'description', WITHHELD)
  const changes = withholding(scope, 'changes', null)
  const patient = withholding(scope, 'patient_id', null)
  return {
    sql: `id, occurred_at, user_id, user_name, action, page, record_type, record_id, ${patient.sql} as patient_id, outcome,
          ${description.sql} as description, url, host(ip) as ip, ${changes.sql} as changes`,
    params: [...patient.params, ...description.params, ...changes.params]
  }
}

/** A page's LIMIT and OFFSET parameters; the last page is the first read backwards. */
export const pageWindow = (criteria: HistoryCriteria, page: number | 'last'): [number, number] =>
  [criteria.size, page === 'last' ? 0 : (page - 1) * criteria.size]

/** One page of the rows `where` keeps, in the criteria's order; `page` "last" reads the end of the list backwards. */
export function pageOf (scope: HistoryScope, where: SqlQuery, criteria: HistoryCriteria, page: number | 'last'): SqlQuery {
  const shown = shownColumns(scope)
  return {
    sql: `select ${shown.sql} from audit_records where ${where.sql} order by ${ordering(criteria, page === 'last')} limit ? offset ?`,
    params: [...shown.params, ...where.params, ...pageWindow(criteria, page)]
  }
}

/** One page of those rows in the chosen order. */
export function pageQuery (scope: HistoryScope, subject: HistorySubject | null, criteria: HistoryCriteria, page: number | 'last'): SqlQuery {
  return pageOf(scope, visibleRows(scope, subject, criteria), criteria, page)
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
  const where = visibleRows(scope, subject, criteria)
  const description = withholding(scope, 'description', WITHHELD)
  return {
    sql: `select to_char(occurred_at, 'YYYY-MM-DD"T"HH24:MI:SSTZH:TZM') as "Date", ${inert('user_name')} as "User", ${inert('action')} as "Action",
                 ${inert('page')} as "Page", ${inert("coalesce(record_type, '')")} as "Record type", ${inert("coalesce(record_id, '')")} as "ID",
                 ${inert(`(${description.sql})`)} as "Description", ${inert('url')} as "URL", coalesce(host(ip), '') as "IP Address"
            from audit_records where ${where.sql}
           order by ${ordering(criteria)}`,
    // inert() names its column three times.
    params: [...description.params, ...description.params, ...description.params, ...where.params]
  }
}

/** How many of those rows fall on each local day (in `timeZone`) from `from` on: the activity chart's bars. */
export function perDayQuery (scope: HistoryScope, subject: HistorySubject | null, criteria: HistoryCriteria, timeZone: string, from: Date): SqlQuery {
  const where = visibleRows(scope, subject, criteria)
  return {
    sql: `select to_char(occurred_at at time zone ?, 'YYYY-MM-DD') as day, count(*) as n
            from audit_records where ${where.sql} and occurred_at >= ? group by 1 order by 1`,
    params: [timeZone, ...where.params, from]
  }
}

async function run<T> (em: EntityManager, query: SqlQuery): Promise<T[]> {
  return em.getConnection().execute<T[]>(query.sql, query.params)
}

export async function countVisible (em: EntityManager, scope: HistoryScope, subject: HistorySubject | null, criteria: HistoryCriteria, limit: number): Promise<number> {
  const [{ total }] = await run<{ total: string }>(em, countQuery(scope, subject, criteria, limit)) as [{ total: string }]
  return Number(total)
}

export async function readVisiblePage (em: EntityManager, scope: HistoryScope, subject: HistorySubject | null, criteria: HistoryCriteria, page: number | 'last'): Promise<HistoryRow[]> {
  const rows = (await run<Record<string, unknown>>(em, pageQuery(scope, subject, criteria, page))).map(toRow)
  return page === 'last' ? rows.reverse() : rows
}

export async function countVisiblePerDay (
  em: EntityManager, scope: HistoryScope, subject: HistorySubject | null, criteria: HistoryCriteria, timeZone: string, from: Date
): Promise<Map<string, number>> {
  const rows = await run<{ day: string, n: string }>(em, perDayQuery(scope, subject, criteria, timeZone, from))
  return new Map(rows.map(r => [r.day, Number(r.n)]))
}

/**
 * The page names in what this viewer sees, in order: a skip scan of the
 * (group, page) index, one lookup per name, rather than a pass over every
 * row.
 */
export async function visiblePageNames (em: EntityManager, scope: HistoryScope): Promise<string[]> {
  const first = visibleRows(scope, null, EVERYTHING)
  const next = visibleRows(scope, null, EVERYTHING, 'a')
  const rows = await em.getConnection().execute<{ page: string }[]>(
    `with recursive pages(page) as (
       (select page from audit_records where ${first.sql} order by page limit 1)
       union all
       select (select a.page from audit_records a where ${next.sql} and a.page > pages.page order by a.page limit 1)
         from pages where pages.page is not null
     )
     select page from pages where page is not null`,
    [...first.params, ...next.params]
  )
  return rows.map((r: { page: string }) => r.page)
}

export interface RecordsBefore {
  count: number
  oldest: Date | null
  newest: Date | null
}

/** How many of the rows in a scope lie before `before`, and the oldest and newest of them: what an expiry will delete, as the scope sees it. */
export async function visibleBefore (em: EntityManager, scope: HistoryScope, before: Date): Promise<RecordsBefore> {
  const where = visibleRows(scope, null, { ...EVERYTHING, until: before })
  const [row] = await em.getConnection().execute(
    `select count(*) as n, min(occurred_at) as oldest, max(occurred_at) as newest from audit_records where ${where.sql}`, where.params
  ) as Array<{ n: string, oldest: Date | null, newest: Date | null }>
  return { count: Number(row!.n), oldest: row!.oldest, newest: row!.newest }
}

export function everInHistoryQuery (practiceGroupId: number, subject: HistorySubject): SqlQuery {
  return {
    sql: `select 1 from audit_records where practice_group_id = ? and ${recordIdIs('record_id')} and record_type = ? limit 1`,
    params: [practiceGroupId, subject.recordId, subject.recordId, subject.recordType]
  }
}

/** Whether a record, even one since deleted, ever appeared in this practice's history: how a deleted record is still named. */
export async function everInHistory (em: EntityManager, practiceGroupId: number, subject: HistorySubject): Promise<boolean> {
  return (await run(em, everInHistoryQuery(practiceGroupId, subject))).length > 0
}
