import type { FastifyReply, FastifyRequest } from 'fastify'
import { interpret } from '../../domain/history/history-criteria.js'
import { historyHref, paramPairs, readParams } from '../../domain/history/history-params.js'
import { openHistoryExport, type ExportFormat } from '../../domain/history/history-export.js'
import { UserFacingError } from '../../domain/errors.js'
import { historyAccess } from '../../domain/history/access.js'
import { filterChoices, searchHistory, type HistorySubject } from '../../domain/history/history.service.js'
import { isDateRange, presetInterval } from '../../domain/history/date-ranges.js'
import { expiryNotice } from '../expiry-notice.js'
import { localIsoDate, toLocalInput } from '../../domain/time/zoned.js'
import { historyLayout, historyModel } from './history-model.js'
import { activityChartModel } from './activity-chart-model.js'
import { activityPerDay } from '../../domain/history/activity-per-day.js'

declare module 'fastify' {
  interface Session {
    /** When this session's opening of each history page was recorded, so refining it soon after is not recorded again. */
    openedHistories?: Record<string, number>
  }
}

export interface HistoryPageSpec {
  basePath: string
  subject: HistorySubject | null
  title: string
  back: { href: string, label: string }
  /** The page and words recorded when someone opens this history. */
  recordedPage: string
  recordedDescription: string
  /** Where a Full Access user verifies the chain from this page, if they can here. */
  verifyPath?: string
}

const REMEMBERED_HISTORIES = 20
const REFINING_WINDOW_MS = 30 * 60_000

/**
 * Sorting, filtering and paging happen inside a history that is already on
 * record, so only its opening is recorded. A request that claims to be a
 * refinement (htmx, or a back/forward restore) of a history this session
 * has not opened in the last 30 minutes is recorded like an opening.
 */
async function recordOpening (request: FastifyRequest, spec: HistoryPageSpec, now: Date): Promise<void> {
  const opened = request.session.openedHistories ?? {}
  const refining = request.headers['hx-request'] === 'true' || request.headers['hx-history-restore-request'] === 'true'
  const openedAt = opened[spec.basePath]
  if (refining && openedAt !== undefined && now.getTime() - openedAt < REFINING_WINDOW_MS) {
    request.activityRecorded = true
    return
  }
  await request.record({
    action: 'view', page: spec.recordedPage, recordType: spec.subject?.recordType ?? null, recordId: spec.subject?.recordId ?? null,
    description: spec.recordedDescription
  })
  const kept = Object.entries(opened).filter(([path]) => path !== spec.basePath).sort((a, b) => b[1] - a[1]).slice(0, REMEMBERED_HISTORIES - 1)
  request.session.openedHistories = Object.fromEntries([[spec.basePath, now.getTime()], ...kept])
}

/**
 * Lets the queries of `work` go out before the caller does work of its own:
 * the layout of the page and its table head are worked out while the
 * database counts and reads, instead of after. Sending a query takes a few
 * promise steps, all done before the next turn of the event loop.
 */
async function queriesSent (work: Promise<unknown>): Promise<void> {
  work.catch(() => {})
  await new Promise(resolve => setImmediate(resolve))
}

/** A preset range as the From/To a person would type, so the Date filter starts from what is shown. */
function presetInputs (range: string, now: Date, timeZone: string): { from: string, to: string } | null {
  if (!isDateRange(range) || range === 'custom') return null
  const { since, until } = presetInterval(range, now, timeZone)
  return { from: toLocalInput(since!, timeZone), to: toLocalInput(new Date(until!.getTime() - 60_000), timeZone) }
}

/** What a history request asks for, for whom and as of when: shared by the page, its fragment and its exports. */
async function readHistoryRequest (request: FastifyRequest) {
  const now = request.server.clock.now()
  const practice = request.practice!
  const { scope, may } = historyAccess(request.server.plan, request.currentUser!, practice, request.subscription, now)
  const params = readParams(request.query as Record<string, unknown>)
  const choices = await filterChoices(request.em, scope, now)
  return { now, practice, scope, may, params, choices, ...interpret(params, choices, now, practice.timeZone) }
}

/** A history page, or its table fragment for htmx, for the signed-in user. */
export async function showHistory (request: FastifyRequest, reply: FastifyReply, spec: HistoryPageSpec): Promise<string> {
  const { now, practice, scope, may, params, choices, criteria, problems } = await readHistoryRequest(request)
  const searching = problems.length ? null : searchHistory(request.em, scope, spec.subject, criteria)
  if (searching) await queriesSent(searching)
  const layout = historyLayout({
    dateInputs: presetInputs(params.range, now, practice.timeZone) ?? { from: params.from, to: params.to },
    basePath: spec.basePath,
    params,
    choices,
    problems,
    timeZone: practice.timeZone,
    windowSummary: scope.window.summary,
    seesEveryone: scope.onlyUserId === null
  })
  const tableHead = await request.server.view('partials/history/table-head', { history: layout })
  const results = await searching
  await recordOpening(request, spec, now)
  if (problems.length) reply.status(400)
  const history = { ...historyModel(layout, results), tableHead }
  const warning = request.isHtmx ? null : await expiryNotice(request.em, request.server.plan, practice, request.currentUser!, now)
  return reply.pageOrFragment('pages/history', 'partials/history/panel', {
    title: spec.title, back: spec.back, history, warning,
    integrity: spec.verifyPath && may.verify ? { action: spec.verifyPath, knownHead: '', error: null, result: null } : null
  })
}

/**
 * Records per day for the current view's filters: the panel loads it after
 * the table (htmx), or it is a page of its own without JavaScript. Loading
 * it is part of viewing the history, recorded like the table's fragments.
 */
export async function showActivity (request: FastifyRequest, reply: FastifyReply, spec: HistoryPageSpec): Promise<string> {
  const { now, practice, scope, params, criteria, problems } = await readHistoryRequest(request)
  if (problems.length) throw new UserFacingError(400, `The chart could not be drawn: ${problems.map(p => p.message).join(' ')}`)
  const activity = await activityPerDay(request.em, scope, spec.subject, criteria, practice.timeZone, now)
  await recordOpening(request, spec, now)
  return reply.pageOrFragment('pages/activity', 'partials/history/activity-chart', {
    title: `Activity per day: ${spec.title}`,
    back: { href: historyHref(spec.basePath, params), label: `‹ ${spec.title}` },
    chart: activityChartModel(activity)
  })
}

/**
 * The current view, all pages, as CSV or NDJSON. The export is recorded,
 * with its filters and row count, before its first row leaves.
 */
export async function exportHistory (request: FastifyRequest, reply: FastifyReply, spec: HistoryPageSpec, format: ExportFormat): Promise<FastifyReply> {
  const { now, practice, scope, params, criteria, problems } = await readHistoryRequest(request)
  if (problems.length) throw new UserFacingError(400, `Nothing was exported: ${problems.map(p => p.message).join(' ')}`)
  const filters = paramPairs(params, ['page', 'size']).map(([name, value]) => `${name}=${value}`).join(', ')
  const stream = await openHistoryExport(request.em, scope, spec.subject, criteria, format, practice.timeZone, async count => {
    await request.record({
      action: 'export', page: spec.recordedPage, recordType: spec.subject?.recordType ?? null, recordId: spec.subject?.recordId ?? null,
      description: `Exported ${count} records as ${format.toUpperCase()} from ${spec.title}${filters ? ` (${filters})` : ' (no filters)'}`
    })
  })
  reply.header('content-disposition', `attachment; filename="user-action-history-${localIsoDate(now, practice.timeZone)}.${format}"`)
  reply.type(format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8')
  return reply.send(stream)
}
