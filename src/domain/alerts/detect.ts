import type { ScannedRecord, WindowEvent } from '../audit-records/alert-reads.js'
import { formatDateTime, formatTime } from '../time/zoned.js'
import { counted, formatNumber, plural } from '../../plural.js'
import { outsideOpeningHours } from './opening-hours.js'
import { BREAK_GLASS_PAGE, REASON_GIVEN } from '../restricted-patients/break-glass.js'
import type { AlertSettings, Rule } from './rules.js'

/** An alert as the pass works it out, before it is stored. */
export interface AlertDraft {
  practiceGroupId: number
  rule: Rule
  /** Who or what the alert is about, so the same finding is not raised again while it goes on. */
  subjectKey: string
  userId: number | null
  userName: string | null
  patientId: number | null
  ip: string | null
  summary: string
  evidenceFrom: Date
  evidenceTo: Date
}

export interface PersonFacts { name: string, email: string, dateOfBirth: string | null }
export interface PatientFacts { name: string, email: string | null, dateOfBirth: string | null }

/** What the per-record rules know besides the record. */
export interface RecordContext {
  settings: AlertSettings
  timeZone: string
  users: Map<number, PersonFacts>
  patients: Map<number, PatientFacts>
}

/** How many rows an export record says left: the history's exports and archives, and a patient's access report as CSV. */
// Counts are written with thousands separators ("1,234 records", "1 record"); records from before that have plain digits.
const EXPORTED_COUNTS = [/^(?:Exported|Archived) ([\d,]+) records? /, /^Exported the access report .* as CSV: ([\d,]+) access/]

function exportedCount (description: string): number | null {
  for (const pattern of EXPORTED_COUNTS) {
    const found = pattern.exec(description)
    if (found) return Number(found[1]!.replace(/,/g, ''))
  }
  return null
}

