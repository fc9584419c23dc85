import fp from 'fastify-plugin'
import cookie from '@fastify/cookie'
import session from '@fastify/session'
import { PostgresSessionStore } from '../../domain/sessions/session-store.js'

export const SESSION_IDLE_MINUTES = 30
export const SESSION_ABSOLUTE_HOURS = 12
export const SESSION_COOKIE = 'pa_session'

declare module 'fastify' {
  interface FastifyInstance {
    sessionStore: PostgresSessionStore
  }
  interface Session {
    userId?: number
    practiceGroupId?: number
    signedInAt?: string
  }
}

/**
 * Sessions live in PostgreSQL. The cookie is HttpOnly and SameSite=Lax,
 * Secure whenever the request came over HTTPS, and rolls forward with each
 * request, which gives the 30-minute idle timeout.
 */
export default fp(async (app) => {
  const store = new PostgresSessionStore(app.orm, app.clock, SESSION_IDLE_MINUTES * 60_000)
  app.decorate('sessionStore', store)
  await app.register(cookie)
  await app.register(session, {
    secret: app.config.SESSION_SECRET,
    cookieName: SESSION_COOKIE,
    store,
    saveUninitialized: false,
    rolling: true,
    cookie: {
      httpOnly: true,
      sameSite: 'lax',
      secure: 'auto',
      path: '/',
      maxAge: SESSION_IDLE_MINUTES * 60_000
    }
  })
}, { name: 'session', dependencies: ['orm', 'clock'] })
