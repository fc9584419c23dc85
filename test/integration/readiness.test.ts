import t from 'tap'
import pg from 'pg'
import type { LightMyRequestResponse } from 'fastify'
import { build } from '../helpers/app.js'
import { LISTENER_APPLICATION_NAME } from '../../src/domain/sessions/signed-in-changes.js'
import { APP_ROLE } from '../../src/db/app-role.js'
import { migrationsList } from '../../src/db/migrations-list.js'

const ctx = await build(t)
const databaseName = new URL(ctx.databaseUrl).pathname.slice(1)

async function asOwner (sql: string, params: unknown[] = []): Promise<void> {
  await ctx.em().getConnection().execute(sql, params)
}

/** The server's superuser, from outside this database: for what cannot be done from inside it. */
async function onServer (sql: string, params: unknown[] = []): Promise<void> {
  const client = new pg.Client({ connectionString: process.env.DATABASE_URL })
  await client.connect()
  try {
    await client.query(sql, params)
  } finally {
    await client.end()
  }
}

async function ready (): Promise<{ status: number, body: { status: string, failing?: string[], checks?: Record<string, string> } }> {
  const response = await ctx.app.inject({ method: 'GET', url: '/ready' })
  return { status: response.statusCode, body: response.json() }
}

/** Asks until the answer is `status`, as a probe would every few seconds, or gives up after `seconds`. */
async function readyBecomes (status: number, seconds = 10): Promise<Awaited<ReturnType<typeof ready>>> {
  const until = Date.now() + seconds * 1000
  for (;;) {
    const answer = await ready()
    if (answer.status === status || Date.now() > until) return answer
    await new Promise(resolve => setTimeout(resolve, 200))
  }
}

async function historySize (): Promise<number> {
  const [row] = await ctx.em().getConnection().execute<Array<{ n: string }>>('select count(*) as n from audit_records')
  return Number(row!.n)
}

t.test('when every part works, then /ready and /health answer 200, record nothing and start no session', async t => {
  const before = await historySize()
  const answer = await ready()
  t.equal(answer.status, 200)
  t.same(answer.body, { status: 'ready', failing: [], checks: { database: 'ok', migrations: 'ok', recorder: 'ok', listener: 'ok' } })
  const health: LightMyRequestResponse = await ctx.app.inject({ method: 'GET', url: '/health' })
  t.equal(health.statusCode, 200)
  t.same(health.json(), { status: 'ok' })
  for (const response of [health, await ctx.app.inject({ method: 'GET', url: '/ready' })]) {
    t.equal(response.headers['set-cookie'], undefined, 'no session cookie')
    t.equal(response.headers['cache-control'], 'no-store')
  }
  t.equal(await historySize(), before, 'no history record')
})

t.test('when the session change listener has lost its connection, then /ready names the listener until it is back', async t => {
  await onServer('select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and application_name = $2', [databaseName, LISTENER_APPLICATION_NAME])
  const down = await readyBecomes(503)
  t.same(down.body.failing, ['listener'])
  t.equal(down.body.status, 'not ready')
  t.equal((await readyBecomes(200)).status, 200, 'ready again once the listener reconnects')
})

t.test('when another session holds the history table, then /ready names the recorder and adds no record', async t => {
  const before = await historySize()
  const holder = new pg.Client({ connectionString: ctx.databaseUrl })
  await holder.connect()
  t.teardown(() => holder.end())
  await holder.query('begin')
  await holder.query('lock table audit_records in exclusive mode')
  const blocked = await ready()
  t.equal(blocked.status, 503)
  t.same(blocked.body.failing, ['recorder'])
  t.equal(blocked.body.checks?.database, 'ok')
  await holder.query('rollback')
  t.equal((await ready()).status, 200, 'ready again once the table is free')
  t.equal(await historySize(), before, 'the probe wrote nothing')
})

t.test('when a migration this build knows is not applied, then /ready names the migrations', async t => {
  const last = migrationsList.at(-1)!.name
  await asOwner('delete from mikro_orm_migrations where name = ?', [last])
  const behind = await ready()
  t.equal(behind.status, 503)
  t.same(behind.body.failing, ['migrations'])
  await asOwner('insert into mikro_orm_migrations (name) values (?)', [last])
  t.equal((await ready()).status, 200)
})

t.test('when the database refuses the app\'s connections, then /ready names the database and /health still answers', async t => {
  await onServer(`alter database ${databaseName} with allow_connections false`)
  t.teardown(() => onServer(`alter database ${databaseName} with allow_connections true`))
  await onServer('select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and usename = $2', [databaseName, APP_ROLE])
  const down = await readyBecomes(503)
  t.ok(down.body.failing?.includes('database'), `failing: ${down.body.failing?.join(', ')}`)
  t.equal(down.body.checks?.migrations, 'unknown', 'what needs the database is not judged')
  t.equal(down.body.checks?.recorder, 'unknown')
  const health = await ctx.app.inject({ method: 'GET', url: '/health' })
  t.equal(health.statusCode, 200, '/health does not depend on the database')
  await onServer(`alter database ${databaseName} with allow_connections true`)
  t.equal((await readyBecomes(200)).status, 200, 'ready again once the database accepts connections')
})

t.test('when the app starts draining, then /ready says it is shutting down, /health still answers and pages are turned away', async t => {
  t.equal(await ctx.app.shutdown.drain(5000), 0, 'nothing was in flight')
  const answer = await ready()
  t.equal(answer.status, 503)
  t.same(answer.body, { status: 'shutting down' })
  t.equal((await ctx.app.inject({ method: 'GET', url: '/health' })).statusCode, 200)
  const page = await ctx.app.inject({ method: 'GET', url: '/login' })
  t.equal(page.statusCode, 503)
  t.equal(page.headers.connection, 'close')
  t.ok(Number(page.headers['retry-after']) > 0, 'says when to come back')
})
