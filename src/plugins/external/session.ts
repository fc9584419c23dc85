import fp from 'fastify-plugin'
import cookie from '@fastify/cookie'
import session from '@fastify/session'
import { SESSION_IDLE_MINUTES } from '../app/session-store.js'

export const SESSION_ABSOLUTE_HOURS = 12
export const SESSION_COOKIE = 'pa_session'

declare module 'fastify' {
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
  await app.register(cookie)
  await app.register(session, {
    secret: app.config.SESSION_SECRET,
    cookieName: SESSION_COOKIE,
    store: app.sessionStore,
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
}, { name: 'session', dependencies: ['session-store'] })
