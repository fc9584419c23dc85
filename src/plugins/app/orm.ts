import fp from 'fastify-plugin'
import { RequestContext, type MikroORM } from '@mikro-orm/core'
import type { EntityManager, PostgreSqlDriver } from '@mikro-orm/postgresql'
import { inPracticeScope } from '../../db/practice-scope.js'

declare module 'fastify' {
  interface FastifyInstance {
    orm: MikroORM<PostgreSqlDriver>
    keeperOrm: MikroORM<PostgreSqlDriver>
  }
  interface FastifyRequest {
    em: EntityManager
  }
}

/**
 * Each request works in its own EntityManager, so one request's identity
 * map never leaks into another's, and in a practice scope of its own that
 * starts empty: until the session or a sign-in names the practice, its
 * statements see no practice's rows.
 */
export default fp<{ orm: MikroORM<PostgreSqlDriver>, keeperOrm: MikroORM<PostgreSqlDriver> }>(async (app, opts) => {
  app.decorate('orm', opts.orm)
  app.decorate('keeperOrm', opts.keeperOrm)
  app.decorateRequest('em', null as unknown as EntityManager)
  app.addHook('onRequest', (request, _reply, done) => {
    inPracticeScope(null, () => RequestContext.create(opts.orm.em, () => {
      request.em = opts.orm.em.getContext() as EntityManager
      done()
    }))
  })
}, { name: 'orm' })
