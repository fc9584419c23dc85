import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Test } from 'tap'
import pg from 'pg'
import type { FastifyInstance } from 'fastify'
import type { MikroORM } from '@mikro-orm/core'
import type { EntityManager, PostgreSqlDriver } from '@mikro-orm/postgresql'
import { buildApp } from '../../src/app.js'
import { loadConfig, type Config } from '../../src/config.js'
import { ManualClock } from '../../src/domain/clock/clock.js'
import { DEFAULT_PLAN, type Plan } from '../../src/domain/plan/plan.js'
import { migrate, openOrm, openUnscopedOrm } from '../../src/db/orm.js'
import { dropDatabase, ensureDatabase } from '../../src/db/databases.js'
import { rolePasswords, roleUrls, type RoleUrls } from '../../src/db/roles.js'
import { writePlanTerms } from '../../src/db/plan-terms.js'

export interface TestContext {
  app: FastifyInstance
  /** The app's own connections, as the app role (row-level security applies). */
  orm: MikroORM<PostgreSqlDriver>
  /** The sealer's and the scheduled job's connections, as the keeper role. */
  keeper: MikroORM<PostgreSqlDriver>
  /** The owner's connections, for setting up and inspecting a test's data. */
  owner: MikroORM<PostgreSqlDriver>
  em: () => EntityManager
  clock: ManualClock
  /** The terms the app was built with; the database's retention function holds the same. */
  plan: Plan
  config: Config
  databaseUrl: string
  roles: RoleUrls
}

function serverUrl (): string {
  const url = process.env.DATABASE_URL
  if (!url) throw new Error('DATABASE_URL is not set: run the tests with `npm test`, which provides a database')
  return url
}

/** A freshly migrated database of this test file's own, on the tests' server or the one given, dropped when the test ends. */
export async function testDatabase (t: Test, server = serverUrl()): Promise<string> {
  const name = `t_${process.pid}_${Math.random().toString(36).slice(2, 10)}`
  const url = await ensureDatabase(server, name)
  t.teardown(() => dropDatabase(server, name))
  await migrate(url)
  await trustTestClock(url)
  return url
}

/** Tests move the app's clock across months, so retention here measures the plan's days by that clock. */
async function trustTestClock (url: string): Promise<void> {
  const owner = new pg.Client({ connectionString: url })
  await owner.connect()
  try {
    await owner.query('update retention_settings set trust_caller_clock = true')
  } finally {
    await owner.end()
  }
}

/** The app's and the keeper's logins on a test database; the test run let them log in (test/run.ts). */
export function testRoles (databaseUrl: string): RoleUrls {
  return roleUrls(databaseUrl, rolePasswords(process.env.DATA_DIR ?? '.data'))
}

export interface BuildOptions {
  /** May add hooks that must see every route. */
  beforeReady?: (app: FastifyInstance) => void
  /** The product's terms, DEFAULT_PLAN unless given: the app and the database both get them, as at start-up. */
  plan?: Plan
  /** Another PostgreSQL server than the tests' own, whose roles may log in already. */
  server?: string
}

/** Builds the app against its own database with a clock the test controls. */
export async function build (t: Test, env: Record<string, string> = {}, { server, ...options }: BuildOptions = {}): Promise<TestContext> {
  return buildOn(t, await testDatabase(t, server), env, options)
}

/** Builds the app against a database that is already migrated, as start-up does. */
export async function buildOn (t: Test, databaseUrl: string, env: Record<string, string> = {}, { beforeReady, plan = DEFAULT_PLAN }: Omit<BuildOptions, 'server'> = {}): Promise<TestContext> {
  await writePlanTerms(databaseUrl, plan)
  const roles = testRoles(databaseUrl)
  const orm = await openOrm(roles.app, 5)
  const keeper = await openUnscopedOrm(roles.keeper, 3)
  const owner = await openUnscopedOrm(databaseUrl, 3)
  const clock = new ManualClock(new Date())
  // Practice ids start again in every test database, so each test keeps its heads' copies apart.
  const headsDir = mkdtempSync(join(tmpdir(), 'practice-audit-heads-'))
  t.teardown(() => rmSync(headsDir, { recursive: true, force: true }))
  // Tests sign in from one address far faster than people do; the per-address limit is tested on its own.
  const config = loadConfig({
    NODE_ENV: 'test', LOG_LEVEL: 'silent', DATABASE_URL: databaseUrl, JOBS_SCHEDULE: 'off', SEAL_SCHEDULE: 'off', DELIVERY_SCHEDULE: 'off', SIGN_IN_ATTEMPTS_PER_MINUTE: '100000', HEADS_DIR: headsDir, ...env
  })
  const app = buildApp({ config, orm, keeperOrm: keeper, clock, plan })
  beforeReady?.(app)
  await app.ready()
  t.teardown(async () => {
    await app.close()
    await orm.close(true)
    await keeper.close(true)
    await owner.close(true)
  })
  return { app, orm, keeper, owner, em: () => owner.em.fork() as EntityManager, clock, plan, config, databaseUrl, roles }
}
