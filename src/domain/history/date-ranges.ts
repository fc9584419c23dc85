import { fromLocalInput, localIsoDate } from '../time/zoned.js'

export const DATE_RANGES = {
  today: 'Today',
  yesterday: 'Yesterday',
  'last-7-days': 'Last 7 days',
  'last-30-days': 'Last 30 days',
  'this-month': 'This month',
  custom: 'Custom range'
} as const

export type DateRange = keyof typeof DATE_RANGES

export function isDateRange (value: string): value is DateRange {
  return Object.hasOwn(DATE_RANGES, value)
}

/** Half-open interval: from `since` (inclusive) up to `until` (exclusive). */
export interface Interval { since: Date | null, until: Date | null }

function addDays (isoDate: string, days: number): string {
  const date = new Date(`${isoDate}T00:00:00Z`)
  date.setUTCDate(date.getUTCDate() + days)
  return date.toISOString().slice(0, 10)
}

function midnight (isoDate: string, timeZone: string): Date {
  return fromLocalInput(`${isoDate}T00:00`, timeZone)!
}

/** A named range as calendar days in the practice's time zone ("Today" is its today, not the server's). */
export function presetInterval (range: Exclude<DateRange, 'custom'>, now: Date, timeZone: string): Interval {
  const today = localIsoDate(now, timeZone)
  const days = (first: number, last: number): Interval =>
    ({ since: midnight(addDays(today, first), timeZone), until: midnight(addDays(today, last + 1), timeZone) })
  switch (range) {
    case 'today': return days(0, 0)
    case 'yesterday': return days(-1, -1)
    case 'last-7-days': return days(-6, 0)
    case 'last-30-days': return days(-29, 0)
    case 'this-month': return { since: midnight(`${today.slice(0, 8)}01`, timeZone), until: midnight(addDays(today, 1), timeZone) }
  }
}

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/

/**
 * A "from" or "to" boundary typed as a local date and time (or just a date).
 * "To" includes the whole minute, or the whole day, that it names.
 */
export function boundary (value: string, timeZone: string, end: 'from' | 'to'): Date | null {
  if (DATE_ONLY.test(value)) {
    const start = fromLocalInput(`${value}T00:00`, timeZone)
    return start && end === 'to' ? midnight(addDays(value, 1), timeZone) : start
  }
  const instant = fromLocalInput(value, timeZone)
  return instant && end === 'to' ? new Date(instant.getTime() + 60_000) : instant
}
