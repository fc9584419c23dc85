import { DAY_MS, fromLocalInput, localIsoDate } from '../domain/time/zoned.js'

/** A stretch of a day the clinic is open, in minutes after local midnight. */
export interface OpenPeriod { opens: number, closes: number }

/** A local date, "2026-11-25", and when the clinic is open on it. */
export interface ClinicDay { date: string, periods: OpenPeriod[] }

const at = (hour: number, minute = 0): number => hour * 60 + minute
const WEEKDAY: OpenPeriod[] = [{ opens: at(8), closes: at(12, 30) }, { opens: at(13, 30), closes: at(18) }]

/**
 * The demo clinic's hours in its own time zone, by ISO weekday (1 is
 * Monday): 08:00–18:00 on weekdays with a quiet hour at lunch, Saturday
 * morning, closed on Sunday. They sit inside the alert rules' default
 * opening hours, so a day's ordinary work raises no after-hours alert.
 */
const CLINIC_HOURS: Record<number, OpenPeriod[]> = { 1: WEEKDAY, 2: WEEKDAY, 3: WEEKDAY, 4: WEEKDAY, 5: WEEKDAY, 6: [{ opens: at(8), closes: at(12) }], 7: [] }

export function isoWeekday (date: string): number {
  const day = new Date(`${date}T00:00:00Z`).getUTCDay()
  return day === 0 ? 7 : day
}

export function clinicDay (date: string): ClinicDay {
  return { date, periods: CLINIC_HOURS[isoWeekday(date)]! }
}

export function addDays (date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10)
}

/** The instant the clinic's clocks show `minutes` after midnight on a local date. */
export function atMinute (date: string, minutes: number, timeZone: string): Date {
  const hhmm = `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`
  return fromLocalInput(`${date}T${hhmm}`, timeZone)!
}

/** The days the clinic opened from `days` days before `now` to today, oldest first. */
export function openDaysSince (now: Date, days: number, timeZone: string): ClinicDay[] {
  const today = localIsoDate(now, timeZone)
  const open: ClinicDay[] = []
  for (let back = days; back >= 0; back--) {
    const day = clinicDay(addDays(today, -back))
    if (day.periods.length > 0) open.push(day)
  }
  return open
}

/** The first day after `date` that the clinic opens. */
export function nextOpenDay (date: string): ClinicDay {
  for (let ahead = 1; ; ahead++) {
    const day = clinicDay(addDays(date, ahead))
    if (day.periods.length > 0) return day
  }
}
