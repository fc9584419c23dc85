import fp from 'fastify-plugin'
import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import { observeBatches } from '../../domain/recorder/recorder.js'
import { BACKLOG_COUNT_LIMIT, sealBacklog, type SealBacklog } from '../../domain/audit-records/chain-reads.js'
import { poolUsage } from '../../db/orm.js'

/** The background work whose every run is timed and counted. */
export type TaskName = 'seal' | 'sign-heads' | 'alert-scan' | 'scheduled-job'
/** `partial`: some practices failed and the rest were done; `skipped`: another instance held the job's lock. */
export type TaskOutcome = 'ok' | 'partial' | 'skipped' | 'failed'

export interface Metrics {
  registry: Registry
  /** Runs one pass of background work, timing it and counting how it ended; a failure is counted, then passed on. */
  task: <T>(name: TaskName, run: () => Promise<T>, outcomeOf?: (result: T) => TaskOutcome) => Promise<T>
  recordsSealed: (count: number) => void
  alertsRaised: (count: number) => void
}

declare module 'fastify' {
  interface FastifyInstance {
    metrics: Metrics
  }
}

const PREFIX = 'practice_audit_'
/** A scrape answers within Prometheus's default timeout (10 s) even when the keeper's pool is busy. */
const BACKLOG_PATIENCE_MS = 2000
/** The route label of a request that matched no route: one value, whatever address was asked for. */
const NO_ROUTE = 'none'

function digest (text: string): Buffer {
  return createHash('sha256').update(text).digest()
}

/** Compares digests, so the time taken says nothing about how much of the token was right, nor how long it is. */
function bearerMatches (authorization: string | undefined, token: string): boolean {
  const presented = /^Bearer +(\S+) *$/i.exec(authorization ?? '')?.[1] ?? ''
  return timingSafeEqual(digest(presented), digest(token))
}

function backgroundFigures (registry: Registry): Pick<Metrics, 'task' | 'recordsSealed' | 'alertsRaised'> {
  const runs = new Counter({ name: `${PREFIX}task_runs_total`, help: 'Runs of background work by how they ended.', labelNames: ['task', 'outcome'], registers: [registry] })
  const durations = new Histogram({
    name: `${PREFIX}task_duration_seconds`, help: 'How long each run of background work took.', labelNames: ['task'],
    buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 900], registers: [registry]
  })
  const sealed = new Counter({ name: `${PREFIX}records_sealed_total`, help: 'History records sealed into their practices\' chains.', registers: [registry] })
  const alerts = new Counter({ name: `${PREFIX}alerts_raised_total`, help: 'Snooping alerts raised.', registers: [registry] })
  return {
    async task (name, run, outcomeOf) {
      const stop = durations.startTimer({ task: name })
      try {
        const result = await run()
        runs.inc({ task: name, outcome: outcomeOf?.(result) ?? 'ok' })
        return result
      } catch (err) {
        runs.inc({ task: name, outcome: 'failed' })
        throw err
      } finally {
        stop()
      }
    },
    recordsSealed: count => sealed.inc(count),
    alertsRaised: count => alerts.inc(count)
  }
}

function recorderFigures (app: FastifyInstance, registry: Registry): void {
  const rows = new Histogram({
    name: `${PREFIX}recorder_batch_rows`, help: 'History records written together by one group commit.',
    buckets: [1, 2, 5, 10, 20, 50, 100], registers: [registry]
  })
  const commits = new Histogram({
    name: `${PREFIX}recorder_commit_seconds`, help: 'Time to insert and commit one group commit batch, by whether it was kept.', labelNames: ['outcome'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5], registers: [registry]
  })
  const stop = observeBatches(app.orm.em.getConnection(), (count, seconds, committed) => {
    rows.observe(count)
    commits.observe({ outcome: committed ? 'committed' : 'failed' }, seconds)
  })
  app.addHook('onClose', async () => { stop() })
}

