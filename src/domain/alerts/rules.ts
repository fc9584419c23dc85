/** The snooping rules, each a per-practice setting; the alert pass applies the ones a practice has on. */
export const RULES = ['family-name', 'own-record', 'after-hours', 'many-patients', 'large-export', 'denied-attempts', 'break-the-glass'] as const
export type Rule = typeof RULES[number]

export const RULE_NAMES: Record<Rule, string> = {
  'family-name': 'Shared family name',
  'own-record': 'Own patient record',
  'after-hours': 'Outside opening hours',
  'many-patients': 'Many patients in a short time',
  'large-export': 'Large export',
  'denied-attempts': 'Repeated denied attempts',
  'break-the-glass': 'Break-the-glass access'
}

/** ISO weekdays, 1 is Monday. */
export const WEEKDAYS = [1, 2, 3, 4, 5, 6, 7] as const
export const WEEKDAY_NAMES = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'] as const

/** One weekday's hours as "HH:MM"; a day without hours is closed. */
export interface DayHours { opens: string, closes: string }
export type OpeningHours = Partial<Record<number, DayHours>>

export interface AlertSettings {
  on: Record<Rule, boolean>
  manyPatients: { count: number, minutes: number }
  largeExport: { count: number }
  deniedAttempts: { count: number, minutes: number }
  openingHours: OpeningHours
}

const WEEKDAY_HOURS: DayHours = { opens: '07:00', closes: '19:00' }

export const DEFAULT_SETTINGS: AlertSettings = {
  on: { 'family-name': true, 'own-record': true, 'after-hours': true, 'many-patients': true, 'large-export': true, 'denied-attempts': true, 'break-the-glass': true },
  manyPatients: { count: 30, minutes: 10 },
  largeExport: { count: 1000 },
  deniedAttempts: { count: 10, minutes: 10 },
  openingHours: { 1: WEEKDAY_HOURS, 2: WEEKDAY_HOURS, 3: WEEKDAY_HOURS, 4: WEEKDAY_HOURS, 5: WEEKDAY_HOURS, 6: { opens: '08:00', closes: '13:00' } }
}

/** The limits a form may set, which the database checks too. */
export const LIMITS = {
  count: { min: 1, max: 10_000 },
  exportCount: { min: 1, max: 100_000_000 },
  minutes: { min: 1, max: 1440 }
} as const
