import type { FastifyReply, FastifyRequest } from 'fastify'
import { activityPerDay } from '../../domain/history/activity-per-day.js'
import { searchHistory } from '../../domain/history/history.service.js'
import { historyOpening, type OpenedHistories } from '../../domain/history/opening.js'
import { UserFacingError } from '../../domain/errors.js'
import { expiryNotice } from '../expiry-notice.js'
import { subscribeHref } from '../settings/add-ons/links.js'
import { activityChartView } from './chart-presenter.js'
import { integrityForm } from './integrity-presenter.js'
import { historyLayout, historyModel } from './presenter.js'
import { queriesSent } from './queries-sent.js'
import { parseHistoryRequest, type HistoryRequest } from './parse.js'

declare module 'fastify' {
  interface Session {
    /** When this session's opening of each history was recorded, so refining it soon after is not recorded again. */
    openedHistories?: OpenedHistories
  }
}

/** Records the opening of the history, unless this request only refines one this session opened moments ago. */
async function recordOpening (request: FastifyRequest): Promise<void> {
  const { now, spec } = request.history!
  const refining = request.headers['hx-request'] === 'true' || request.headers['hx-history-restore-request'] === 'true'
  const opening = historyOpening(request.session.openedHistories ?? {}, spec.basePath, refining ? 'refinement' : 'opening', now)
  if (!opening.record) {
    request.recorded = true
    return
  }
  await request.record({
    action: 'view', page: spec.recordedPage, recordType: spec.subject?.recordType ?? null, recordId: spec.subject?.recordId ?? null, patientId: spec.patientId,
    description: spec.recordedDescription
  })
  request.session.openedHistories = opening.remember
}

/** A history page, or its panel for htmx; filters that cannot be applied are shown in place with a 400. */
export async function showHistory (request: HistoryRequest, reply: FastifyReply): Promise<string> {
  const { now, access, spec } = request.history!
  const practice = request.practice!
  const { params, choices, criteria, problems } = await parseHistoryRequest(request)
  const searching = problems.length ? null : searchHistory(request.em, access.scope, spec.subject, criteria)
  if (searching) await queriesSent(searching)
  const viewer = request.currentUser!
  const layout = historyLayout({
    basePath: spec.basePath, params, choices, problems, access, timeZone: practice.timeZone, now, chartCollapsed: viewer.historyChartCollapsed, subscribeHref: subscribeHref(viewer)
  })
  const results = await searching
  await recordOpening(request)
  if (problems.length) reply.status(400)
  // The lapse concerns the practice's whole history, not one record's: it is told on the group history only.
  const warning = request.isHtmx || spec.subject ? null : await expiryNotice(request.em, request.server.plan, practice, viewer, now, spec.basePath)
  return reply.pageOrFragment('pages/history', 'partials/history/panel', {
    title: spec.title, back: spec.back, history: historyModel(layout, results), warning, integrity: integrityForm(spec, access, request.server.chainSigning.key)
  })
}

/**
 * Records per day for the current view's filters: the panel loads it after
 * the table (htmx), or it is a page of its own without JavaScript. Loading
 * it is part of viewing the history, recorded like the table's fragments.
 */
export async function showActivityChart (request: HistoryRequest, reply: FastifyReply): Promise<string> {
  const { now, access, spec } = request.history!
  const { params, criteria, problems } = await parseHistoryRequest(request)
  if (problems.length) throw new UserFacingError(400, `The chart could not be drawn: ${problems.map(p => p.message).join(' ')}`)
  const activity = await activityPerDay(request.em, access.scope, spec.subject, criteria, request.practice!.timeZone, now)
  await recordOpening(request)
  return reply.pageOrFragment('pages/activity', 'partials/history/activity-chart', activityChartView(spec, params, activity))
}
