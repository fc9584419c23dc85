import type { Alert } from '../../../domain/alerts/alert-store.js'
import { RULES, RULE_NAMES, WEEKDAYS, WEEKDAY_NAMES, type AlertSettings } from '../../../domain/alerts/rules.js'
import { FORM_FIELDS } from '../../../domain/alerts/alert-settings.js'
import { readParams } from '../../../domain/history/history-params.js'
import { formatDateTime, toLocalInput } from '../../../domain/time/zoned.js'
import { historyHref } from '../../history/links.js'

const GROUP_HISTORY = '/settings/users/history'

/** What the Alerts page prints for one alert. */
export interface AlertView {
  id: number
  ruleName: string
  raised: string
  person: string
  patient: { name: string, href: string } | null
  summary: string
  evidenceHref: string
  acknowledged: { when: string, by: string, note: string } | null
}

/**
 * The history filtered to what raised the alert: the person's (or the
 * address's) records in the minutes it covers, on the patient's own
 * history when there is one.
 */
export function evidenceHref (alert: Alert, timeZone: string): string {
  const base = alert.patientId != null ? `/patients/${alert.patientId}/history` : GROUP_HISTORY
  return historyHref(base, readParams({}), {
    range: 'custom',
    from: toLocalInput(alert.evidenceFrom, timeZone),
    to: toLocalInput(alert.evidenceTo, timeZone),
    user: alert.userId != null ? [String(alert.userId)] : [],
    action: alert.rule === 'denied-attempts' ? ['denied'] : [],
    ip: alert.userId == null && alert.ip ? alert.ip : ''
  })
}

export function alertView (alert: Alert, timeZone: string): AlertView {
  return {
    id: alert.id,
    ruleName: RULE_NAMES[alert.rule],
    raised: formatDateTime(alert.raisedAt, timeZone),
    person: alert.userName ?? (alert.ip ? `Address ${alert.ip}` : 'Unknown'),
    patient: alert.patientId != null ? { name: alert.patientName ?? `Patient ${alert.patientId} (deleted)`, href: `/patients/${alert.patientId}` } : null,
    summary: alert.summary,
    evidenceHref: evidenceHref(alert, timeZone),
    acknowledged: alert.acknowledgedAt
      ? { when: formatDateTime(alert.acknowledgedAt, timeZone), by: alert.acknowledgedByName ?? '', note: alert.acknowledgementNote ?? '' }
      : null
  }
}

/** The settings form's values: what was saved, or what was just posted. */
export function settingsValues (settings: AlertSettings): Record<string, string> {
  const values: Record<string, string> = {
    manyPatientsCount: String(settings.manyPatients.count),
    manyPatientsMinutes: String(settings.manyPatients.minutes),
    largeExportCount: String(settings.largeExport.count),
    deniedAttemptsCount: String(settings.deniedAttempts.count),
    deniedAttemptsMinutes: String(settings.deniedAttempts.minutes)
  }
  for (const rule of RULES) if (settings.on[rule]) values[FORM_FIELDS.rule(rule)] = 'on'
  for (const day of WEEKDAYS) {
    values[FORM_FIELDS.opens(day)] = settings.openingHours[day]?.opens ?? ''
    values[FORM_FIELDS.closes(day)] = settings.openingHours[day]?.closes ?? ''
  }
  return values
}

export const weekdays = WEEKDAYS.map(day => ({ day, name: WEEKDAY_NAMES[day - 1]!, opens: FORM_FIELDS.opens(day), closes: FORM_FIELDS.closes(day) }))
export const ruleChoices = RULES.map(rule => ({ field: FORM_FIELDS.rule(rule), name: RULE_NAMES[rule] }))
