import type pg from 'pg'
import { DAY_MS } from '../src/domain/time/zoned.js'
import { toPg } from '../src/db/sql.js'
import { interpret } from '../src/domain/history/history-criteria.js'
import { readParams } from '../src/domain/history/history-params.js'
import { COLUMNS } from '../src/domain/audit-records/criteria.js'
import { COUNT_LIMIT, TEXT_COUNT_LIMIT, type HistorySubject } from '../src/domain/history/history.service.js'
import { countQuery, pageQuery } from '../src/domain/audit-records/reads.js'
import { countMatching, readMatchingPage, sampleShare, TRIGRAMS_ONLY, type TextSearchReader } from '../src/domain/audit-records/text-search.js'
import { searchesText } from '../src/domain/audit-records/visible.js'
import type { HistoryScope } from '../src/domain/history/access.js'
import { ELSEWHERE_WORD, FOCAL_RECORDS } from './generate.js'
import { ms, sample, type HttpUser, type Stats } from './measure.js'

type SqlQuery = ReturnType<typeof countQuery>

export interface HistoryCase { name: string, query: string, subject?: HistorySubject }
export interface CaseResult { name: string, app: Stats, sql: Stats }

/** What the history cases read: the largest practice, one of its users, one of its addresses, the focal patient. */
export interface CaseSetting {
  scope: HistoryScope
  userIds: number[]
  someIp: string
  focalPatientId: number
  now: Date
}

/** Every sort, each filter on its own and combined, paging, and one patient's record history. */
export function historyCases (s: CaseSetting): HistoryCase[] {
  const user = s.userIds[0]!
  const [a, b] = s.someIp.split('.')
  const from = new Date(s.now.getTime() - 60 * DAY_MS).toISOString().slice(0, 10)
  const to = new Date(s.now.getTime() - 30 * DAY_MS).toISOString().slice(0, 10)
  return [
    { name: 'default order (newest first)', query: '' },
    ...COLUMNS.flatMap(c => (['asc', 'desc'] as const).map(dir => ({ name: `sort ${c} ${dir}`, query: `sort=${c}&dir=${dir}` }))),
    { name: 'filter date: last 30 days', query: 'range=last-30-days' },
    { name: 'filter user', query: `user=${user}` },
    { name: 'filter action: update', query: 'action=update' },
    { name: 'filter page: Invoice', query: 'pageName=Invoice' },
    { name: 'filter ID (exact)', query: 'id=123' },
    { name: 'filter IP (exact)', query: `ip=${encodeURIComponent(s.someIp)}` },
    { name: 'filter IP (CIDR /16)', query: `ip=${a}.${b}.0.0%2F16` },
    { name: 'user + 2 actions + date range', query: `user=${user}&action=view&action=update&from=${from}&to=${to}` },
    { name: 'description contains a common word', query: 'description=patient' },
    { name: 'description contains a rare word', query: 'description=zanzibar' },
    { name: 'description contains nothing', query: 'description=qqxqqxqq' },
    { name: 'description contains a word only other practices use', query: `description=${ELSEWHERE_WORD}` },
    { name: 'URL contains', query: 'url=tab%3Dnotes' },
    { name: 'page 1', query: 'page=1' },
    { name: 'page 200', query: 'page=200' },
    { name: `record history: patient with ${FOCAL_RECORDS.toLocaleString()} records`, query: '', subject: { recordType: 'patient', recordId: String(s.focalPatientId) } }
  ]
}

export function caseUrl (c: HistoryCase, focalPatientId: number): string {
  const path = c.subject ? `/patients/${focalPatientId}/history` : '/settings/users/history'
  return c.query ? `${path}?${c.query}` : path
}

/** What is done with each statement of a case besides running it: nothing while timing, EXPLAIN when listing the indexes read. */
type EachStatement = (q: SqlQuery, byTrigrams: boolean) => Promise<void>

/** Runs a statement in a transaction where only bitmaps, and so the trigram indexes, reach the rows, as the app's text search does. */
async function inTrigramsOnly<T> (db: pg.Client, work: () => Promise<T>): Promise<T> {
  await db.query('begin')
  try {
    await db.query(TRIGRAMS_ONLY)
    return await work()
  } finally {
    await db.query('commit')
  }
}

function readerOn (db: pg.Client, each: EachStatement): TextSearchReader {
  return async <T>(q: SqlQuery, byTrigrams: boolean): Promise<T[]> => {
    const send = async (): Promise<T[]> => (await db.query(toPg(q.sql), q.params)).rows as T[]
    const rows = byTrigrams ? await inTrigramsOnly(db, send) : await send()
    await each(q, byTrigrams)
    return rows
  }
}

