import type { FastifyInstance } from 'fastify'
import { checkReadiness, PARTS, type Part } from './readiness.js'

const checksSchema = { type: 'object', properties: Object.fromEntries(PARTS.map(part => [part, { type: 'string' }])) }
const readySchema = {
  type: 'object',
  properties: { status: { type: 'string' }, failing: { type: 'array', items: { type: 'string' } }, checks: checksSchema }
}

/**
 * For whoever runs the app: `/health` says the process serves (and stays
 * up while it drains, so it is not killed early); `/ready` says whether it
 * can take requests now. Neither shows practice data, needs a session or
 * may be cached.
 */
export default async function health (app: FastifyInstance): Promise<void> {
  const config = { recording: 'exempt', answersWhileDraining: true } as const

  app.get('/health', {
    config,
    schema: { response: { 200: { type: 'object', properties: { status: { type: 'string' } } } } }
  }, async (_request, reply) => {
    reply.header('cache-control', 'no-store')
    return { status: 'ok' }
  })

  let lastFailing = ''
  app.get('/ready', {
    config,
    schema: { response: { 200: readySchema, 503: readySchema } }
  }, async (_request, reply) => {
    reply.header('cache-control', 'no-store')
    if (app.shutdown.draining) return reply.code(503).send({ status: 'shutting down' })
    const { checks, reasons } = await checkReadiness(app.orm, app.signedInChanges.listening)
    const failing = PARTS.filter((part: Part) => checks[part] === 'failing')
    // Probes come every few seconds: log when the answer changes, not each time.
    if (failing.join() !== lastFailing) {
      if (failing.length) app.log.warn({ failing, reasons }, 'not ready')
      else app.log.info('ready')
      lastFailing = failing.join()
    }
    return reply.code(failing.length ? 503 : 200).send({ status: failing.length ? 'not ready' : 'ready', failing, checks })
  })
}
