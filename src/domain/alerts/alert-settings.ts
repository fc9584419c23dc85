import type { EntityManager } from '@mikro-orm/core'
import { sqlIn } from '../../db/sql.js'
import type { Query } from '../chain/chain-store.js'
import type { FieldChangeRecord } from '../audit-records/record.js'
import { ValidationError, type FieldErrors } from '../errors.js'
import { DEFAULT_SETTINGS, LIMITS, RULES, RULE_NAMES, WEEKDAYS, WEEKDAY_NAMES, type AlertSettings, type DayHours, type OpeningHours, type Rule } from './rules.js'

/** The settings form as posted: ticked boxes are "on", unticked ones are absent. */
export type AlertSettingsForm = Record<string, string | undefined>

const RULE_COLUMNS: Record<Rule, string> = {
  'family-name': 'family_name',
  'own-record': 'own_record',
  'after-hours': 'after_hours',
  'many-patients': 'many_patients',
  'large-export': 'large_export',
  'denied-attempts': 'denied_attempts',
  'break-the-glass': 'break_the_glass'
}

interface SettingsRow extends Record<string, unknown> {
  many_patients_count: number
  many_patients_minutes: number
  large_export_count: number
  denied_attempts_count: number
  denied_attempts_minutes: number
}

interface HoursRow { weekday: number, opens: string, closes: string }

/** A practice's settings; the defaults until it saves its own. Read by requests and by the alert pass. */
export async function readAlertSettings (query: Query, practiceGroupId: number): Promise<AlertSettings> {
  const [row] = await query('select * from alert_settings where practice_group_id = ?', [practiceGroupId]) as SettingsRow[]
  if (!row) return DEFAULT_SETTINGS
  const hours = await query("select weekday, to_char(opens, 'HH24:MI') as opens, to_char(closes, 'HH24:MI') as closes from opening_hours where practice_group_id = ?", [practiceGroupId]) as unknown as HoursRow[]
  const openingHours: OpeningHours = {}
  for (const day of hours) openingHours[day.weekday] = { opens: day.opens, closes: day.closes }
  return {
    on: Object.fromEntries(RULES.map(rule => [rule, row[RULE_COLUMNS[rule]] === true])) as Record<Rule, boolean>,
    manyPatients: { count: row.many_patients_count, minutes: row.many_patients_minutes },
    largeExport: { count: row.large_export_count },
    deniedAttempts: { count: row.denied_attempts_count, minutes: row.denied_attempts_minutes },
    openingHours
  }
}

const TIME = /^([01]\d|2[0-3]):[0-5]\d$/

/** The form's name of each rule's checkbox and each number. */
export const FORM_FIELDS = {
  rule: (rule: Rule) => `rule-${rule}`,
  opens: (weekday: number) => `opens-${weekday}`,
  closes: (weekday: number) => `closes-${weekday}`
}

function wholeNumber (form: AlertSettingsForm, name: string, label: string, limits: { min: number, max: number }, errors: FieldErrors): number {
  const text = (form[name] ?? '').trim()
  const value = /^\d{1,9}$/.test(text) ? Number(text) : NaN
  if (Number.isNaN(value) || value < limits.min || value > limits.max) {
    errors[name] = `${label} must be a whole number from ${limits.min.toLocaleString('en-AU')} to ${limits.max.toLocaleString('en-AU')}.`
  }
  return value
}

function dayHours (form: AlertSettingsForm, weekday: number, errors: FieldErrors): DayHours | undefined {
  const opens = (form[FORM_FIELDS.opens(weekday)] ?? '').trim()
  const closes = (form[FORM_FIELDS.closes(weekday)] ?? '').trim()
  const name = WEEKDAY_NAMES[weekday - 1]!
  if (opens === '' && closes === '') return undefined
  if (!TIME.test(opens) || !TIME.test(closes)) {
    errors[FORM_FIELDS.opens(weekday)] = `Give ${name}'s opening and closing times as HH:MM (such as 07:00 and 19:00), or leave both empty if closed.`
    return undefined
  }
  if (closes <= opens) {
    errors[FORM_FIELDS.opens(weekday)] = `${name} must close after it opens.`
    return undefined
  }
  return { opens, closes }
}

