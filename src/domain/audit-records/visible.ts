import type { Column, HistoryCriteria, HistoryScope } from './criteria.js'

/** The practice record a record history is about; null for the group history. */
export interface HistorySubject { recordType: string, recordId: string }

export interface SqlQuery { sql: string, params: unknown[] }

/** What a restricted patient's record says instead of its description, to someone who has given no reason. */
export const WITHHELD = 'Details withheld: this patient is restricted. Open the patient and give a reason to see them.'

/**
 * A column as the scope may see it: for records about a withheld patient,
 * `instead` (a literal or null). Without withheld patients, the column
 * itself, so ordinary reads are unchanged.
 */
export function withholding (scope: Pick<HistoryScope, 'withheldPatients'>, column: string, instead: string | null): SqlQuery {
  if (!scope.withheldPatients?.length) return { sql: column, params: [] }
  const patients = intArray(scope.withheldPatients)
  return instead === null
    ? { sql: `case when patient_id = any(?::int[]) then null else ${column} end`, params: [patients] }
    : { sql: `case when patient_id = any(?::int[]) then ?::text else ${column} end`, params: [patients, instead] }
}

/** Whole numbers as one PostgreSQL array literal: a single parameter however many there are. */
const intArray = (ids: readonly number[]): string => `{${ids.filter(Number.isInteger).join(',')}}`

/** Where what a viewer sees begins: the later of the window's start and the criteria's From. */
export function viewStart (scope: HistoryScope, criteria: HistoryCriteria): Date {
  return criteria.since && criteria.since > scope.window.since ? criteria.since : scope.window.since
}

/**
 * An exact record ID, as the record-id index can find it: the length leads
 * that index (so 9 sorts before 10), so the condition names it too. Takes
 * the ID twice.
 */
export const recordIdIs = (column: string): string => `length(${column}) = length(?::text) and ${column} = ?`

const likePattern = (text: string): string => `%${text.replace(/[\\%_]/g, c => `\\${c}`)}%`

/** Whether the criteria search the text of the description or the URL. */
export const searchesText = (criteria: HistoryCriteria): boolean => Boolean(criteria.descriptionContains || criteria.urlContains)

/** The criteria without their text filters: the rows a text search tests one by one. */
export const withoutText = (criteria: HistoryCriteria): HistoryCriteria => ({ ...criteria, descriptionContains: null, urlContains: null })

/**
 * The text filters' part of `visibleRows`, alone: the description and URL
 * conditions, and the restricted patients a text search passes over. Null
 * without text filters.
 */
export function textConditions (scope: HistoryScope, criteria: HistoryCriteria, alias = ''): SqlQuery | null {
  if (!searchesText(criteria)) return null
  const column = (name: string): string => alias ? `${alias}.${name}` : name
  const where: string[] = []
  const params: unknown[] = []
  if (criteria.descriptionContains) { where.push(`${column('description')} ilike ? escape '\\'`); params.push(likePattern(criteria.descriptionContains)) }
  if (criteria.urlContains) { where.push(`${column('url')} ilike ? escape '\\'`); params.push(likePattern(criteria.urlContains)) }
  // A search in the text of a restricted patient's records would tell what their withheld details say.
  if (scope.withheldPatients?.length) {
    where.push(`(${column('patient_id')} is null or not (${column('patient_id')} = any(?::int[])))`)
    params.push(intArray(scope.withheldPatients))
  }
  return { sql: where.join(' and '), params }
}

/**
 * The WHERE clause for what this viewer may see of this subject under
 * these criteria: every read made for a person starts here, so no read can
 * leave out the practice, the viewer's own rows or the window. Columns are
 * qualified with `alias` when the statement names the table twice.
 */
export function visibleRows (scope: HistoryScope, subject: HistorySubject | null, criteria: HistoryCriteria, alias = ''): SqlQuery {
  const column = (name: string): string => alias ? `${alias}.${name}` : name
  const where: string[] = [`${column('practice_group_id')} = ?`]
  const params: unknown[] = [scope.practiceGroupId]
  const add = (sql: string, ...values: unknown[]): void => { where.push(sql); params.push(...values) }

  add(`${column('occurred_at')} >= ?`, viewStart(scope, criteria))
  if (criteria.until) add(`${column('occurred_at')} < ?`, criteria.until)
  if (scope.onlyUserId !== null) add(`${column('user_id')} = ?`, scope.onlyUserId)
  if (subject) add(`${recordIdIs(column('record_id'))} and ${column('record_type')} = ?`, subject.recordId, subject.recordId, subject.recordType)
  if (criteria.patientId !== undefined) add(`${column('patient_id')} = ?`, criteria.patientId)
  if (criteria.userIds.length) add(`${column('user_id')} in (${criteria.userIds.map(() => '?').join(', ')})`, ...criteria.userIds)
  if (criteria.actions.length) add(`${column('action')} in (${criteria.actions.map(() => '?').join(', ')})`, ...criteria.actions)
  if (criteria.pageName) add(`${column('page')} = ?`, criteria.pageName)
  if (criteria.recordId) add(recordIdIs(column('record_id')), criteria.recordId, criteria.recordId)
  const text = textConditions(scope, criteria, alias)
  if (text) add(text.sql, ...text.params)
  if (criteria.ip) add(criteria.ipIsRange ? `${column('ip')} <<= ?::inet` : `${column('ip')} = ?::inet`, criteria.ip)
  return { sql: where.join(' and '), params }
}

/**
 * IDs are mostly numbers kept as text: shorter first keeps 9 before 10.
 * Descriptions and URLs sort by their first 40 characters, which keeps
 * their indexes small; rows alike that far fall back to newest first.
 * The IP is qualified because the selected `ip` is its text form, and
 * addresses must sort as addresses (10.9.0.1 before 10.10.0.1).
 */
const SORT_COLUMNS: Record<Column, string[]> = {
  date: ['occurred_at'], user: ['user_name'], action: ['action'], page: ['page'], id: ['length(record_id)', 'record_id'],
  description: ['left(description, 40)'], url: ['left(url, 40)'], ip: ['audit_records.ip']
}

const flip = { asc: 'desc', desc: 'asc' } as const

/**
 * Unsorted means newest first. A column sorted ascending breaks its ties
 * newest first, so pages never shuffle; descending is the exact reverse,
 * ties included, so one index read either way serves both.
 */
function orderTerms (criteria: HistoryCriteria): [string, 'asc' | 'desc'][] {
  if (!criteria.sort) return [['occurred_at', 'desc'], ['id', 'desc']]
  const ascending: [string, 'asc' | 'desc'][] = criteria.sort === 'date'
    ? [['occurred_at', 'asc'], ['id', 'asc']]
    : [...SORT_COLUMNS[criteria.sort].map(sql => [sql, 'asc'] as [string, 'asc' | 'desc']), ['occurred_at', 'desc'], ['id', 'desc']]
  return criteria.dir === 'asc' ? ascending : ascending.map(([sql, dir]) => [sql, flip[dir]])
}

/** The order's terms, or their exact reverse: the last page of a long list is the first page read backwards along the same index. */
export function orderBy (criteria: HistoryCriteria, reversed = false): [string, 'asc' | 'desc'][] {
  return orderTerms(criteria).map(([sql, dir]) => [sql, reversed ? flip[dir] : dir])
}

export function ordering (criteria: HistoryCriteria, reversed = false): string {
  return orderBy(criteria, reversed).map(([sql, dir]) => `${sql} ${dir}`).join(', ')
}
