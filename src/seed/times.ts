import { DAY_MS, fromLocalInput, localIsoDate } from '../domain/time/zoned.js'

/**
 * The most recent weekday before `now` in the time zone, at the local time
 * given: demo events placed inside or outside opening hours on purpose,
 * whatever time the demo is loaded.
 */
export function lastWeekdayAt (now: Date, timeZone: string, time: string): Date {
  for (let daysAgo = 1; ; daysAgo++) {
    const date = localIsoDate(new Date(now.getTime() - daysAgo * DAY_MS), timeZone)
    const weekday = new Date(`${date}T00:00:00Z`).getUTCDay()
    if (weekday >= 1 && weekday <= 5) return fromLocalInput(`${date}T${time}`, timeZone)!
  }
}
