import fp from 'fastify-plugin'
import { PostgresSessionStore } from '../../domain/sessions/session-store.js'

export const SESSION_IDLE_MINUTES = 30

declare module 'fastify' {
  interface FastifyInstance {
    sessionStore: PostgresSessionStore
  }
}

/** The session table, reachable app-wide: for the session plugin, for ending a user's sessions, and for pruning. */
export default fp(async (app) => {
  app.decorate('sessionStore', new PostgresSessionStore(app.orm, app.clock, SESSION_IDLE_MINUTES * 60_000))
}, { name: 'session-store', dependencies: ['orm', 'clock'] })
