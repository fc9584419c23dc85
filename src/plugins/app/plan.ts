import fp from 'fastify-plugin'
import { DEFAULT_PLAN, type Plan } from '../../domain/plan/plan.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The product's terms this app runs with: the pages, the scheduled job and the verifier all read them from here. */
    plan: Plan
  }
}

export default fp<{ plan?: Plan }>(async (app, opts) => {
  app.decorate('plan', opts.plan ?? DEFAULT_PLAN)
}, { name: 'plan' })
