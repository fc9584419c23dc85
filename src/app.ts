import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import type { MikroORM } from '@mikro-orm/core'
import type { PostgreSqlDriver } from '@mikro-orm/postgresql'
import { trustedProxies, type Config } from './config.js'
import type { Clock } from './domain/clock/clock.js'
import type { Plan } from './domain/plan/plan.js'
import type { ChainKey } from './domain/signed-heads/chain-key.js'
import { NotFoundError, RefusalError, UserFacingError, ValidationError } from './domain/errors.js'
import compress from './plugins/external/compress.js'
import helmet from './plugins/external/helmet.js'
import staticFiles from './plugins/external/static.js'
import formbody from './plugins/external/formbody.js'
import session from './plugins/external/session.js'
import csrf from './plugins/external/csrf.js'
import rateLimit from './plugins/external/rate-limit.js'
import view from './plugins/external/view.js'
import shutdown from './plugins/app/shutdown.js'
import clockPlugin from './plugins/app/clock.js'
import planPlugin from './plugins/app/plan.js'
import chainSigning from './plugins/app/chain-signing.js'
import recorder, { recordRefusal } from './plugins/app/recorder.js'
import ormPlugin from './plugins/app/orm.js'
import sessionStore from './plugins/app/session-store.js'
import auth, { SignInRequiredError } from './plugins/app/auth.js'
import render from './plugins/app/render.js'
import breakGlass from './plugins/app/break-glass.js'
import scheduledJobs from './plugins/app/scheduled-job.js'
import topUpSettler from './plugins/app/top-up-settler.js'
import sealer from './plugins/app/sealer.js'
import delivery from './plugins/app/delivery.js'
import metrics from './plugins/app/metrics.js'
import storableText from './plugins/app/storable-text.js'
import { ReasonRequiredError } from './domain/restricted-patients/break-glass.js'
import { reasonPageFor } from './routes/restricted-patients/address.js'
import { configuredPaymentProvider, type PaymentProvider } from './domain/credits/payment-provider.js'
import routes from './routes/index.js'
import health from './routes/health/index.js'
import { RECORD_ID_KEYWORD, plainNumberKeywords } from './routes/plain-numbers.js'

declare module 'fastify' {
  interface FastifyInstance {
    config: Config
    /** Null when no provider is configured: top-ups are then unavailable. */
    paymentProvider: PaymentProvider | null
  }
}

export interface AppOptions {
  config: Config
  /** The app role's connections, for requests. */
  orm: MikroORM<PostgreSqlDriver>
  /** The keeper role's connections, for the sealer and the scheduled job. */
  keeperOrm: MikroORM<PostgreSqlDriver>
  clock?: Clock
  /** The product's terms; DEFAULT_PLAN unless given. */
  plan?: Plan
  /** Where top-ups are paid; without one, PAYMENT_PROVIDER decides (the test provider, or none). */
  paymentProvider?: PaymentProvider
  /** The key that signs chain heads; without one, CHAIN_SIGNING_KEY or the one kept under DATA_DIR. */
  chainKey?: ChainKey
}

const CSRF_MESSAGE = 'This form has expired or did not come from this site. Reload the page and try again.'

function publicMessage (err: FastifyError): { status: number, message: string } {
  if (err instanceof UserFacingError) return { status: err.statusCode, message: err.message }
  if (err.code?.startsWith('FST_CSRF')) return { status: 403, message: CSRF_MESSAGE }
  const missing = err.validationContext === 'params' ? err.validation?.find(problem => problem.keyword === RECORD_ID_KEYWORD) : undefined
  if (missing) return { status: 404, message: new NotFoundError(String(missing.params.noun)).message }
  if (err.validation) return { status: 400, message: `The request was not understood: ${err.message}.` }
  const status = err.statusCode ?? 500
  if (status >= 400 && status < 500) return { status, message: err.message }
  return { status: 500, message: 'Something went wrong on our side. The problem has been logged; please try again.' }
}

