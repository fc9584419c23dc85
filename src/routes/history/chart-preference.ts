import type { FastifyReply, FastifyRequest } from 'fastify'
import { readParams } from '../../domain/history/history-params.js'
import { rememberHistoryChartCollapsed } from '../../domain/users/display-preferences.js'
import { chartSlot } from './chart-presenter.js'
import { historyHref } from './links.js'
import type { ChartPreferenceBody, HistoryQuery } from './schemas.js'

/**
 * Folds the activity chart away, or shows it again, for this viewer on
 * every history page. With htmx the chart's place is redrawn (a shown
 * chart then loads itself); without, the same view of the history is
 * shown again.
 */
export async function setChartPreference (request: FastifyRequest<{ Querystring: HistoryQuery, Body: ChartPreferenceBody }>, reply: FastifyReply): Promise<string> {
  const { spec } = request.history!
  const collapsed = request.body.chart === 'hidden'
  await rememberHistoryChartCollapsed(request.em, request.currentUser!, collapsed)
  const params = readParams(request.query)
  if (!request.isHtmx) return reply.redirect(historyHref(spec.basePath, params, { page: params.page }), 303)
  return reply.page('partials/history/chart-slot', { history: { chart: chartSlot(spec.basePath, params, collapsed) } })
}
