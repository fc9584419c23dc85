import fp from 'fastify-plugin'
import formbody from '@fastify/formbody'
import { UserFacingError } from '../../domain/errors.js'

const FORM = 'application/x-www-form-urlencoded'
const SHOWN_LENGTH = 100

export class UnreadableFormError extends UserFacingError {
  constructor (message: string) {
    super(415, message)
  }
}

/** Why a request body of this content type cannot be read as one of our forms, or null when it can. */
function unreadable (contentType: string): string | null {
  const [essence = '', ...parameters] = contentType.split(';').map(part => part.trim())
  if (essence.toLowerCase() !== FORM) return `Forms must be sent as ${FORM} in UTF-8, not as "${essence.slice(0, SHOWN_LENGTH)}".`
  for (const parameter of parameters) {
    const [name = '', value = ''] = parameter.split('=', 2).map(part => part.trim())
    const charset = value.replace(/^"(.*)"$/, '$1')
    if (name.toLowerCase() === 'charset' && charset.toLowerCase() !== 'utf-8') {
      return `Forms must be sent as UTF-8, not as "${charset.slice(0, SHOWN_LENGTH)}". Reload the page and try again.`
    }
  }
  return null
}

/**
 * Pages take plain HTML forms and nothing else: URL-encoded, in UTF-8 (the
 * default when no charset is named). A body in another character set would
 * be read as UTF-8 and stored garbled; JSON or text would bypass the form's
 * shape. Either is refused with a 415 before it is read.
 */
export default fp(async (app) => {
  app.removeAllContentTypeParsers()
  await app.register(formbody, { bodyLimit: 1024 * 1024 })
  app.addHook('preParsing', async (request) => {
    const contentType = request.headers['content-type']
    if (contentType === undefined || request.method === 'GET' || request.method === 'HEAD') return
    const problem = unreadable(contentType)
    if (problem) throw new UnreadableFormError(problem)
  })
}, { name: 'formbody' })
