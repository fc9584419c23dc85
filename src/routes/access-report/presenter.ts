import type { FastifyRequest } from 'fastify'
import type { AccessReport, ActionCounts, PersonAccesses } from '../../domain/access-report/access-report.js'
import { periodInWords, type PeriodInput, type PeriodProblem, type ReportPeriod } from '../../domain/access-report/period.js'
import type { Action } from '../../domain/audit-records/record.js'
import type { HistoryAccess } from '../../domain/history/access.js'
import { formatDateTime, formatDateTimeSeconds, formatIsoDate, localIsoDate } from '../../domain/time/zoned.js'
import { counted, formatNumber } from '../../plural.js'
import { ACTION_LABELS } from '../history/presenter.js'
import { linkedSentence, subscribeHref } from '../settings/add-ons/links.js'

export interface ReportedPatient { id: number, name: string, dateOfBirth: string | null }

/** A report request once read: as of when, what the viewer may see, whose report, and for which period. */
export interface AskedReport {
  now: Date
  access: HistoryAccess
  patient: ReportedPatient
  input: PeriodInput
  period: ReportPeriod
  problems: PeriodProblem[]
}

const count = formatNumber

export const accesses = (n: number): string => counted(n, 'access', 'accesses')

/** "12 accesses by 3 people" */
export const accessesByPeople = (total: number, people: number): string => `${accesses(total)} by ${counted(people, 'person', 'people')}`

function countsIn (actions: Action[], counts: ActionCounts): string[] {
  return actions.map(action => count(counts[action] ?? 0))
}

function personView (person: PersonAccesses, index: number, actions: Action[], timeZone: string) {
  const listed = person.listed.length
  return {
    name: person.name,
    anchor: `person-${index + 1}`,
    first: formatDateTimeSeconds(person.first, timeZone),
    last: formatDateTimeSeconds(person.last, timeZone),
    counts: countsIn(actions, person.counts),
    total: count(person.total),
    accessesInWords: accesses(person.total),
    listedNote: listed < person.total ? `The newest ${count(listed)} of ${accesses(person.total)} are listed here; the CSV lists every one.` : null,
    accesses: person.listed.map(row => ({
      id: row.id,
      time: formatDateTimeSeconds(row.occurredAt, timeZone),
      iso: row.occurredAt.toISOString(),
      action: row.action,
      actionLabel: ACTION_LABELS[row.action] ?? row.action,
      page: row.page,
      description: row.description,
      ip: row.ip ?? ''
    }))
  }
}

function reportView (report: AccessReport, csvHref: string, timeZone: string) {
  return {
    csvHref,
    columns: report.actions.map(action => ({ action, label: ACTION_LABELS[action] ?? action })),
    people: report.people.map((person, i) => personView(person, i, report.actions, timeZone)),
    totals: { counts: countsIn(report.actions, report.counts), total: count(report.total) },
    summary: accessesByPeople(report.total, report.people.length)
  }
}

/** Everything the report's page prints: the document's heading facts, the period form, and the report (null when the period could not be read). */
export function accessReportView (request: FastifyRequest, asked: AskedReport, report: AccessReport | null) {
  const practice = request.practice!
  const viewer = request.currentUser!
  const tz = practice.timeZone
  const { patient, access, now, input } = asked
  const path = `/patients/${patient.id}/access-report`
  const query = new URLSearchParams(Object.entries(input).filter(([, value]) => value !== '')).toString()
  return {
    title: `Access report: ${patient.name}`,
    back: { href: `/patients/${patient.id}`, label: '‹ Back to the patient' },
    facts: {
      practice: practice.name,
      patient: `${patient.name}${patient.dateOfBirth ? `, born ${formatIsoDate(patient.dateOfBirth)}` : ''} (patient ID ${patient.id})`,
      period: periodInWords(asked.period, now, tz),
      timeZone: tz,
      produced: `${formatDateTime(now, tz)} by ${viewer.name} (${viewer.accessLevel})`,
      covers: access.scope.onlyUserId === null ? 'Every user\'s accesses' : `Only the accesses of ${viewer.name}: users without Full Access see their own`
    },
    form: { action: path, from: input.from, to: input.to, min: localIsoDate(access.scope.window.since, tz), max: localIsoDate(now, tz), windowNote: linkedSentence(access.scope.window.summary, access.scope.window.subscribed ? null : subscribeHref(viewer)) },
    problems: asked.problems,
    report: report && reportView(report, `${path}.csv${query ? `?${query}` : ''}`, tz)
  }
}
