import type { HistoryWindow } from '../audit-records/criteria.js'
import { boundary } from '../history/date-ranges.js'
import { formatDateTime, isRealIsoDate } from '../time/zoned.js'

/** The From and To dates exactly as the report's form sends them (YYYY-MM-DD in the practice's time zone, or empty). */
export interface PeriodInput { from: string, to: string }

export interface PeriodProblem { param: keyof PeriodInput, message: string }

/**
 * What a report covers: from `since` up to `until` (exclusive), or up to
 * the moment it is produced when `until` is null. Never earlier than the
 * viewer's visible window.
 */
export interface ReportPeriod { since: Date, until: Date | null }

/** A date as the form sends it, as the instant its day starts ("from") or the next day starts ("to"). */
function readDate (value: string, timeZone: string, end: 'from' | 'to'): Date | null {
  return isRealIsoDate(value) ? boundary(value, timeZone, end) : null
}

/**
 * The period a report asks for: From and To are whole days in the
 * practice's time zone (To includes its day); either may be left empty,
 * and a From before the visible window starts at the window. A date that
 * cannot be read, a From after the To or after today, or a To before the
 * window is a problem to show, never a period guessed at.
 */
export function readPeriod (input: PeriodInput, window: HistoryWindow, now: Date, timeZone: string): { period: ReportPeriod, problems: PeriodProblem[] } {
  const problems: PeriodProblem[] = []
  const read = (param: keyof PeriodInput): Date | null => {
    if (!input[param]) return null
    const instant = readDate(input[param], timeZone, param)
    if (!instant) problems.push({ param, message: `${param === 'from' ? 'From' : 'To'}: "${input[param]}" is not a date. Use the form 2026-11-25.` })
    return instant
  }
  const from = read('from')
  const to = read('to')
  if (from && from > now) problems.push({ param: 'from', message: 'The From date is in the future, so there is nothing to report yet.' })
  if (from && to && from >= to) problems.push({ param: 'to', message: 'The From date must not be after the To date.' })
  else if (to && to <= window.since) problems.push({ param: 'to', message: `The To date is before ${formatDateTime(window.since, timeZone)}, where the history you can see begins.` })
  return { period: { since: from && from > window.since ? from : window.since, until: to }, problems }
}

/** "18/11/2026 14:03 to 25/11/2026 23:59": the first and last minute the period covers so far, in the practice's time zone. */
export function periodInWords (period: ReportPeriod, now: Date, timeZone: string): string {
  const end = period.until && period.until <= now ? new Date(period.until.getTime() - 60_000) : now
  return `${formatDateTime(period.since, timeZone)} to ${formatDateTime(end, timeZone)}`
}
