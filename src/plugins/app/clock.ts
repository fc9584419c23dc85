import fp from 'fastify-plugin'
import { systemClock, type Clock } from '../../domain/clock/clock.js'

declare module 'fastify' {
  interface FastifyInstance {
    clock: Clock
  }
}

export default fp<{ clock?: Clock }>(async (app, opts) => {
  app.decorate('clock', opts.clock ?? systemClock)
}, { name: 'clock' })
