import fp from 'fastify-plugin'
import helmet from 'helmet'

/** A strict policy: only our own scripts and styles, no plugins, no framing, no <base> tricks. */
const securityHeaders = helmet({
  contentSecurityPolicy: {
    useDefaults: false,
    directives: {
      defaultSrc: ["'self'"],
      scriptSrc: ["'self'"],
      styleSrc: ["'self'"],
      imgSrc: ["'self'", 'data:'],
      fontSrc: ["'self'"],
      connectSrc: ["'self'"],
      formAction: ["'self'"],
      objectSrc: ["'none'"],
      baseUri: ["'none'"],
      frameAncestors: ["'none'"]
    }
  },
  hsts: false
})

/**
 * Sets the headers on every response. The policy is the same for every
 * request (no nonces), so it is built once here: @fastify/helmet builds
 * helmet's middleware anew for each request, parsing the policy each time.
 */
export default fp(async (app) => {
  app.addHook('onRequest', (request, reply, done) => {
    securityHeaders(request.raw, reply.raw, err => done(err as Error | undefined))
  })
}, { name: 'helmet' })
