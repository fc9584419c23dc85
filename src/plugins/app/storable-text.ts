import fp from 'fastify-plugin'
import { UserFacingError } from '../../domain/errors.js'

export class UnstorableTextError extends UserFacingError {
  constructor () {
    super(400, 'The request contains a NUL character (\\0), which cannot be stored or searched for. Remove it and try again.')
  }
}

function containsNul (value: unknown, depth = 0): boolean {
  if (typeof value === 'string') return value.includes('\u0000')
  if (depth > 4 || value === null || typeof value !== 'object') return false
  return Object.entries(value).some(([key, inner]) => key.includes('\u0000') || containsNul(inner, depth + 1))
}

/**
 * PostgreSQL's text cannot hold NUL, so a query string or form carrying one
 * would fail deep inside a search or a save. It is refused up front with a
 * clear 400 instead; no browser sends NUL from what a person types.
 */
export default fp(async (app) => {
  app.addHook('preValidation', async (request) => {
    if (containsNul(request.query) || containsNul(request.params) || containsNul(request.body)) throw new UnstorableTextError()
  })
}, { name: 'storable-text' })
