import fp from 'fastify-plugin'

export interface Shutdown {
  /** True from the moment a stop begins: readiness says so, and new requests are turned away. */
  readonly draining: boolean
  /**
   * Starts draining and resolves once no request is in flight, or when
   * `graceMs` have passed; with the number of requests still running then.
   */
  drain: (graceMs: number) => Promise<number>
  /** Waits for `work`, but once draining has begun no longer than the grace period allows. */
  beforeDeadline: (work: Promise<unknown>) => Promise<void>
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Answered while the app drains and not waited for: the health and readiness checks. */
    answersWhileDraining?: boolean
  }
  interface FastifyInstance {
    shutdown: Shutdown
  }
}

const COME_BACK_SECONDS = 5
/** How long no request may have come before the listening socket closes. */
const QUIET_MS = 1000
const POLL_MS = 50

/**
 * A clean stop. While the app drains, the requests already in flight run
 * to their end and every new one is answered at once with a 503 that asks
 * the client to come back (behind a load balancer, to another instance).
 * The drain ends once nothing has been in flight and no connection or
 * request has come for a second (the load balancer has seen /ready fail
 * and sends elsewhere), so that closing the listening socket then resets
 * no connection that was still waiting to be accepted. The grace period
 * bounds the wait.
 */
export default fp(async (app) => {
  let draining = false
  let deadline: number | null = null
  let inFlight = 0
  let lastArrival = 0

  async function beforeDeadline (work: Promise<unknown>): Promise<void> {
    if (deadline === null) {
      await work
      return
    }
    let timer: NodeJS.Timeout | undefined
    const timeUp = new Promise<void>(resolve => { timer = setTimeout(resolve, Math.max(0, deadline! - Date.now())) })
    try {
      await Promise.race([work, timeUp])
    } finally {
      clearTimeout(timer)
    }
  }

  app.decorate('shutdown', {
    get draining () { return draining },
    drain: async (graceMs: number) => {
      draining = true
      const until = deadline = Date.now() + graceMs
      while (Date.now() < until && (inFlight > 0 || Date.now() - lastArrival < QUIET_MS)) {
        await new Promise(resolve => setTimeout(resolve, POLL_MS))
      }
      return inFlight
    },
    beforeDeadline
  })

  app.server.on('connection', () => { lastArrival = Date.now() })
  app.addHook('onRequest', async (request, reply) => {
    lastArrival = Date.now()
    if (request.routeOptions.config?.answersWhileDraining) return
    if (draining) {
      return reply.code(503).header('connection', 'close').header('retry-after', String(COME_BACK_SECONDS))
        .type('text/plain; charset=utf-8').send('Practice Audit is restarting. Please try again in a moment.')
    }
    inFlight++
    reply.raw.once('close', () => { inFlight-- })
  })
}, { name: 'shutdown' })
