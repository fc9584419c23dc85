import fp from 'fastify-plugin'
import { Cron } from 'croner'
import { deliverDue } from '../../domain/integrations/delivery.js'

/**
 * Streams sealed history records to the practices' receivers on
 * DELIVERY_SCHEDULE (every 5 seconds by default; "off" disables it), as
 * the keeper. A run goes on until every due endpoint has caught up or
 * failed, so a later tick that finds it still running is skipped.
 * Instances that run it at once share the endpoints through their leases.
 * Requests never wait for it: it has the keeper's connections to itself.
 */
export default fp(async (app) => {
  if (app.config.DELIVERY_SCHEDULE === 'off') return
  const job = new Cron(app.config.DELIVERY_SCHEDULE, { protect: true, paused: true }, async () => {
    try {
      const report = await deliverDue(app.keeperOrm.em.fork(), app.clock)
      if (report.batches > 0 || report.failures > 0) app.log.debug({ report }, 'history records delivered')
    } catch (err) {
      app.log.error({ err }, 'delivering the history to receivers failed')
    }
  })
  app.addHook('onReady', async () => { job.resume() })
  app.addHook('onClose', async () => { job.stop() })
}, { name: 'delivery', dependencies: ['orm', 'clock'] })
