import type { FastifyInstance, FastifyRequest } from 'fastify'
import { ForbiddenError, RefusalError } from '../../domain/errors.js'
import { assertMayVerify, historyAccess, type HistoryAccess } from '../../domain/history/access.js'
import { assertNotWithheld } from '../../domain/restricted-patients/break-glass.js'
import { downloadExpiryArchive, exportHistory } from './downloads.js'
import { chartPreferenceBody, exportFormat, historyQuery, receiptQuery, verifyBody, type ChartPreferenceBody, type ExportParams, type HistoryQuery, type ReceiptQuery, type VerifyBody } from './schemas.js'
import { downloadReceipt, downloadSigningKey } from './signed-heads.js'
import { setChartPreference } from './chart-preference.js'
import { showActivityChart, showHistory } from './show-history.js'
import type { HistoryOf, HistoryPageSpec } from './subjects.js'
import { verifyIntegrity } from './verify-integrity.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the history's guard: as of when, what this viewer may see and do, and which history was asked for. */
    history: { now: Date, access: HistoryAccess, spec: HistoryPageSpec } | null
  }
}

export interface HistoryOptions { of: HistoryOf }

const VIEW = { recording: 'view' } as const

const REFUSALS = {
  export: 'You may not export this history.',
  chart: 'You may not see the chart of this history.'
} as const

/** Refuses a route whose right historyAccess did not grant this viewer. */
const requires = (right: keyof typeof REFUSALS) => async (request: FastifyRequest): Promise<void> => {
  if (!request.history!.access.may[right]) throw new ForbiddenError(REFUSALS[right])
}

/**
 * One User Action History, mounted for the group of the practice's users
 * and for each kind of practice record: the page (or its panel, for htmx),
 * the chart and its toggle, and the exports; the group history adds the
 * archive of what the subscription's end would delete, the integrity
 * check, the signing key and receipts of signed heads.
 */
export default async function history (app: FastifyInstance, { of }: HistoryOptions): Promise<void> {
  app.decorateRequest('history', null)
  app.addHook('preHandler', app.requireUser)
  // Only holders of the permission get past the guard, and then see only what historyAccess lets them; a record that never existed is a 404;
  // a restricted patient's records need a reason first.
  app.addHook('preHandler', async function guard (request) {
    const now = app.clock.now()
    let access: HistoryAccess
    try {
      access = historyAccess(request.server.plan, request.currentUser!, request.practice!, request.subscription, now)
    } catch (err) {
      // A refused history of a practice record is recorded as concerning that record and its patient.
      if (err instanceof RefusalError) {
        const concerning = await of.concerning(request)
        if (concerning) err.about(concerning)
      }
      throw err
    }
    // Other restricted patients' records may still appear here (the group history, a search): they show without their details.
    const [spec, withheldPatients] = await Promise.all([of.spec(request), request.withheldPatients()])
    assertNotWithheld(withheldPatients, spec.patientId)
    request.history = { now, access: { ...access, scope: { ...access.scope, withheldPatients } }, spec }
  })

  /** The address's parameters (a record history's record id, and the route's own), as a schema only when there are any. */
  const addressParams = (extra: Record<string, unknown> = {}) => {
    const properties = { ...of.params, ...extra }
    return Object.keys(properties).length ? { params: { type: 'object', required: Object.keys(properties), properties } } : {}
  }

  app.get<{ Querystring: HistoryQuery }>('', { config: VIEW, schema: { ...addressParams(), querystring: historyQuery } }, showHistory)

  app.get<{ Querystring: HistoryQuery }>('/activity', {
    config: VIEW, schema: { ...addressParams(), querystring: historyQuery }, preHandler: requires('chart')
  }, showActivityChart)

  // A display preference of the viewer's own, neither practice data nor a view of it.
  app.post<{ Querystring: HistoryQuery, Body: ChartPreferenceBody }>('/chart', {
    config: { recording: 'exempt' }, schema: { ...addressParams(), querystring: historyQuery, body: chartPreferenceBody }, preHandler: requires('chart')
  }, setChartPreference)

  app.get<{ Params: ExportParams, Querystring: HistoryQuery }>('/export.:format', {
    config: VIEW, schema: { ...addressParams(exportFormat), querystring: historyQuery }, preHandler: requires('export')
  }, exportHistory)

  if (!of.group) return

  app.get('/archive.zip', { config: VIEW }, downloadExpiryArchive)

  const mayVerify = async (request: FastifyRequest): Promise<void> => { assertMayVerify(request.currentUser!) }
  app.post<{ Body: VerifyBody }>('/verify', { config: VIEW, schema: { body: verifyBody }, preHandler: mayVerify }, verifyIntegrity)
  app.get('/signing-key.pem', { config: VIEW, preHandler: mayVerify }, downloadSigningKey)
  app.get<{ Querystring: ReceiptQuery }>('/receipt.json', { config: VIEW, schema: { querystring: receiptQuery }, preHandler: mayVerify }, downloadReceipt)
}
