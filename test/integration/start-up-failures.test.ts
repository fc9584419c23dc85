import t, { type Test } from 'tap'
import { existsSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import pg from 'pg'
import { testDatabase } from '../helpers/app.js'
import { dropDatabase, ensureDatabase } from '../../src/db/databases.js'
import { freePort, scratchDirectory, serverEnvironment, spawnServer } from '../helpers/server-process.js'

interface Outcome { code: number | null, lines: string[] }

/** Starts the server and waits for it to give up: its exit code and what it wrote to stderr, line by line. */
async function failedStart (t: Test, env: Record<string, string>): Promise<Outcome> {
  const server = spawnServer(t, env)
  const { code } = await server.exited
  return { code, lines: server.stderr().split('\n').filter(line => line.trim()) }
}

/** One line on stderr, starting as every failed start does, and an exit code that says it failed. */
function saysInOneLine (t: Test, outcome: Outcome, expected: RegExp): void {
  t.equal(outcome.code, 1, 'exits with 1')
  t.equal(outcome.lines.length, 1, `one line, no stack trace: ${outcome.lines.join(' | ')}`)
  t.match(outcome.lines[0], /^Practice Audit did not start: .*\.$/)
  t.match(outcome.lines[0], expected)
}

/** A database of the test's own that no migration has touched yet. */
async function emptyDatabase (t: Test): Promise<string> {
  const serverUrl = process.env.DATABASE_URL!
  const name = `t_${process.pid}_empty_${Math.random().toString(36).slice(2, 8)}`
  const url = await ensureDatabase(serverUrl, name)
  t.teardown(() => dropDatabase(serverUrl, name))
  return url
}

t.test('when the configuration is invalid, then it names the variable in one line', async t => {
  const outcome = await failedStart(t, { PORT: '99999' })
  saysInOneLine(t, outcome, /Invalid configuration: .*PORT must be <= 65535/)
  const grace = await failedStart(t, { SHUTDOWN_GRACE_SECONDS: '-1' })
  saysInOneLine(t, grace, /SHUTDOWN_GRACE_SECONDS/)
})

t.test('when DATA_DIR cannot be used, then it says which directory and what to set', async t => {
  const file = join(scratchDirectory(t, 'practice-audit-file-'), 'not-a-directory')
  writeFileSync(file, '')
  const outcome = await failedStart(t, { DATA_DIR: join(file, 'data'), DATABASE_URL: process.env.DATABASE_URL! })
  saysInOneLine(t, outcome, new RegExp(`DATA_DIR ${file}/data cannot be used \\(ENOTDIR.*\\)\\. Set DATA_DIR`))
})

t.test('when the database does not answer, then it names the address without its password', async t => {
  const port = await freePort()
  const outcome = await failedStart(t, { DATABASE_URL: `postgres://someone:secret-password@127.0.0.1:${port}/practice`, DATA_DIR: scratchDirectory(t, 'practice-audit-data-') })
  saysInOneLine(t, outcome, new RegExp(`the database at postgres://someone@127\\.0\\.0\\.1:${port}/practice does not answer \\(connect ECONNREFUSED.*\\)\\. Check DATABASE_URL`))
  t.notMatch(outcome.lines.join('\n'), /secret-password/)
})

t.test('when a migration fails, then it names the migration and PostgreSQL\'s reason, and keeps none of them', async t => {
  const url = await emptyDatabase(t)
  const owner = new pg.Client({ connectionString: url })
  await owner.connect()
  t.teardown(() => owner.end())
  await owner.query('create table practice_groups (something_else integer)')
  const outcome = await failedStart(t, { DATABASE_URL: url, DATA_DIR: scratchDirectory(t, 'practice-audit-data-') })
  saysInOneLine(t, outcome, /migrating the database failed, and none of this start's migrations were kept \(Migration20261125000100_foundation: relation "practice_groups" already exists\)/)
  const { rows: [{ migrations }] } = await owner.query<{ migrations: string | null }>("select to_regclass('mikro_orm_migrations')::text as migrations")
  const applied = migrations ? (await owner.query('select name from mikro_orm_migrations')).rowCount : 0
  t.equal(applied, 0, 'no migration of the failed run is recorded as applied')
})

t.test('when the port is taken, then it says which and what to set', async t => {
  const databaseUrl = await testDatabase(t)
  const holder = createServer()
  await new Promise<void>(resolve => holder.listen(0, '127.0.0.1', resolve))
  t.teardown(() => holder.close())
  const port = (holder.address() as { port: number }).port
  const outcome = await failedStart(t, serverEnvironment(t, databaseUrl, { PORT: String(port) }))
  saysInOneLine(t, outcome, new RegExp(`the app cannot listen on 127\\.0\\.0\\.1 port ${port} \\(listen EADDRINUSE.*\\)\\. Stop whatever holds that port, or set PORT`))
})

t.test('when the embedded PostgreSQL\'s port is taken, then it says so before touching any data', async t => {
  const holder = createServer()
  await new Promise<void>(resolve => holder.listen(0, '127.0.0.1', resolve))
  t.teardown(() => holder.close())
  const port = (holder.address() as { port: number }).port
  const dataDir = scratchDirectory(t, 'practice-audit-data-')
  const outcome = await failedStart(t, { DATA_DIR: dataDir, EMBEDDED_PG_PORT: String(port) })
  saysInOneLine(t, outcome, new RegExp(`port ${port} is already in use, so the embedded PostgreSQL cannot start\\. .*EMBEDDED_PG_PORT.*DATABASE_URL`))
  t.notOk(existsSync(join(dataDir, 'postgres')), 'no cluster was begun')
})
