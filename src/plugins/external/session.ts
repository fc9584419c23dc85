import { validateHeaderName, validateHeaderValue } from 'node:http'
import fp from 'fastify-plugin'
import type { FastifyReply } from 'fastify'
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

/** Drops the first header Node would refuse to write, and says which it was. */
function refusedHeader (reply: FastifyReply): string | null {
  for (const [name, value] of Object.entries(reply.getHeaders())) {
    if (value === undefined) continue
    try {
      validateHeaderName(name)
      for (const item of [value].flat()) validateHeaderValue(name, String(item))
    } catch {
      reply.removeHeader(name)
      return name
    }
  }
  return null
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
  // The session is saved from the store's callback, which then writes the reply: an invalid header thrown
  // there reaches no error handler and ends the process. This later hook is async, so what follows it runs
  // where Fastify catches errors, and a header Node would refuse becomes the error page instead.
  app.addHook('onSend', async (_request, reply, payload) => {
    const refused = refusedHeader(reply)
    if (refused) throw new Error(`The response header "${refused}" holds characters that cannot be sent`)
    return payload
  })
}, { name: 'session', dependencies: ['session-store'] })