async function renderError (request: FastifyRequest, reply: FastifyReply, status: number, message: string): Promise<string> {
  reply.status(status)
  try {
    const template = request.isHtmx ? 'partials/error' : 'pages/error'
    return await reply.page(template, { title: status === 404 ? 'Not found' : 'Something went wrong', status, message })
  } catch {
    reply.type('text/plain; charset=utf-8')
    return message
  }
}

async function handleError (this: unknown, err: FastifyError, request: FastifyRequest, reply: FastifyReply): Promise<unknown> {
  if (err instanceof SignInRequiredError) {
    if (request.isHtmx) return reply.header('HX-Redirect', '/login').status(401).send()
    if (request.method === 'GET') return reply.redirect(`/login?${new URLSearchParams({ next: request.url })}`)
  }
  if (err instanceof ReasonRequiredError) {
    const reasonPage = reasonPageFor(err.patientId, request)
    if (request.method === 'GET' && !request.isHtmx) return reply.redirect(reasonPage, 303)
    if (request.isHtmx) reply.header('HX-Redirect', reasonPage)
  }
  const { status, message } = publicMessage(err)
  if (err instanceof RefusalError && request.currentUser) await recordRefusal(request, err)
  if (status >= 500) request.log.error({ err }, 'request failed')
  if (err instanceof ValidationError) request.log.debug({ fields: err.fields }, 'validation failed')
  return renderError(request, reply, status, message)
}

/**
 * Builds the application; the caller owns the ORM and decides when to listen.
 *
 * Plugins are registered by hand rather than autoloaded: their order is
 * part of the design (the clock and the pools before anything that reads
 * them, the recorder before any route, the metrics before the background
 * work they count, sessions only in the pages' scope),
 * and a list read top to bottom shows that order where a folder scan would
 * hide it.
 */
export function buildApp ({ config, orm, keeperOrm, clock, plan, paymentProvider, chainKey }: AppOptions): FastifyInstance {
  const app = Fastify({
    logger: { level: config.LOG_LEVEL },
    trustProxy: trustedProxies(config),
    bodyLimit: 1024 * 1024,
    // A request that comes while the app closes gets the shutdown plugin's answer, which says to come back.
    return503OnClosing: false,
    // What the client sent is what the schema judges: no "1e2" read as 100, no array read as its one element.
    ajv: { customOptions: { coerceTypes: false }, plugins: [plainNumberKeywords] }
  })
  app.decorate('config', config)

  // First, so a stop sees every request: those it waits for and those it turns away.
  app.register(shutdown)
  // Before any route, static files included: it joins each route as the route is declared.
  app.register(compress)
  app.register(clockPlugin, { clock })
  app.register(planPlugin, { plan })
  app.register(chainSigning, { key: chainKey })
  app.register(ormPlugin, { orm, keeperOrm })
  app.decorate('paymentProvider', paymentProvider ?? configuredPaymentProvider(config.PAYMENT_PROVIDER))
  app.register(recorder)
  app.register(metrics)
  app.register(scheduledJobs)
  app.register(topUpSettler)
  app.register(sealer)
  app.register(delivery)
  app.register(sessionStore)
  app.register(helmet)
  // Probes need no session, form parsing or rate limit.
  app.register(health)
  app.register(staticFiles)
  app.register(view)

  // Pages live in their own scope: fetching a stylesheet or htmx never reads or rewrites a session.
  app.register(async function pages (scope) {
    scope.register(formbody)
    scope.register(session)
    scope.register(csrf)
    scope.register(storableText)
    scope.register(rateLimit)
    scope.register(auth)
    scope.register(render)
    scope.register(breakGlass)
    scope.register(routes)
    scope.setErrorHandler(handleError)
    scope.setNotFoundHandler(async (request, reply) =>
      renderError(request, reply, 404, 'There is no page at this address.'))
  })
  app.setErrorHandler(handleError)

  return app
}