/**
 * The statements of a case as the app sends them: under a text filter the
 * sample that decides how to count and read, then the count, then the
 * page once the count is known.
 */
async function runCase (c: HistoryCase, s: CaseSetting, db: pg.Client, each: EachStatement = async () => {}): Promise<void> {
  const choices = { users: s.userIds.map(id => ({ id, name: '' })), pages: ['Invoice', 'Patient profile', 'Appointment', 'Patients'] }
  const { criteria, problems } = interpret(readParams(Object.fromEntries(new URLSearchParams(c.query).entries()) as Record<string, unknown>), choices, s.now, 'Australia/Sydney')
  if (problems.length) throw new Error(`${c.name}: ${problems.map(p => p.message).join('; ')}`)
  // URLSearchParams keeps only the last of repeated keys; the app reads them all.
  if (c.query.includes('user=')) criteria.userIds = [s.userIds[0]!]
  if (c.query.includes('action=view&action=update')) criteria.actions = ['view', 'update']
  const subject = c.subject ?? null
  const pageOf = (total: number, limit: number): number => total > limit ? criteria.page : Math.min(criteria.page, Math.max(1, Math.ceil(total / criteria.size)))
  if (searchesText(criteria)) {
    const read = readerOn(db, each)
    const share = await sampleShare(read, s.scope, subject, criteria)
    const total = await countMatching(read, s.scope, subject, criteria, TEXT_COUNT_LIMIT, share)
    await readMatchingPage(read, s.scope, subject, criteria, pageOf(total, TEXT_COUNT_LIMIT), share, TEXT_COUNT_LIMIT, Promise.resolve(total))
    return
  }
  const counting = countQuery(s.scope, subject, criteria, COUNT_LIMIT)
  const { rows: [{ total }] } = await db.query<{ total: string }>(toPg(counting.sql), counting.params)
  const paging = pageQuery(s.scope, subject, criteria, pageOf(Number(total), COUNT_LIMIT))
  await db.query(toPg(paging.sql), paging.params)
  await each(counting, false)
  await each(paging, false)
}

/** Each case over HTTP through the app, then the same count and page queries straight to PostgreSQL. */
export async function measureCases (cases: HistoryCase[], s: CaseSetting, user: HttpUser, db: pg.Client, samples: number, log: (line: string) => void): Promise<CaseResult[]> {
  const results: CaseResult[] = []
  for (const c of cases) {
    const app = await sample(() => user.get(caseUrl(c, s.focalPatientId)), samples)
    const sql = await sample(() => runCase(c, s, db), samples)
    results.push({ name: c.name, app, sql })
    log(`${c.name}: app p50 ${ms(app.p50)} p95 ${ms(app.p95)} · SQL p50 ${ms(sql.p50)} p95 ${ms(sql.p95)} ms`)
  }
  return results
}

/** The names of the indexes a plan reads, at any depth. */
function indexesIn (plan: Record<string, unknown>): string[] {
  const own = typeof plan['Index Name'] === 'string' ? [plan['Index Name']] : []
  const children = (plan.Plans as Record<string, unknown>[] | undefined) ?? []
  return [...own, ...children.flatMap(indexesIn)]
}

/**
 * The cases each index serves, by index name, from PostgreSQL's own plans
 * (EXPLAIN) of every case's count and page queries: what the storage table
 * says an index is for cannot drift from what the queries use.
 */
export async function casesByIndex (cases: HistoryCase[], s: CaseSetting, db: pg.Client): Promise<Map<string, string[]>> {
  const served = new Map<string, string[]>()
  const explain = async (q: SqlQuery, byTrigrams: boolean): Promise<string[]> => {
    const send = (): Promise<pg.QueryResult<{ 'QUERY PLAN': [{ Plan: Record<string, unknown> }] }>> => db.query(`explain (format json) ${toPg(q.sql)}`, q.params)
    const { rows: [row] } = byTrigrams ? await inTrigramsOnly(db, send) : await send()
    return indexesIn(row!['QUERY PLAN'][0].Plan)
  }
  for (const c of cases) {
    const read = new Set<string>()
    await runCase(c, s, db, async (q, byTrigrams) => {
      // A search asks for some plans itself before it reads; those read nothing.
      if (q.sql.startsWith('explain')) return
      for (const index of await explain(q, byTrigrams)) read.add(index)
    })
    for (const index of read) served.set(index, [...served.get(index) ?? [], c.name])
  }
  return served
}
