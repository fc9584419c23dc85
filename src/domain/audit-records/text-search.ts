import type { EntityManager } from '@mikro-orm/core'
import { EVERYTHING, type HistoryCriteria, type HistoryScope } from './criteria.js'
import { countOf, pageOf, pageWindow, shownColumns, toRow, type HistoryRow } from './reads.js'
import { orderBy, ordering, textConditions, visibleRows, withoutText, type HistorySubject, type SqlQuery } from './visible.js'

/**
 * Runs a statement of a text search; `byTrigrams` runs it where only the
 * trigram indexes can find its rows. The app reads through an
 * EntityManager (`readerOf`); the benchmark sends the same statements on a
 * client of its own.
 */
export type TextSearchReader = <T>(query: SqlQuery, byTrigrams: boolean) => Promise<T[]>

/** How many of the viewer's newest rows are tested to learn how common the text is among them. */
const SAMPLE_ROWS = 1_000

/**
 * The fewest rows a walk may read, in the page's order, before it gives
 * up and the trigram indexes read the page instead: enough that a share
 * measured on the newest rows still holds for this stretch.
 */
export const WALK_BUDGET = 20_000

/**
 * A text in one row of twenty or more is everywhere: a walk to any page
 * costs about what the page's offset costs in any list, where the trigram
 * indexes would read every match in the practice to sort them.
 */
const COMMON_SHARE = 0.05

/**
 * Below that share a walk still pays when it is this short: a large
 * practice holds so many matches of a text in one record of a hundred or
 * two that the trigram indexes take longer to read them all than a walk
 * takes to find a page of them (at 1.5 million records, a word in one
 * record of 150: 36 ms walking against 85 ms through the trigram index).
 */
const SHORT_WALK = 10_000

/** The text columns of the viewer's newest `rows` rows under the criteria other than the text: what a sample or a count tests. */
function newestRows (scope: HistoryScope, subject: HistorySubject | null, criteria: HistoryCriteria, rows: number): SqlQuery {
  const base = visibleRows(scope, subject, withoutText(criteria))
  return {
    sql: `select description, url, patient_id from audit_records where ${base.sql} order by ${ordering(EVERYTHING)} limit ${rows}`,
    params: base.params
  }
}

/**
 * PostgreSQL's statistics cover every practice at once, so they call a
 * word common here when others use it and this practice never does, and
 * the plan they choose then reads the practice end to end. The share is
 * measured instead, on the viewer's own newest rows under the same
 * criteria: a few milliseconds, and true for this practice.
 */
export function sampleQuery (scope: HistoryScope, subject: HistorySubject | null, criteria: HistoryCriteria): SqlQuery {
  const newest = newestRows(scope, subject, criteria, SAMPLE_ROWS)
  const text = textConditions(scope, criteria)!
  return {
    sql: `select count(*) as seen, count(*) filter (where ${text.sql}) as matching from (${newest.sql}) newest`,
    params: [...text.params, ...newest.params]
  }
}

/** The share of the sampled rows that the text filters keep; 0 when the viewer has no rows at all. */
export async function sampleShare (read: TextSearchReader, scope: HistoryScope, subject: HistorySubject | null, criteria: HistoryCriteria): Promise<number> {
  const [row] = await read<{ seen: string, matching: string }>(sampleQuery(scope, subject, criteria), false)
  const seen = Number(row!.seen)
  return seen === 0 ? 0 : Number(row!.matching) / seen
}

/**
 * How many rows a walk may read to find `needed` matches at this share,
 * twice what the share predicts so an older stretch where the text is
 * scarcer still fits; null when the trigram indexes should pick them.
 */
export function walkBound (share: number, needed: number): number | null {
  if (share <= 0) return null
  const predicted = needed / share
  return share >= COMMON_SHARE || predicted <= SHORT_WALK ? Math.ceil(Math.max(WALK_BUDGET, 2 * predicted)) : null
}

/** Counts the matches by walking at most `bound` rows newest first, stopping at `limit` + 1. */
export function walkedCountQuery (scope: HistoryScope, subject: HistorySubject | null, criteria: HistoryCriteria, limit: number, bound: number): SqlQuery {
  const newest = newestRows(scope, subject, criteria, bound)
  const text = textConditions(scope, criteria)!
  return {
    sql: `select count(*) as total from (select 1 from (${newest.sql}) walked where ${text.sql} limit ${limit + 1}) matching`,
    params: [...newest.params, ...text.params]
  }
}

