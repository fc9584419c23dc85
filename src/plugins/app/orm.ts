import fp from 'fastify-plugin'
import { RequestContext, type MikroORM } from '@mikro-orm/core'
import type { EntityManager, PostgreSqlDriver } from '@mikro-orm/postgresql'

declare module 'fastify' {
  interface FastifyInstance {
    orm: MikroORM<PostgreSqlDriver>
  }
  interface FastifyRequest {
    em: EntityManager
  }
}

/** Each request works in its own EntityManager, so one request's identity map never leaks into another's. */
export default fp<{ orm: MikroORM<PostgreSqlDriver> }>(async (app, opts) => {
  app.decorate('orm', opts.orm)
  app.decorateRequest('em', null as unknown as EntityManager)
  app.addHook('onRequest', (request, _reply, done) => {
    RequestContext.create(opts.orm.em, () => {
      request.em = opts.orm.em.getContext() as EntityManager
      done()
    })
  })
}, { name: 'orm' })
