import type { FastifyInstance } from 'fastify'
import { downloadAccessReport, showAccessReport } from './handlers.js'
import { reportParams, reportQuery, type ReportParams, type ReportQuery } from './schemas.js'

type ReportRoute = { Params: ReportParams, Querystring: ReportQuery }

/**
 * A patient's access report, at `/patients/:id/access-report` (the page)
 * and `.csv`. Both record producing it as an export before anything is
 * sent, so the recorder's fail-closed check for views holds them too.
 */
export default async function accessReport (app: FastifyInstance): Promise<void> {
  app.addHook('preHandler', app.requireUser)
  // The report shows who opened a restricted patient's records and when: it asks for a reason like the records themselves.
  app.addHook('preHandler', async request => request.assertMayOpenPatient((request.params as ReportParams).id))
  const options = { config: { recording: 'view' }, schema: { params: reportParams, querystring: reportQuery } } as const
  app.get<ReportRoute>('/:id/access-report', options, showAccessReport)
  app.get<ReportRoute>('/:id/access-report.csv', options, downloadAccessReport)
}