/**
 * One page from at most `bound` rows, sorted as the page is: walked in
 * the page's order and each tested (`walk`), or the first matches the
 * trigram indexes give in any order (`pick`, sent by `readByTrigrams`),
 * which is the whole page only when the matches number no more than
 * `bound`. The inner query names its sort keys as columns, so a walk's
 * order carries through and nothing is sorted again.
 */
export function boundedPageQuery (
  scope: HistoryScope, subject: HistorySubject | null, criteria: HistoryCriteria, page: number | 'last', bound: number, how: 'walk' | 'pick', stated = STATED
): SqlQuery {
  const terms = orderBy(criteria, page === 'last')
  const inner = how === 'walk' ? visibleRows(scope, subject, withoutText(criteria)) : pickedRows(scope, subject, criteria, stated)
  const outer = how === 'walk' ? textConditions(scope, criteria)! : { sql: 'true', params: [] }
  const shown = shownColumns(scope)
  const walkOrder = how === 'walk' ? `order by ${ordering(criteria, page === 'last')}` : ''
  return {
    sql: `select ${shown.sql}
            from (select id, occurred_at, user_id, user_name, action, page, record_type, record_id, patient_id, outcome, description, url, ip, changes,
                         ${terms.map(([sql], i) => `${sql} as sort_${i}`).join(', ')}
                    from audit_records where ${inner.sql} ${walkOrder} limit ${bound}) bounded
           where ${outer.sql}
           order by ${terms.map(([, dir], i) => `sort_${i} ${dir}`).join(', ')} limit ? offset ?`,
    params: [...shown.params, ...inner.params, ...outer.params, ...pageWindow(criteria, page)]
  }
}

/**
 * The planner multiplies the selectivities of the conditions it is given
 * and keeps a condition given twice. Stated four times, a text its
 * statistics put in a third of the rows (because other practices use it)
 * looks like one in eighty, so the trigram index, which reads only this
 * practice's matches, costs less than a bitmap of the whole practice; and
 * the index reads a repeated text's trigrams once.
 */
const STATED = 4

/** The rows the text filters keep, with the text stated `stated` times. */
function pickedRows (scope: HistoryScope, subject: HistorySubject | null, criteria: HistoryCriteria, stated = STATED): SqlQuery {
  const where = visibleRows(scope, subject, criteria)
  const text = textConditions(scope, criteria)!
  const again = Array.from({ length: stated - 1 }, () => text)
  return { sql: [where.sql, ...again.map(t => `(${t.sql})`)].join(' and '), params: [...where.params, ...again.flatMap(t => t.params)] }
}

/** Counts the matches, up to `limit` + 1, through the trigram indexes (sent by `readByTrigrams`). */
export function pickedCountQuery (scope: HistoryScope, subject: HistorySubject | null, criteria: HistoryCriteria, limit: number, stated = STATED): SqlQuery {
  return countOf(pickedRows(scope, subject, criteria, stated), limit)
}

/** One page of the matches picked out by the trigram indexes and sorted (sent by `readByTrigrams`). */
export function pickedPageQuery (scope: HistoryScope, subject: HistorySubject | null, criteria: HistoryCriteria, page: number | 'last', stated = STATED): SqlQuery {
  return pageOf(scope, pickedRows(scope, subject, criteria, stated), criteria, page)
}

/** The trigram indexes over the description and the URL, as their migration names them. */
export const TRIGRAM_INDEXES = ['audit_group_description_trgm_idx', 'audit_group_url_trgm_idx']

interface PlanNode { 'Node Type': string, 'Index Name'?: string, Plans?: PlanNode[] }

/** Every node of a plan that reads the table or an index, at any depth. */
function scansIn (node: PlanNode): PlanNode[] {
  const own = node['Node Type'].endsWith('Scan') && node['Node Type'] !== 'Subquery Scan' ? [node] : []
  return [...own, ...(node.Plans ?? []).flatMap(scansIn)]
}

/**
 * Whether PostgreSQL, left to its statistics, reaches the rows of `query`
 * through the trigram indexes and nothing else: a planning round trip
 * (under a millisecond) that spares the switched-off transaction and the
 * repeated text, whose rechecks cost several milliseconds on a thousand
 * matches, whenever the statistics already see the text as rare.
 */
