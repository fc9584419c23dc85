import t from 'tap'
import pg from 'pg'
import type { FastifyInstance } from 'fastify'
import { build } from '../helpers/app.js'
import { Agent, signedInAgent } from '../helpers/agent.js'
import { makeClinic } from '../helpers/clinic.js'
import { buildApp } from '../../src/app.js'
import { LISTENER_APPLICATION_NAME } from '../../src/domain/sessions/signed-in-changes.js'
import { SessionCache } from '../../src/domain/sessions/session-cache.js'
import { PostgresSessionStore } from '../../src/domain/sessions/session-store.js'
import { unique } from '../../src/seed/factories.js'
import { inPracticeScope } from '../../src/db/practice-scope.js'

const ctx = await build(t)
ctx.clock.set('2026-11-25T03:00:00Z')

/** A second app server on the same database, as behind a load balancer. */
const other = buildApp({ config: ctx.config, orm: ctx.orm, keeperOrm: ctx.keeper, clock: ctx.clock })
await other.ready()
t.teardown(() => other.close())

/** The same browser, its next request sent to `app`. */
function sameBrowserOn (app: FastifyInstance, agent: Agent): Agent {
  const moved = new Agent(app)
  for (const [name, value] of agent.cookies) moved.cookies.set(name, value)
  moved.csrfToken = agent.csrfToken
  return moved
}

/** Counts the session reads that reach PostgreSQL while `work` runs. */
async function sessionReadsDuring (work: () => Promise<unknown>): Promise<number> {
  const connection = ctx.orm.em.getConnection()
  const execute = connection.execute.bind(connection)
  let reads = 0
  connection.execute = ((query: string, ...rest: unknown[]) => {
    if (typeof query === 'string' && query.includes('from sessions session')) reads++
    return (execute as (...args: unknown[]) => unknown)(query, ...rest)
  }) as typeof connection.execute
  try {
    await work()
  } finally {
    connection.execute = execute
  }
  return reads
}

async function asDatabaseOwner (sql: string, params: unknown[] = []): Promise<void> {
  const owner = new pg.Client({ connectionString: ctx.databaseUrl })
  await owner.connect()
  try {
    await owner.query(sql, params)
  } finally {
    await owner.end()
  }
}

async function until (condition: () => boolean, what: string): Promise<void> {
  for (let waited = 0; !condition(); waited += 20) {
    if (waited > 10_000) throw new Error(`still waiting: ${what}`)
    await new Promise(resolve => setTimeout(resolve, 20))
  }
}

t.test('when a signed-in person moves from page to page, then their session is read from the database once, not on every page', async t => {
  const c = await makeClinic(ctx.em())
  const owner = await signedInAgent(ctx.app, c.owner.email)
  await owner.get('/settings/users/history')
  await owner.get('/patients')
  const reads = await sessionReadsDuring(async () => {
    for (const page of ['/patients', '/appointments', '/settings/users/history?sort=user', '/invoices']) {
      t.equal((await owner.get(page, { 'hx-request': 'true' })).statusCode, 200, page)
    }
  })
  t.equal(reads, 0, 'no session reads')
})

t.test('when this server changes or ends a session, then what it kept is dropped at once, before any notice could arrive', async t => {
  const c = await makeClinic(ctx.em())
  const cache = new SessionCache()
  cache.trust()
  const store = new PostgresSessionStore(ctx.orm, ctx.clock, 30 * 60_000, cache, ctx.app.log)
  // Each call as one request of this practice would make it: the app's connections see only its rows.
  const asRequest = <T>(work: () => Promise<T>): Promise<T> => inPracticeScope(c.group.id, work)
  const read = async (sid: string): Promise<Record<string, unknown> | null> => asRequest(() =>
    new Promise((resolve, reject) => store.get(sid, (err, data) => err ? reject(err) : resolve(data))))
  const write = async (sid: string, data: Record<string, unknown>): Promise<void> => asRequest(() =>
    new Promise((resolve, reject) => store.set(sid, { userId: c.owner.id, practiceGroupId: c.group.id, ...data }, err => err ? reject(err) : resolve())))
  const sid = unique('sid')

  await write(sid, { flash: 'first' })
  t.match(await read(sid), { flash: 'first' })
  await ctx.em().getConnection().execute(`update sessions set data = data || '{"flash": "changed elsewhere"}' where sid = ?`, [sid])
  t.match(await read(sid), { flash: 'first' }, 'kept: with nobody listening, a change elsewhere goes unseen')
  await write(sid, { flash: 'second' })
  t.match(await read(sid), { flash: 'second' }, 'changed here')
  await asRequest(() => new Promise<void>((resolve, reject) => store.destroy(sid, err => err ? reject(err) : resolve())))
  t.equal(await read(sid), null, 'ended here')

  const another = unique('sid')
  await write(another, {})
  t.ok(await read(another))
  await asRequest(() => store.endSessionsOf(c.owner.id))
  t.equal(await read(another), null, 'all of the user\'s sessions ended here')
})

t.test('when another app server ends a session or changes a user, then this server acts on it as soon as the change reaches it', async t => {
  const c = await makeClinic(ctx.em())
  const owner = await signedInAgent(ctx.app, c.owner.email)
  const practitioner = await signedInAgent(ctx.app, c.practitioner.email)
  const practitionerElsewhere = sameBrowserOn(other, practitioner)
  const ownerElsewhere = sameBrowserOn(other, owner)
  t.equal((await practitionerElsewhere.get('/settings/users/history')).statusCode, 200, 'read and kept by the other server')
  t.equal((await ownerElsewhere.get('/patients')).statusCode, 200, 'read and kept by the other server')

  await owner.post(`/settings/users/${c.practitioner.id}`, { accessLevel: 'Practitioner', active: 'on' })
  t.equal((await practitionerElsewhere.get('/settings/users/history')).statusCode, 403, 'permission taken away')

  await owner.post('/logout')
  const afterSignOut = await ownerElsewhere.get('/patients')
  t.equal(afterSignOut.statusCode, 302, 'signed out')
  t.match(afterSignOut.headers.location, /^\/login/)
})

t.test('when the change notices stop arriving, then every session is read from the database until they are back', async t => {
  const c = await makeClinic(ctx.em())
  const reception = await signedInAgent(ctx.app, c.reception.email)
  const owner = await signedInAgent(ctx.app, c.owner.email)
  await owner.get('/patients')

  await asDatabaseOwner('select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and application_name = $1', [LISTENER_APPLICATION_NAME])
  await until(() => !ctx.app.signedInChanges.listening, 'the app to notice the notices stopped')
  await asDatabaseOwner('update users set active = false where id = $1', [c.reception.id])
  const refused = await ctx.app.inject({ method: 'GET', url: '/patients', headers: { cookie: reception.cookieHeader } })
  t.equal(refused.statusCode, 302, 'a change made while nobody listened is still seen')
  t.equal(await sessionReadsDuring(() => owner.get('/patients')), 1, 'read from the database')

  await until(() => ctx.app.signedInChanges.listening, 'the app to listen again')
  await owner.get('/patients')
  t.equal(await sessionReadsDuring(() => owner.get('/patients')), 0, 'kept again')
})
