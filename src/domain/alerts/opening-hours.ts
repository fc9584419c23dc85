import { toLocalInput } from '../time/zoned.js'
import type { OpeningHours } from './rules.js'

/** The ISO weekday (1 is Monday) of a local date "2026-11-25". */
function isoWeekday (localDate: string): number {
  const day = new Date(`${localDate}T00:00:00Z`).getUTCDay()
  return day === 0 ? 7 : day
}

/** Whether the instant falls outside the practice's hours on that local weekday; a day without hours is closed all day. */
export function outsideOpeningHours (instant: Date, timeZone: string, hours: OpeningHours): boolean {
  const local = toLocalInput(instant, timeZone)
  const day = hours[isoWeekday(local.slice(0, 10))]
  if (!day) return true
  const time = local.slice(11, 16)
  return time < day.opens || time >= day.closes
}
