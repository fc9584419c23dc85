import fp from 'fastify-plugin'
import { PostgresSessionStore } from '../../domain/sessions/session-store.js'
import { SessionCache } from '../../domain/sessions/session-cache.js'
import { SignedInChangeListener } from '../../domain/sessions/signed-in-changes.js'

export const SESSION_IDLE_MINUTES = 30

declare module 'fastify' {
  interface FastifyInstance {
    sessionStore: PostgresSessionStore
    signedInChanges: SignedInChangeListener
  }
}

/**
 * The session table, reachable app-wide: for the session plugin, for ending
 * a user's sessions, and for pruning. Sessions read are kept while
 * PostgreSQL's change notices arrive.
 */
export default fp(async (app) => {
  const cache = new SessionCache()
  const listener = new SignedInChangeListener(app.orm.config.get('clientUrl')!, cache, app.log)
  app.decorate('sessionStore', new PostgresSessionStore(app.orm, app.clock, SESSION_IDLE_MINUTES * 60_000, cache, app.log))
  app.decorate('signedInChanges', listener)
  await listener.start()
  app.addHook('onClose', async () => listener.stop())
}, { name: 'session-store', dependencies: ['orm', 'clock'] })
