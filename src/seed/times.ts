import { DAY_MS, fromLocalInput, localIsoDate } from '../domain/time/zoned.js'
import { clinicDay, isoWeekday } from './clinic-hours.js'

/** The local time on the latest day at least `daysAgo` days before `now` that `suits`. */
function latestDayAt (now: Date, timeZone: string, time: string, daysAgo: number, suits: (date: string) => boolean): Date {
  for (let back = daysAgo; ; back++) {
    const date = localIsoDate(new Date(now.getTime() - back * DAY_MS), timeZone)
    if (suits(date)) return fromLocalInput(`${date}T${time}`, timeZone)!
  }
}

/**
 * The most recent weekday before `now` in the time zone, at the local time
 * given: demo events placed inside or outside opening hours on purpose,
 * whatever time the demo is loaded.
 */
export function lastWeekdayAt (now: Date, timeZone: string, time: string): Date {
  return latestDayAt(now, timeZone, time, 1, date => isoWeekday(date) <= 5)
}

/**
 * The latest day the clinic opened, at least `daysAgo` days before `now`,
 * at the local time given (one inside Saturday's shorter hours too).
 */
export function lastOpenDayAt (now: Date, timeZone: string, time: string, daysAgo: number): Date {
  return latestDayAt(now, timeZone, time, daysAgo, date => clinicDay(date).periods.length > 0)
}
