import type { FastifyReply, FastifyRequest } from 'fastify'
import { openAccessReportCsv, produceAccessReport } from '../../domain/access-report/access-report.js'
import { periodInWords, readPeriod } from '../../domain/access-report/period.js'
import { RefusalError, UserFacingError } from '../../domain/errors.js'
import { historyAccess, type HistoryAccess } from '../../domain/history/access.js'
import { patientKind } from '../../domain/patients/patient.kind.js'
import { getRecord } from '../../domain/practice-records/practice-records.service.js'
import { localIsoDate } from '../../domain/time/zoned.js'
import { accessReportView, accesses, accessesByPeople, type AskedReport } from './presenter.js'
import type { ReportParams, ReportQuery } from './schemas.js'

type ReportRequest = FastifyRequest<{ Params: ReportParams, Querystring: ReportQuery }>

/** The page under which opening and producing a report are recorded. */
const RECORDED_PAGE = 'Patient > Access report'

/** What the viewer may see of the history; a refusal (403) is recorded as a denied attempt on this patient. */
function accessTo (request: ReportRequest, patientId: number, now: Date): HistoryAccess {
  try {
    return historyAccess(request.server.plan, request.currentUser!, request.practice!, request.subscription, now)
  } catch (err) {
    throw err instanceof RefusalError ? err.about({ recordType: patientKind.type, recordId: patientId, patientId }) : err
  }
}

/** The patient (404 for one not in this practice), what the viewer may see, and the period asked for. */
async function readAsked (request: ReportRequest): Promise<AskedReport> {
  const practice = request.practice!
  const now = request.server.clock.now()
  const record = await getRecord(request.em, patientKind, practice.id, request.params.id)
  const patient = { id: record.id, name: String(record.name), dateOfBirth: (record.dateOfBirth as string | null) ?? null }
  const access = accessTo(request, patient.id, now)
  const input = { from: request.query.from?.trim() ?? '', to: request.query.to?.trim() ?? '' }
  return { now, access, patient, input, ...readPeriod(input, access.scope.window, now, practice.timeZone) }
}

function recordAbout (request: ReportRequest, asked: AskedReport, action: 'view' | 'export', description: string): Promise<void> {
  const id = asked.patient.id
  return request.record({ action, page: RECORDED_PAGE, recordType: patientKind.type, recordId: id, patientId: id, description })
}

/** "patient Ava Nguyen for 18/11/2026 14:03 to 25/11/2026 14:03 (Australia/Sydney)" */
function reportOf (request: ReportRequest, asked: AskedReport): string {
  const tz = request.practice!.timeZone
  return `patient ${asked.patient.name} for ${periodInWords(asked.period, asked.now, tz)} (${tz})`
}

/**
 * The report's page. Producing it is recorded as an export, with its
 * period and what it found, before the page is rendered: if that cannot be
 * recorded, nothing is shown. A period that cannot be read is explained in
 * place with a 400, and since that page names the patient, its opening is
 * recorded as a view.
 */
export async function showAccessReport (request: ReportRequest, reply: FastifyReply): Promise<string> {
  const asked = await readAsked(request)
  if (asked.problems.length) {
    const problems = asked.problems.map(p => p.message).join(' ')
    await recordAbout(request, asked, 'view', `Opened the access report of patient ${asked.patient.name}; none was produced: ${problems}`)
    reply.status(400)
    return reply.page('pages/access-report', accessReportView(request, asked, null))
  }
  const report = await produceAccessReport(request.em, asked.access.scope, asked.patient.id, asked.period)
  await recordAbout(request, asked, 'export',
    `Produced the access report of ${reportOf(request, asked)}: ${accessesByPeople(report.total, report.people.length)}`)
  return reply.page('pages/access-report', accessReportView(request, asked, report))
}

/** The report as CSV, one row per access; recorded as an export, with its row count, before the first byte is sent. */
export async function downloadAccessReport (request: ReportRequest, reply: FastifyReply): Promise<FastifyReply> {
  const asked = await readAsked(request)
  if (asked.problems.length) throw new UserFacingError(400, `Nothing was exported: ${asked.problems.map(p => p.message).join(' ')}`)
  const tz = request.practice!.timeZone
  const stream = await openAccessReportCsv(request.em, asked.access.scope, asked.patient.id, asked.period, tz, async count => {
    await recordAbout(request, asked, 'export', `Exported the access report of ${reportOf(request, asked)} as CSV: ${accesses(count)}`)
  })
  reply.header('content-disposition', `attachment; filename="access-report-patient-${asked.patient.id}-${localIsoDate(asked.now, tz)}.csv"`)
  reply.type('text/csv; charset=utf-8')
  return reply.send(stream)
}
