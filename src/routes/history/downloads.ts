import type { FastifyReply, FastifyRequest } from 'fastify'
import { UserFacingError } from '../../domain/errors.js'
import { openExpiryArchive } from '../../domain/history/expiry-archive.js'
import { EXPORT_FORMAT_NAMES, openHistoryExport, type ExportFormat, type ExportOutput } from '../../domain/history/history-export.js'
import { archivableAtExpiry } from '../../domain/retention/retention.js'
import { formatDateTime, localIsoDate } from '../../domain/time/zoned.js'
import { counted } from '../../plural.js'
import { paramPairs } from './links.js'
import { parseHistoryRequest } from './parse.js'
import type { ExportParams, HistoryQuery } from './schemas.js'

const CONTENT_TYPES: Record<ExportFormat, string> = {
  csv: 'text/csv; charset=utf-8', ndjson: 'application/x-ndjson; charset=utf-8', 'fhir.ndjson': 'application/fhir+ndjson; charset=utf-8'
}

/**
 * What a format needs from the request. A record keeps the path and query
 * it was made at, not the host, so FHIR events name this server by the
 * address the export itself was asked at, when the Host header makes one.
 */
function outputFor (request: FastifyRequest, format: ExportFormat): ExportOutput {
  const practice = request.practice!
  if (format === 'csv') return { format, timeZone: practice.timeZone }
  if (format === 'ndjson') return { format }
  const address = `${request.protocol}://${request.host}`
  return { format, source: { site: practice.name, serverAddress: URL.canParse(address) ? new URL(address).origin : null } }
}

/**
 * The current view, all pages, as CSV, NDJSON or FHIR AuditEvents. The
 * export is recorded, with its format, filters and row count, before its
 * first row leaves.
 */
export async function exportHistory (request: FastifyRequest<{ Params: ExportParams, Querystring: HistoryQuery }>, reply: FastifyReply): Promise<FastifyReply> {
  const { now, access, spec } = request.history!
  const { format } = request.params
  const timeZone = request.practice!.timeZone
  const { params, criteria, problems } = await parseHistoryRequest(request)
  if (problems.length) throw new UserFacingError(400, `Nothing was exported: ${problems.map(p => p.message).join(' ')}`)
  const filters = paramPairs(params, ['page', 'size']).map(([name, value]) => `${name}=${value}`).join(', ')
  const stream = await openHistoryExport(request.em, access.scope, spec.subject, criteria, outputFor(request, format), async count => {
    await request.record({
      action: 'export', page: spec.recordedPage, recordType: spec.subject?.recordType ?? null, recordId: spec.subject?.recordId ?? null, patientId: spec.patientId,
      description: `Exported ${counted(count, 'record', 'records')} as ${EXPORT_FORMAT_NAMES[format]} from ${spec.title}${filters ? ` (${filters})` : ' (no filters)'}`
    })
  })
  reply.header('content-disposition', `attachment; filename="user-action-history-${localIsoDate(now, timeZone)}.${format}"`)
  reply.type(CONTENT_TYPES[format])
  return reply.send(stream)
}

/**
 * Everything the end of the current subscription period would delete, as
 * far as this viewer may see it, in one zip. Offered by the expiry banner;
 * recorded as an export before the first byte leaves.
 */
export async function downloadExpiryArchive (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const { now, access, spec } = request.history!
  const practice = request.practice!
  const subscription = request.subscription
  if (!subscription || !access.may.archive) throw new UserFacingError(409, 'There is no active subscription whose end would delete records, so there is nothing to archive.')
  const expiresAt = subscription.currentPeriodEnd
  const { cutoff, count } = await archivableAtExpiry(request.em, request.server.plan, access.scope, expiresAt)
  if (count === 0) throw new UserFacingError(409, 'No records are old enough to be deleted when this subscription period ends, so there is nothing to archive.')
  const tz = practice.timeZone
  const stream = await openExpiryArchive(request.em, access.scope, { practiceName: practice.name, timeZone: tz, expiresAt, cutoff, now }, async records => {
    await request.record({
      action: 'export', page: spec.recordedPage,
      description: `Archived ${counted(records, 'record', 'records')} from before ${formatDateTime(cutoff, tz)}, which the end of the subscription on ${formatDateTime(expiresAt, tz)} would delete (zip: CSV, NDJSON, SHA-256 manifest)`
    })
  })
  reply.header('content-disposition', `attachment; filename="user-action-history-before-${localIsoDate(cutoff, tz)}.zip"`)
  reply.type('application/zip')
  return reply.send(stream)
}
