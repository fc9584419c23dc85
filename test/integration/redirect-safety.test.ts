import t from 'tap'
import type { Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import { build, testDatabase, testRoles } from '../helpers/app.js'
import { signedInAgent, PASSWORD, type Agent } from '../helpers/agent.js'
import { makeClinic } from '../helpers/clinic.js'
import { watchForCrash } from '../helpers/crash-watch.js'
import { unique } from '../../src/seed/factories.js'
import { buildApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { openOrm, openUnscopedOrm } from '../../src/db/orm.js'
import { ManualClock } from '../../src/domain/clock/clock.js'
import { SessionCache } from '../../src/domain/sessions/session-cache.js'
import { PostgresSessionStore } from '../../src/domain/sessions/session-store.js'

const ctx = await build(t)
const clinic = await makeClinic(ctx.em())

async function signInAgainWithNext (agent: Agent, next: string) {
  return agent.post('/login', { email: clinic.owner.email, password: PASSWORD, next })
}

async function stillServing (t: Test, app: FastifyInstance): Promise<void> {
  const health = await app.inject({ method: 'GET', url: '/login' })
  t.equal(health.statusCode, 200, 'the server still answers the next request')
}

t.test('when a signed-in user signs in again with a line break in next, then they land on the home page and the server keeps serving', async t => {
  const { survives } = watchForCrash(t)
  const agent = await signedInAgent(ctx.app, clinic.owner.email)
  const response = await survives(signInAgainWithNext(agent, '/\n'))
  t.equal(response.statusCode, 303)
  t.equal(response.headers.location, '/')
  await stillServing(t, ctx.app)
})

t.test('when a signed-in user follows a sign-in link with a line break a minute after their last page, then they land on the home page', async t => {
  const { survives } = watchForCrash(t)
  const agent = await signedInAgent(ctx.app, clinic.owner.email)
  ctx.clock.advance(61_000)
  const response = await survives(agent.get('/login?next=%2F%0A'))
  t.equal(response.statusCode, 302)
  t.equal(response.headers.location, '/')
  await stillServing(t, ctx.app)
})

t.test('when next would lead off this site (a slash behind a tab, a backslash, a dot segment, a full address), then sign-in leads to the home page', async t => {
  for (const next of ['/\t/evil.example', '/\\\t\\evil.example', '/.//evil.example', '/\\evil.example', 'https://evil.example/']) {
    const agent = await signedInAgent(ctx.app, clinic.owner.email)
    const response = await signInAgainWithNext(agent, next)
    t.equal(response.headers.location, '/', JSON.stringify(next))
  }
})

t.test('when next is a page of this site, then sign-in leads there, written as the URL parser writes it', async t => {
  const cases = [
    ['/patients?page=2#top', '/patients?page=2#top'],
    ['/patients/\u0100', '/patients/%C4%80'],
    ['/patients/\u{1f600}', '/patients/%F0%9F%98%80'],
    ['patients', '/patients']
  ]
  const { survives } = watchForCrash(t)
  for (const [next, expected] of cases) {
    const agent = await signedInAgent(ctx.app, clinic.owner.email)
    const response = await survives(signInAgainWithNext(agent, next!))
    t.equal(response.headers.location, expected, JSON.stringify(next))
  }
})

t.test('when a response holds a header that cannot be sent, then the person sees the error page and the server keeps serving', async t => {
  const databaseUrl = await testDatabase(t)
  const roles = testRoles(databaseUrl)
  const orm = await openOrm(roles.app, 2)
  const keeperOrm = await openUnscopedOrm(roles.keeper)
  const config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', DATABASE_URL: databaseUrl, JOBS_SCHEDULE: 'off', SEAL_SCHEDULE: 'off', DELIVERY_SCHEDULE: 'off' })
  const app = buildApp({ config, orm, keeperOrm, clock: new ManualClock(new Date()) })
  // Stands for any code that puts unsendable text in a header, as the sign-in redirect once did.
  app.addHook('preHandler', async (request, reply) => {
    if (request.headers['x-echo']) reply.header('x-echo', `${request.headers['x-echo']}\u0100`)
  })
  await app.ready()
  t.teardown(async () => {
    await app.close()
    await orm.close(true)
    await keeperOrm.close(true)
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
