import type { Readable } from 'node:stream'
import { IsolationLevel, type EntityManager } from '@mikro-orm/core'
import { EVERYTHING, type HistoryCriteria, type HistoryScope } from '../audit-records/criteria.js'
import { countVisiblePerPersonAndAction, readVisibleNewestPerPerson, type PersonActionCount } from '../audit-records/person-reads.js'
import type { HistoryRow } from '../audit-records/reads.js'
import { ACTIONS, type Action } from '../audit-records/record.js'
import { openHistoryExport } from '../history/history-export.js'
import type { ReportPeriod } from './period.js'

/**
 * Each person's newest accesses listed one by one, at most this many: a
 * report stays printable however busy a patient's record is. The counts
 * and the first and last access always cover every access, and the CSV
 * lists every one.
 */
export const LISTED_PER_PERSON = 200

export type ActionCounts = Partial<Record<Action, number>>

export interface PersonAccesses {
  userId: number | null
  /** The name the person's latest access was recorded under. */
  name: string
  first: Date
  last: Date
  counts: ActionCounts
  total: number
  /** The newest accesses, at most LISTED_PER_PERSON, newest first. */
  listed: HistoryRow[]
}

export interface AccessReport {
  /** By name, then user. */
  people: PersonAccesses[]
  counts: ActionCounts
  total: number
  /** The actions that occur in the report, in the history's order. */
  actions: Action[]
}

/** What a report reads: every record concerning the patient in the period, as the scope lets this viewer see it (the CSV's order: by person). */
export function reportCriteria (patientId: number, period: ReportPeriod): HistoryCriteria {
  return { ...EVERYTHING, sort: 'user', dir: 'asc', since: period.since, until: period.until, patientId }
}

const personKey = (userId: number | null, userName: string): string => userId === null ? `name:${userName}` : `user:${userId}`

function groupByPerson (counts: PersonActionCount[], listed: HistoryRow[]): PersonAccesses[] {
  const people = new Map<string, PersonAccesses>()
  for (const c of counts) {
    const key = personKey(c.userId, c.userName)
    const person = people.get(key)
    if (!person) {
      people.set(key, { userId: c.userId, name: c.userName, first: c.first, last: c.last, counts: { [c.action]: c.count }, total: c.count, listed: [] })
      continue
    }
    if (c.last > person.last) Object.assign(person, { name: c.userName, last: c.last })
    if (c.first < person.first) person.first = c.first
    person.counts[c.action] = (person.counts[c.action] ?? 0) + c.count
    person.total += c.count
  }
  for (const row of listed) people.get(personKey(row.userId, row.userName))?.listed.push(row)
  return [...people.values()].sort((a, b) => a.name.localeCompare(b.name) || (a.userId ?? 0) - (b.userId ?? 0))
}

/**
 * Who accessed a patient in a period, as far as this viewer's scope shows:
 * every view, change, export and denied attempt recorded about the patient
 * or their appointments and invoices, grouped by person. Counts and list
 * come from one snapshot, so they agree.
 */
export async function produceAccessReport (em: EntityManager, scope: HistoryScope, patientId: number, period: ReportPeriod): Promise<AccessReport> {
  const criteria = reportCriteria(patientId, period)
  const { counts, listed } = await em.transactional(async snapshot => ({
    counts: await countVisiblePerPersonAndAction(snapshot, scope, criteria),
    listed: await readVisibleNewestPerPerson(snapshot, scope, criteria, LISTED_PER_PERSON)
  }), { isolationLevel: IsolationLevel.REPEATABLE_READ, readOnly: true })
  const people = groupByPerson(counts, listed)
  const totals: ActionCounts = {}
  for (const c of counts) totals[c.action] = (totals[c.action] ?? 0) + c.count
  return {
    people,
    counts: totals,
    total: people.reduce((sum, person) => sum + person.total, 0),
    actions: ACTIONS.filter(action => totals[action] !== undefined)
  }
}

/**
 * The report as CSV, one row per access with the person, ordered by
 * person: the history's own CSV export (streamed by COPY, every cell
 * formula-inert, dates in `timeZone`) over the report's records.
 * `beforeStreaming` gets the row count and runs before the first byte.
 */
export async function openAccessReportCsv (
  em: EntityManager, scope: HistoryScope, patientId: number, period: ReportPeriod, timeZone: string, beforeStreaming: (count: number) => Promise<void>
): Promise<Readable> {
  return openHistoryExport(em, scope, null, reportCriteria(patientId, period), { format: 'csv', timeZone }, beforeStreaming)
}
