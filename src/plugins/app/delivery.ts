import fp from 'fastify-plugin'
import { deliverDue } from '../../domain/integrations/delivery.js'
import { schedulePasses } from './scheduled-passes.js'

/**
 * Streams sealed history records to the practices' receivers on
 * DELIVERY_SCHEDULE (every 5 seconds by default; "off" disables it), as
 * the keeper. A run goes on until every due endpoint has caught up or
 * failed, so a later tick that finds it still running is skipped.
 * Instances that run it at once share the endpoints through their leases.
 * Requests never wait for it: it has the keeper's connections to itself.
 * A stop lets each batch on its way finish, so no position is left behind.
 */
export default fp(async (app) => {
  if (app.config.DELIVERY_SCHEDULE === 'off') return
  schedulePasses(app, app.config.DELIVERY_SCHEDULE, async (stopping) => {
    try {
      const report = await deliverDue(app.keeperOrm.em.fork(), app.clock, { stopping })
      if (report.batches > 0 || report.failures > 0) app.log.debug({ report }, 'history records delivered')
    } catch (err) {
      app.log.error({ err }, 'delivering the history to receivers failed')
    }
  })
}, { name: 'delivery', dependencies: ['orm', 'clock', 'shutdown'] })
