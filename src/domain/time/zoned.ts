/** Date and time in a practice's own time zone, without a library: Intl knows the rules. */

export const DAY_MS = 86_400_000

interface LocalParts { year: number, month: number, day: number, hour: number, minute: number, second: number }

const formatters = new Map<string, Intl.DateTimeFormat>()

/** Building a formatter costs far more than using one, and a history page formats hundreds of dates. */
function formatterFor (timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone)
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-AU', {
      timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23'
    })
    formatters.set(timeZone, formatter)
  }
  return formatter
}

const offsets = new Map<string, number | null>()

function intlOffset (instant: number, timeZone: string): number {
  const parts = formatterFor(timeZone).formatToParts(new Date(instant))
  const get = (type: string): number => Number(parts.find(p => p.type === type)?.value)
  return Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second')) - Math.floor(instant / 1000) * 1000
}

/**
 * The zone's offset from UTC at `instant`. Asking Intl is slow and a
 * history page formats hundreds of dates, mostly within a few hours, so
 * each zone's offset is remembered per hour of UTC when it is the same at
 * both ends of that hour; an hour with a change in it is asked about
 * instant by instant.
 */
function offsetFor (instant: number, timeZone: string): number {
  const hour = Math.floor(instant / 3_600_000) * 3_600_000
  const key = `${timeZone} ${hour}`
  let steady = offsets.get(key)
  if (steady === undefined) {
    const atStart = intlOffset(hour, timeZone)
    steady = atStart === intlOffset(hour + 3_599_000, timeZone) ? atStart : null
    if (offsets.size >= 50_000) offsets.clear()
    offsets.set(key, steady)
  }
  return steady ?? intlOffset(instant, timeZone)
}

function localParts (instant: Date, timeZone: string): LocalParts {
  const local = new Date(instant.getTime() + offsetFor(instant.getTime(), timeZone))
  return {
    year: local.getUTCFullYear(), month: local.getUTCMonth() + 1, day: local.getUTCDate(),
    hour: local.getUTCHours(), minute: local.getUTCMinutes(), second: local.getUTCSeconds()
  }
}

const pad = (n: number, width = 2): string => String(n).padStart(width, '0')

/** "25/11/2026 10:00" */
export function formatDateTime (instant: Date | string, timeZone: string): string {
  const p = localParts(new Date(instant), timeZone)
  return `${pad(p.day)}/${pad(p.month)}/${p.year} ${pad(p.hour)}:${pad(p.minute)}`
}

/** "25/11/2026 10:00:05", for the history, where seconds tell events apart. */
export function formatDateTimeSeconds (instant: Date | string, timeZone: string): string {
  const p = localParts(new Date(instant), timeZone)
  return `${pad(p.day)}/${pad(p.month)}/${p.year} ${pad(p.hour)}:${pad(p.minute)}:${pad(p.second)}`
}

/** "10:00" */
export function formatTime (instant: Date | string, timeZone: string): string {
  const p = localParts(new Date(instant), timeZone)
  return `${pad(p.hour)}:${pad(p.minute)}`
}

/** "2026-11-25" → "25/11/2026" */
export function formatIsoDate (isoDate: string): string {
  const [year, month, day] = isoDate.split('-')
  return `${day}/${month}/${year}`
}

/** The value a `datetime-local` input shows for an instant: "2026-11-25T10:00". */
export function toLocalInput (instant: Date | string, timeZone: string): string {
  const p = localParts(new Date(instant), timeZone)
  return `${p.year}-${pad(p.month)}-${pad(p.day)}T${pad(p.hour)}:${pad(p.minute)}`
}

/** Today's date in the time zone, "2026-11-25". */
export function localIsoDate (instant: Date, timeZone: string): string {
  const p = localParts(instant, timeZone)
  return `${p.year}-${pad(p.month)}-${pad(p.day)}`
}

const LOCAL_INPUT = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})$/
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/

/** Whether "2026-02-30" is a real calendar date. */
export function isRealIsoDate (value: string): boolean {
  const match = ISO_DATE.exec(value)
  if (!match) return false
  const [year, month, day] = match.slice(1).map(Number) as [number, number, number]
  const date = new Date(Date.UTC(year, month - 1, day))
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day
}

/** Minutes the zone is ahead of UTC at an instant. */
function offsetAt (instant: number, timeZone: string): number {
  const p = localParts(new Date(instant), timeZone)
  return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute) - Math.floor(instant / 60_000) * 60_000
}

/**
 * The instant at which clocks in `timeZone` show the given local time, or
 * null if it is malformed. A time skipped by a daylight-saving change is
 * read with the offset from before the change, which lands the same
 * distance after it (02:30 → 03:30); a time that happens twice is the
 * first of the two.
 */
export function fromLocalInput (value: string, timeZone: string): Date | null {
  const match = LOCAL_INPUT.exec(value)
  if (!match || !isRealIsoDate(value.slice(0, 10))) return null
  const [year, month, day, hour, minute] = match.slice(1).map(Number) as [number, number, number, number, number]
  if (hour > 23 || minute > 59) return null
  const wall = Date.UTC(year, month - 1, day, hour, minute)
  const before = wall - offsetAt(wall - DAY_MS, timeZone)
  const after = wall - offsetAt(wall + DAY_MS, timeZone)
  const shows = (instant: number): boolean => instant + offsetAt(instant, timeZone) === wall
  const matching = [before, after].filter(shows)
  return new Date(matching.length ? Math.min(...matching) : before)
}

function daysInMonth (year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate()
}

/**
 * The same wall-clock time `months` later in the time zone, on the same day
 * of the month or the month's last day when it is shorter: 31 January →
 * 28 (or 29) February → 31 March. Daylight-saving changes move the instant,
 * not the wall time.
 */
export function addMonthsInZone (start: Date, months: number, timeZone: string): Date {
  const p = localParts(start, timeZone)
  const index = p.year * 12 + (p.month - 1) + months
  const year = Math.floor(index / 12)
  const month = index % 12 + 1
  const day = Math.min(p.day, daysInMonth(year, month))
  const local = `${year}-${pad(month)}-${pad(day)}T${pad(p.hour)}:${pad(p.minute)}`
  return new Date(fromLocalInput(local, timeZone)!.getTime() + p.second * 1000 + start.getUTCMilliseconds())
}

