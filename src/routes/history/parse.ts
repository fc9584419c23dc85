import type { FastifyRequest } from 'fastify'
import { interpret } from '../../domain/history/history-criteria.js'
import { readParams } from '../../domain/history/history-params.js'
import { filterChoices } from '../../domain/history/history.service.js'
import type { HistoryQuery } from './schemas.js'

export type HistoryRequest = FastifyRequest<{ Querystring: HistoryQuery }>

/** What a history request asks for, read and judged against what this viewer may filter by: shared by the page, its chart and its exports. */
export async function parseHistoryRequest (request: HistoryRequest) {
  const { now, access } = request.history!
  const params = readParams(request.query)
  const choices = await filterChoices(request.em, access.scope, now)
  return { params, choices, ...interpret(params, choices, now, request.practice!.timeZone) }
}
