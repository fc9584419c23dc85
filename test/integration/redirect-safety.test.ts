import t from 'tap'
import type { Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import { build, testDatabase } from '../helpers/app.js'
import { watchForCrash } from '../helpers/crash-watch.js'
import { unique } from '../../src/db/factories.js'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { openOrm } from '../../src/db/orm.js'
import { ManualClock } from '../../src/domain/clock/clock.js'
import { SessionCache } from '../../src/domain/sessions/session-cache.js'
import { PostgresSessionStore } from '../../src/domain/sessions/session-store.js'

const ctx = await build(t)

async function stillServing (t: Test, app: FastifyInstance): Promise<void> {
  const health = await app.inject({ method: 'GET', url: '/login' })
  t.equal(health.statusCode, 200, 'the server still answers the next request')
}

t.test('when a response holds a header that cannot be sent, then the person sees the error page and the server keeps serving', async t => {
  const databaseUrl = await testDatabase(t)
  const orm = await openOrm(databaseUrl, 2)
  const config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', DATABASE_URL: databaseUrl, JOBS_SCHEDULE: 'off', SEAL_SCHEDULE: 'off' })
  const app = buildApp({ config, orm, clock: new ManualClock(new Date()) })
  // Stands for any code that puts unsendable text in a header, as the sign-in redirect once did.
  app.addHook('preHandler', async (request, reply) => {
    if (request.headers['x-echo']) reply.header('x-echo', `${request.headers['x-echo']}\u0100`)
  })
  await app.ready()
  t.teardown(async () => {
    await app.close()
    await orm.close(true)
  })
  const { survives } = watchForCrash(t)
  const response = await survives(app.inject({ method: 'GET', url: '/login', headers: { 'x-echo': 'hello' } }))
  t.equal(response.statusCode, 500)
  t.match(response.body, 'Something went wrong on our side')
  t.equal(response.headers['x-echo'], undefined, 'the unsendable header is not sent')
  await stillServing(t, app)
})

t.test('when the request fails after the session store answered, then the store answers once and the failure is logged, not left to end the process', async t => {
  const logged: string[] = []
  const store = new PostgresSessionStore(ctx.orm, ctx.clock, 30 * 60_000, new SessionCache(), { error: (_details, message) => logged.push(message) })
  const { survives } = watchForCrash(t)
  let answers = 0
  await survives(new Promise<void>(resolve => {
    store.set(unique('sid'), {}, () => {
      answers += 1
      setTimeout(resolve, 100)
      throw new Error('the reply could not be written')
    })
  }))
  t.equal(answers, 1)
  t.equal(logged.length, 1)
})