async function plannedByTrigrams (read: TextSearchReader, query: SqlQuery): Promise<boolean> {
  const [row] = await read<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>({ sql: `explain (format json) ${query.sql}`, params: query.params }, false)
  const scans = scansIn(row!['QUERY PLAN'][0].Plan)
  const byTrigram = (scan: PlanNode): boolean => scan['Node Type'] === 'Bitmap Index Scan' && TRIGRAM_INDEXES.includes(scan['Index Name']!)
  return scans.some(byTrigram) && scans.every(scan => byTrigram(scan) || scan['Node Type'] === 'Bitmap Heap Scan')
}

/**
 * Runs a statement that must find its rows through the trigram indexes:
 * as it is when PostgreSQL would take them anyway, otherwise with the text
 * stated again and everything but bitmaps switched off.
 */
async function readByTrigrams<T> (read: TextSearchReader, statement: (stated: number) => SqlQuery): Promise<T[]> {
  const plain = statement(1)
  return await plannedByTrigrams(read, plain) ? read<T>(plain, false) : read<T>(statement(STATED), true)
}

/**
 * How many rows match, exactly up to `limit` and `limit` + 1 beyond: a
 * walk when the text is common enough to find them soon, the trigram
 * indexes when it is not, or when the walk came back short.
 */
export async function countMatching (
  read: TextSearchReader, scope: HistoryScope, subject: HistorySubject | null, criteria: HistoryCriteria, limit: number, share: number
): Promise<number> {
  const bound = walkBound(share, limit + 1)
  if (bound !== null) {
    const [walked] = await read<{ total: string }>(walkedCountQuery(scope, subject, criteria, limit, bound), false)
    if (Number(walked!.total) > limit) return Number(walked!.total)
  }
  const [counted] = await readByTrigrams<{ total: string }>(read, stated => pickedCountQuery(scope, subject, criteria, limit, stated))
  return Number(counted!.total)
}

/**
 * One page of the matches, given the count (`total`, up to `limit` + 1)
 * that runs beside it. A walk that finds a full page is done. Otherwise
 * the trigram indexes give the first `limit` + 1 matches in any order,
 * which are all of them when the count says so; when the count says there
 * are more (a text common here once but not lately), a walk is tried
 * before the last resort, which reads and sorts every match.
 */
export async function readMatchingPage (
  read: TextSearchReader, scope: HistoryScope, subject: HistorySubject | null, criteria: HistoryCriteria, page: number | 'last',
  share: number, limit: number, total: Promise<number>
): Promise<HistoryRow[]> {
  const inOrder = (rows: Record<string, unknown>[]): HistoryRow[] => {
    const shown = rows.map(toRow)
    return page === 'last' ? shown.reverse() : shown
  }
  const bound = walkBound(share, page === 'last' ? criteria.size : page * criteria.size)
  const walk = async (): Promise<HistoryRow[]> =>
    inOrder(await read(boundedPageQuery(scope, subject, criteria, page, bound ?? WALK_BUDGET, 'walk'), false))
  if (bound !== null) {
    const walked = await walk()
    if (walked.length === criteria.size) return walked
  }
  const picked = inOrder(await readByTrigrams(read, stated => boundedPageQuery(scope, subject, criteria, page, limit + 1, 'pick', stated)))
  if (await total <= limit) return picked
  if (bound === null) {
    const walked = await walk()
    if (walked.length === criteria.size) return walked
  }
  return inOrder(await readByTrigrams(read, stated => pickedPageQuery(scope, subject, criteria, page, stated)))
}

/**
 * With index walks and sequential scans switched off for the one
 * transaction, the planner can reach rows only through bitmaps: it cannot
 * choose to walk a practice end to end because its statistics think a
 * word is common.
 */
export const TRIGRAMS_ONLY = "select set_config('enable_indexscan', 'off', true), set_config('enable_indexonlyscan', 'off', true), set_config('enable_seqscan', 'off', true)"

/** The app's reader: statements on the EntityManager's connection, a trigram read in a transaction of its own. */
export function readerOf (em: EntityManager): TextSearchReader {
  return async <T>(query: SqlQuery, byTrigrams: boolean): Promise<T[]> => {
    if (!byTrigrams) return em.getConnection().execute<T[]>(query.sql, query.params)
    return em.transactional(async tx => {
      const connection = tx.getConnection()
      await connection.execute(TRIGRAMS_ONLY, [], 'all', tx.getTransactionContext())
      return connection.execute<T[]>(query.sql, query.params, 'all', tx.getTransactionContext())
    })
  }
}