/** Read on scrape: the sealer's backlog is the database's, the same whichever instance is asked. */
function backlogFigures (app: FastifyInstance, registry: Registry): void {
  let reading: Promise<SealBacklog | null> | null = null
  // One read at a time, shared by both gauges and by every scrape that comes while it is on its way: a slow database never gathers a queue of them.
  // A scrape is a request, and a plain fork would resolve to the request's own EntityManager: the app's role, under row-level security.
  const latest = (): Promise<SealBacklog | null> => reading ??= sealBacklog(app.keeperOrm.em.fork({ disableContextResolution: true }))
    .catch((err: unknown) => {
      app.log.warn({ err }, 'the sealing backlog could not be read for the metrics')
      return null
    })
    .finally(() => { reading = null })
  const backlog = async (): Promise<SealBacklog | null> => {
    let timer: NodeJS.Timeout | undefined
    try {
      return await Promise.race([latest(), new Promise<null>(resolve => { timer = setTimeout(resolve, BACKLOG_PATIENCE_MS, null) })])
    } finally {
      clearTimeout(timer)
    }
  }
  // Without an answer the gauges say NaN (not a number) rather than a made-up one.
  new Gauge({
    name: `${PREFIX}unsealed_records`, help: `History records waiting for their seal (counted up to ${BACKLOG_COUNT_LIMIT}); NaN when unread.`, registers: [registry],
    async collect () {
      const read = await backlog()
      this.set(read ? read.waiting : NaN)
    }
  })
  new Gauge({
    name: `${PREFIX}oldest_unsealed_record_age_seconds`, help: 'How long the record that has waited longest for its seal has waited; 0 when none waits, NaN when unread.', registers: [registry],
    async collect () {
      const read = await backlog()
      if (!read) this.set(NaN)
      else this.set(read.oldestAt ? Math.max(0, (app.clock.now().getTime() - read.oldestAt.getTime()) / 1000) : 0)
    }
  })
}

function poolFigures (app: FastifyInstance, registry: Registry): void {
  const pools = { app: app.orm, keeper: app.keeperOrm }
  new Gauge({
    name: `${PREFIX}pool_connections`, help: 'Database connections of each pool: used, free, and callers waiting for one (pending).', labelNames: ['pool', 'state'], registers: [registry],
    collect () {
      for (const [pool, orm] of Object.entries(pools)) {
        const usage = poolUsage(orm)
        for (const state of ['used', 'free', 'pending'] as const) this.set({ pool, state }, usage[state])
      }
    }
  })
  new Gauge({
    name: `${PREFIX}pool_max_connections`, help: 'The most connections each pool opens.', labelNames: ['pool'], registers: [registry],
    collect () {
      for (const [pool, orm] of Object.entries(pools)) this.set({ pool }, poolUsage(orm).max)
    }
  })
}

function requestFigures (app: FastifyInstance, registry: Registry): void {
  const durations = new Histogram({
    name: `${PREFIX}http_request_duration_seconds`, help: 'Time to answer a request, by route pattern and status class.',
    labelNames: ['method', 'route', 'status'], registers: [registry]
  })
  // The route's pattern, never the address asked for: the label's values stay as few as the routes.
  app.addHook('onResponse', async (request, reply) => {
    durations.observe({ method: request.method, route: request.routeOptions.url ?? NO_ROUTE, status: `${Math.floor(reply.statusCode / 100)}xx` }, reply.elapsedTime / 1000)
  })
}

/** `/metrics` exists only when METRICS_TOKEN is set, and answers only a request that presents it. */
function metricsRoute (app: FastifyInstance, registry: Registry, token: string): void {
  const refuse = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (bearerMatches(request.headers.authorization, token)) return
    request.log.warn('a metrics scrape without the right token was refused')
    await reply.code(401).header('WWW-Authenticate', 'Bearer realm="metrics"').type('text/plain; charset=utf-8')
      .send('Send the metrics token as "Authorization: Bearer <METRICS_TOKEN>".')
  }
  // A scrape during a stop still answers: the drain is worth watching too.
  app.get('/metrics', { config: { recording: 'exempt', answersWhileDraining: true }, onRequest: refuse }, async (_request, reply) => {
    reply.type(registry.contentType)
    return registry.metrics()
  })
}

/**
 * The figures an operator watches, in Prometheus's text format: requests,
 * the recorder's group commits, the sealer's backlog, background work,
 * alerts, the pools, and the process. Registered at the top, outside the
 * pages' scope, so a scrape reads no session and records nothing.
 */
export default fp(async (app) => {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  requestFigures(app, registry)
  recorderFigures(app, registry)
  // Before the backlog: a scrape collects in this order, so the pools are read before the backlog's own read takes a connection.
  poolFigures(app, registry)
  backlogFigures(app, registry)
  app.decorate('metrics', { registry, ...backgroundFigures(registry) })
  if (app.config.METRICS_TOKEN) metricsRoute(app, registry, app.config.METRICS_TOKEN)
}, { name: 'metrics', dependencies: ['orm', 'clock', 'recorder'] })