/** The settings a form asks for, or every problem with it beside its field. */
export function readAlertSettingsForm (form: AlertSettingsForm): AlertSettings {
  const errors: FieldErrors = {}
  const openingHours: OpeningHours = {}
  for (const weekday of WEEKDAYS) {
    const hours = dayHours(form, weekday, errors)
    if (hours) openingHours[weekday] = hours
  }
  const settings: AlertSettings = {
    on: Object.fromEntries(RULES.map(rule => [rule, form[FORM_FIELDS.rule(rule)] === 'on'])) as Record<Rule, boolean>,
    manyPatients: {
      count: wholeNumber(form, 'manyPatientsCount', 'The number of patients', LIMITS.count, errors),
      minutes: wholeNumber(form, 'manyPatientsMinutes', 'The minutes for many patients', LIMITS.minutes, errors)
    },
    largeExport: { count: wholeNumber(form, 'largeExportCount', 'The number of exported records', LIMITS.exportCount, errors) },
    deniedAttempts: {
      count: wholeNumber(form, 'deniedAttemptsCount', 'The number of denied attempts', LIMITS.count, errors),
      minutes: wholeNumber(form, 'deniedAttemptsMinutes', 'The minutes for denied attempts', LIMITS.minutes, errors)
    },
    openingHours
  }
  if (Object.keys(errors).length > 0) throw new ValidationError(errors)
  return settings
}

const onOff = (on: boolean): string => on ? 'On' : 'Off'
const hoursText = (hours: DayHours | undefined): string => hours ? `${hours.opens}–${hours.closes}` : 'Closed'

/** What differs between two settings, field by field, in words a person reads. */
export function settingsChanges (before: AlertSettings, after: AlertSettings): FieldChangeRecord[] {
  const changes: FieldChangeRecord[] = []
  const compare = (field: string, label: string, old: string | number | boolean | null, next: string | number | boolean | null, text: (v: never) => string): void => {
    if (old !== next) changes.push({ field, label, before: old, after: next, beforeText: text(old as never), afterText: text(next as never) })
  }
  for (const rule of RULES) compare(FORM_FIELDS.rule(rule), RULE_NAMES[rule], before.on[rule], after.on[rule], onOff)
  const count = (n: number): string => n.toLocaleString('en-AU')
  compare('manyPatientsCount', 'Many patients: number', before.manyPatients.count, after.manyPatients.count, count)
  compare('manyPatientsMinutes', 'Many patients: minutes', before.manyPatients.minutes, after.manyPatients.minutes, count)
  compare('largeExportCount', 'Large export: records', before.largeExport.count, after.largeExport.count, count)
  compare('deniedAttemptsCount', 'Denied attempts: number', before.deniedAttempts.count, after.deniedAttempts.count, count)
  compare('deniedAttemptsMinutes', 'Denied attempts: minutes', before.deniedAttempts.minutes, after.deniedAttempts.minutes, count)
  for (const weekday of WEEKDAYS) {
    const old = before.openingHours[weekday]
    const next = after.openingHours[weekday]
    compare(`hours-${weekday}`, `${WEEKDAY_NAMES[weekday - 1]} hours`, old ? hoursText(old) : null, next ? hoursText(next) : null, (v: string | null) => v ?? 'Closed')
  }
  return changes
}

export function loadAlertSettings (em: EntityManager, practiceGroupId: number): Promise<AlertSettings> {
  return readAlertSettings(sqlIn(em), practiceGroupId)
}

/** Stores the practice's settings and hours in the caller's transaction; returns what changed. */
export async function saveAlertSettings (em: EntityManager, practiceGroupId: number, settings: AlertSettings): Promise<FieldChangeRecord[]> {
  const changes = settingsChanges(await loadAlertSettings(em, practiceGroupId), settings)
  if (changes.length === 0) return changes
  const sql = sqlIn(em)
  const columns = RULES.map(rule => RULE_COLUMNS[rule])
  const numbers = ['many_patients_count', 'many_patients_minutes', 'large_export_count', 'denied_attempts_count', 'denied_attempts_minutes']
  const all = [...columns, ...numbers]
  await sql(
    `insert into alert_settings (practice_group_id, ${all.join(', ')}) values (?, ${all.map(() => '?').join(', ')})
     on conflict (practice_group_id) do update set ${all.map(c => `${c} = excluded.${c}`).join(', ')}`,
    [practiceGroupId, ...RULES.map(rule => settings.on[rule]), settings.manyPatients.count, settings.manyPatients.minutes,
      settings.largeExport.count, settings.deniedAttempts.count, settings.deniedAttempts.minutes])
  await sql('delete from opening_hours where practice_group_id = ?', [practiceGroupId])
  for (const weekday of WEEKDAYS) {
    const hours = settings.openingHours[weekday]
    if (hours) await sql('insert into opening_hours (practice_group_id, weekday, opens, closes) values (?, ?, ?, ?)', [practiceGroupId, weekday, hours.opens, hours.closes])
  }
  return changes
}
