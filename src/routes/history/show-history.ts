import type { FastifyReply, FastifyRequest } from 'fastify'
import { interpret } from '../../domain/history/history-criteria.js'
import { readParams } from '../../domain/history/history-params.js'
import { historyScope } from '../../domain/history/history-scope.js'
import { filterChoices, searchHistory, type HistorySubject } from '../../domain/history/history.service.js'
import { historyModel } from './history-model.js'

declare module 'fastify' {
  interface Session {
    /** History pages whose opening this session has recorded, so refining them is not recorded again. */
    openedHistories?: string[]
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
}

const REMEMBERED_HISTORIES = 20

/**
 * Sorting, filtering and paging happen inside a history that is already on
 * record, so only its opening is recorded. A request that claims to be a
 * refinement (htmx, or a back/forward restore) of a history this session
 * never opened is recorded like an opening.
 */
async function recordOpening (request: FastifyRequest, spec: HistoryPageSpec): Promise<void> {
  const opened = request.session.openedHistories ?? []
  const refining = request.headers['hx-request'] === 'true' || request.headers['hx-history-restore-request'] === 'true'
  if (refining && opened.includes(spec.basePath)) {
    request.activityRecorded = true
    return
  }
  await request.record({
    action: 'view', page: spec.recordedPage, recordType: spec.subject?.recordType ?? null, recordId: spec.subject?.recordId ?? null,
    description: spec.recordedDescription
  })
  request.session.openedHistories = [spec.basePath, ...opened.filter(path => path !== spec.basePath)].slice(0, REMEMBERED_HISTORIES)
}

/** A history page, or its table fragment for htmx, for the signed-in user. */
export async function showHistory (request: FastifyRequest, reply: FastifyReply, spec: HistoryPageSpec): Promise<string> {
  const now = request.server.clock.now()
  const practice = request.practice!
  const scope = await historyScope(request.em, request.currentUser!, practice, now)
  const params = readParams(request.query as Record<string, unknown>)
  const choices = await filterChoices(request.em, scope)
  const { criteria, problems } = interpret(params, choices, now, practice.timeZone)
  const results = problems.length ? null : await searchHistory(request.em, scope, spec.subject, criteria)
  await recordOpening(request, spec)
  if (problems.length) reply.status(400)
  const history = historyModel({
    basePath: spec.basePath,
    params,
    choices,
    problems,
    results,
    timeZone: practice.timeZone,
    windowSummary: scope.window.summary,
    seesEveryone: scope.onlyUserId === null
  })
  return reply.pageOrFragment('pages/history', 'partials/history/panel', { title: spec.title, back: spec.back, history })
}
