import fp from 'fastify-plugin'
import csrf from '@fastify/csrf-protection'

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])

/**
 * Every state-changing request must carry the session's CSRF token: forms
 * in a hidden `_csrf` field, htmx requests in the `x-csrf-token` header.
 * Checked as soon as the form body is parsed and before anything in it is
 * judged, so a forged request is refused as forged (403) whatever it holds.
 */
export default fp(async (app) => {
  await app.register(csrf, { sessionPlugin: '@fastify/session' })
  app.addHook('preValidation', (request, reply, done) => {
    if (SAFE_METHODS.has(request.method)) return done()
    app.csrfProtection(request, reply, done)
  })
}, { name: 'csrf', dependencies: ['session'] })
