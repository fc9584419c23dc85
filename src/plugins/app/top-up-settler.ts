import fp from 'fastify-plugin'
import { settleAllPendingTopUps } from '../../domain/credits/top-up.service.js'

/**
 * At start-up, asks the payment provider again about top-ups left pending
 * (the app stopped, or the database failed, after a card was charged) and
 * credits or declines them, before the first request is served. A failure
 * here is logged and leaves them pending for the scheduled job; it never
 * stops the app from starting.
 */
export default fp(async (app) => {
  app.addHook('onReady', async () => {
    try {
      for (const settlement of await settleAllPendingTopUps(app.keeperOrm.em.fork(), app.paymentProvider, app.clock.now())) {
        if (settlement.settled || settlement.declined) app.log.info({ settlement }, 'pending top-ups settled at start-up')
        if (settlement.problems.length) app.log.warn({ settlement }, 'top-ups are still pending')
      }
    } catch (err) {
      app.log.error({ err }, 'pending top-ups could not be settled at start-up')
    }
  })
}, { name: 'top-up-settler', dependencies: ['orm', 'clock'] })
