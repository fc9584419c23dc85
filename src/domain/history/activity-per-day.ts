import type { EntityManager } from '@mikro-orm/core'
import { fromLocalInput, localIsoDate } from '../time/zoned.js'
import type { HistoryCriteria } from '../audit-records/criteria.js'
import type { HistoryScope } from './access.js'
import { countVisiblePerDay } from '../audit-records/reads.js'
import { viewStart, type HistorySubject } from '../audit-records/visible.js'

/** The chart shows at most this many days: the newest ones of the view. */
export const CHART_DAYS = 90

export interface DayCount {
  /** The practice's local date, YYYY-MM-DD. */
  day: string
  count: number
}

export interface ActivityPerDay {
  days: DayCount[]
  total: number
  /** The view reaches back further than the chart shows. */
  truncated: boolean
}

function addDays (isoDate: string, days: number): string {
  const [year, month, day] = isoDate.split('-').map(Number) as [number, number, number]
  return new Date(Date.UTC(year, month - 1, day + days)).toISOString().slice(0, 10)
}

/**
 * Records per day of the practice's calendar for what this viewer sees
 * under these criteria (sorting and paging aside), every day of the range
 * present, empty ones as 0.
 */
export async function activityPerDay (
  em: EntityManager, scope: HistoryScope, subject: HistorySubject | null, criteria: HistoryCriteria, timeZone: string, now: Date
): Promise<ActivityPerDay> {
  const end = criteria.until && criteria.until < now ? criteria.until : now
  const start = viewStart(scope, criteria)
  const lastDay = localIsoDate(new Date(end.getTime() - 1), timeZone)
  const earliestShown = addDays(lastDay, -(CHART_DAYS - 1))
  const viewFirstDay = localIsoDate(start, timeZone)
  const truncated = viewFirstDay < earliestShown
  const firstDay = truncated ? earliestShown : viewFirstDay
  const dayStart = fromLocalInput(`${firstDay}T00:00`, timeZone)!
  const from = dayStart > start ? dayStart : start

  const counts = await countVisiblePerDay(em, scope, subject, criteria, timeZone, from)
  const days: DayCount[] = []
  for (let day = firstDay; day <= lastDay; day = addDays(day, 1)) days.push({ day, count: counts.get(day) ?? 0 })
  return { days, total: days.reduce((sum, d) => sum + d.count, 0), truncated }
}