/** The last word of a name, as people file family names; "" for none. */
export function familyName (name: string): string {
  const words = name.trim().toLowerCase().split(/\s+/)
  return words[words.length - 1]!.replace(/[^\p{L}'-]/gu, '')
}

function sharesFamilyName (user: PersonFacts, patient: PatientFacts): boolean {
  const family = familyName(user.name)
  return family.length > 1 && family === familyName(patient.name)
}

const sameText = (a: string, b: string): boolean => a.trim().toLowerCase().replace(/\s+/g, ' ') === b.trim().toLowerCase().replace(/\s+/g, ' ')

/** How a patient record looks like the user's own: the same email, or the same name and date of birth; null when it does not. */
function ownRecordMatch (user: PersonFacts, patient: PatientFacts): string | null {
  if (patient.email != null && sameText(patient.email, user.email)) return 'same email'
  if (user.dateOfBirth != null && user.dateOfBirth === patient.dateOfBirth && sameText(user.name, patient.name)) return 'same name and date of birth'
  return null
}

function draft (record: ScannedRecord, rule: Rule, subject: string, summary: string, patientId: number | null = null): AlertDraft {
  return {
    practiceGroupId: record.practiceGroupId, rule, subjectKey: subject, userId: record.userId, userName: record.userName,
    patientId, ip: null, summary, evidenceFrom: record.occurredAt, evidenceTo: record.occurredAt
  }
}

/** The alerts one record raises by itself, under the rules its practice has on. */
export function recordAlerts (record: ScannedRecord, context: RecordContext): AlertDraft[] {
  const { settings, timeZone } = context
  const drafts: AlertDraft[] = []
  const user = context.users.get(record.userId)
  if (!user) return drafts
  const patient = record.patientId == null ? undefined : context.patients.get(record.patientId)
  if (record.action === 'view' && patient && record.patientId != null) {
    if (settings.on['family-name'] && sharesFamilyName(user, patient)) {
      drafts.push(draft(record, 'family-name', `${record.userId}:${record.patientId}`, `${record.userName} opened ${patient.name}, who shares their family name.`, record.patientId))
    }
    const own = settings.on['own-record'] ? ownRecordMatch(user, patient) : null
    if (own) {
      drafts.push(draft(record, 'own-record', `${record.userId}:${record.patientId}`, `${record.userName} opened ${patient.name}, which appears to be their own patient record (${own}).`, record.patientId))
    }
  }
  if (settings.on['after-hours'] && record.action !== 'logout' && outsideOpeningHours(record.occurredAt, timeZone, settings.openingHours)) {
    drafts.push(draft(record, 'after-hours', `${record.userId}`, `${record.userName} used the practice's records outside opening hours (from ${formatDateTime(record.occurredAt, timeZone)}).`))
  }
  const exported = record.action === 'export' ? exportedCount(record.description) : null
  if (settings.on['large-export'] && exported !== null && exported > settings.largeExport.count) {
    drafts.push(draft(record, 'large-export', `${record.userId}:${record.id}`, `${record.userName} exported ${counted(exported, 'record', 'records')} (more than ${formatNumber(settings.largeExport.count)}).`))
  }
  if (settings.on['break-the-glass'] && record.page === BREAK_GLASS_PAGE && record.description.startsWith(REASON_GIVEN)) {
    const patientAndReason = record.description.slice(REASON_GIVEN.length).trim()
    drafts.push(draft(record, 'break-the-glass', `${record.userId}:${record.id}`, `${record.userName} gave a reason to open restricted ${patientAndReason}`, record.patientId))
  }
  return drafts
}

/**
 * How long a finding stays one alert: while it goes on, the same rule about
 * the same person (and patient or address) is not raised again. Exports and
 * reasons given are each their own finding.
 */
export function quietMinutes (rule: Rule, settings: AlertSettings): number {
  if (rule === 'many-patients') return settings.manyPatients.minutes
  if (rule === 'denied-attempts') return settings.deniedAttempts.minutes
  if (rule === 'large-export' || rule === 'break-the-glass') return 0
  return 60
}

/**
 * Findings about the same thing in one pass make one alert, covering them,
 * when they lie within the rule's quiet minutes of each other: the same
 * rule that keeps a later pass from raising them again. So the alerts do
 * not depend on where one pass ended and the next began.
 */
export function mergeDrafts (into: Map<string, AlertDraft[]>, drafts: AlertDraft[], quiet: (draft: AlertDraft) => number): void {
  for (const next of drafts) {
    const key = `${next.practiceGroupId}|${next.rule}|${next.subjectKey}`
    const gap = quiet(next) * 60_000
    const kept = into.get(key) ?? []
    const held = kept.find(d => d.evidenceFrom.getTime() - gap <= next.evidenceTo.getTime() && next.evidenceFrom.getTime() <= d.evidenceTo.getTime() + gap)
    if (!held) {
      into.set(key, [...kept, next])
      continue
    }
    if (next.evidenceFrom < held.evidenceFrom) held.evidenceFrom = next.evidenceFrom
    if (next.evidenceTo > held.evidenceTo) held.evidenceTo = next.evidenceTo
  }
}

export interface Burst { from: Date, to: Date, count: number }

/**
 * The first moment at a newly read record when more than `limit` distinct
 * keys fall within `minutes` before it (that moment included): a burst.
 * Records read by earlier passes count, but only a new record can complete
 * a burst, so none is found twice.
 */
export function firstBurst (events: WindowEvent[], limit: number, minutes: number): Burst | null {
  const sorted = [...events].sort((a, b) => a.at.getTime() - b.at.getTime())
  const span = minutes * 60_000
  const inWindow = new Map<string, number>()
  let start = 0
  for (const event of sorted) {
    inWindow.set(event.key, (inWindow.get(event.key) ?? 0) + 1)
    while (sorted[start]!.at.getTime() < event.at.getTime() - span) {
      const leaving = sorted[start++]!.key
      const left = inWindow.get(leaving)! - 1
      if (left === 0) inWindow.delete(leaving)
      else inWindow.set(leaving, left)
    }
    if (event.isNew && inWindow.size > limit) return { from: sorted[start]!.at, to: event.at, count: inWindow.size }
  }
  return null
}

export function manyPatientsSummary (userName: string, burst: Burst, minutes: number, timeZone: string): string {
  return `${userName} opened ${counted(burst.count, 'different patient', 'different patients')} within ${counted(minutes, 'minute', 'minutes')} (${formatTime(burst.from, timeZone)}–${formatTime(burst.to, timeZone)}).`
}

export function deniedSummary (who: string, burst: Burst, minutes: number, timeZone: string): string {
  return `${counted(burst.count, 'attempt', 'attempts')} by ${who} ${plural(burst.count, 'was', 'were')} denied within ${counted(minutes, 'minute', 'minutes')} (${formatTime(burst.from, timeZone)}–${formatTime(burst.to, timeZone)}).`
}
