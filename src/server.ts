import { accessSync, constants, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import type { MikroORM } from '@mikro-orm/core'
import type { PostgreSqlDriver } from '@mikro-orm/postgresql'
import { loadConfig, type Config } from './config.js'
import { buildApp } from './app.js'
import { migrate, openOrm, openUnscopedOrm } from './db/orm.js'
import { writePlanTerms } from './db/plan-terms.js'
import { loginRoles } from './db/roles.js'
import { assertAnswers, ensureDatabase } from './db/databases.js'
import { startEmbeddedPostgres, type EmbeddedDatabase } from './db/embedded-postgres.js'
import { recordsSettled } from './domain/recorder/recorder.js'
import type { MoveNote } from './domain/chain/moves.js'
import { seedDemoIfEmpty, DEMO_SIGN_INS, DEMO_PASSWORD } from './seed/demo.js'
import { DEFAULT_PLAN } from './domain/plan/plan.js'
import { StartUpError, reasonOf, startUpStep as step } from './start-up-error.js'
import { counted, plural } from './plural.js'

interface Running {
  app: FastifyInstance
  orm: MikroORM<PostgreSqlDriver>
  keeperOrm: MikroORM<PostgreSqlDriver>
  embedded?: EmbeddedDatabase
}

/** A database URL fit for a message: without its password. */
function withoutPassword (url: string): string {
  const parsed = new URL(url)
  parsed.password = ''
  return parsed.toString()
}

function makeWritable (dir: string): void {
  mkdirSync(dir, { recursive: true })
  accessSync(dir, constants.W_OK | constants.X_OK)
}

/** Demo data includes past activity, which only the owner may date. */
async function seedAsOwner (ownerUrl: string): Promise<boolean> {
  const owner = await openUnscopedOrm(ownerUrl)
  try {
    return await seedDemoIfEmpty(owner)
  } finally {
    await owner.close()
  }
}

function banner (config: Config, address: string, embedded: EmbeddedDatabase | undefined, seeded: boolean, moved: MoveNote | null): string[] {
  const lines = [`\nPractice Audit is running at ${address.replace('127.0.0.1', 'localhost')}`]
  if (embedded) {
    const { placement } = embedded
    const data = placement.linkedFrom ? `${placement.dataDir} (linked from ${placement.linkedFrom})` : join(config.DATA_DIR, 'postgres')
    lines.push(`Database: embedded PostgreSQL on port ${config.EMBEDDED_PG_PORT}, data in ${data}${seeded ? ' (demo data loaded)' : ''}`)
    if (placement.copiedBinaries) lines.push(`PostgreSQL programs: copied to ${placement.binDir}, since the postgres OS user cannot reach node_modules`)
  } else {
    lines.push('Database: DATABASE_URL')
  }
  if (moved) {
    lines.push(`The database was restored into another PostgreSQL cluster (${moved.toCluster}, before ${moved.fromCluster ?? 'unknown'}): what was restored is sealed, sealing goes on, and every chain records the move.`)
  }
  if (!embedded) return lines
  return [...lines, `Demo sign-ins (password ${DEMO_PASSWORD}):`, ...DEMO_SIGN_INS.map(line => `  ${line}`)]
}

/** Every step that can fail says so in one line: which step, why, and what to set. */
async function start (config: Config): Promise<Running> {
  await step(`DATA_DIR ${config.DATA_DIR} cannot be used`, 'Set DATA_DIR to a directory this user may write.', () => makeWritable(config.DATA_DIR))
  let embedded: EmbeddedDatabase | undefined
  let databaseUrl = config.DATABASE_URL
  if (!databaseUrl) {
    const cluster = await step('the embedded PostgreSQL could not start', 'Set DATABASE_URL to use a PostgreSQL server instead.', () =>
      startEmbeddedPostgres(join(config.DATA_DIR, 'postgres'), config.EMBEDDED_PG_PORT, { placeDir: config.EMBEDDED_PG_DIR }))
    embedded = cluster
    databaseUrl = await step('the embedded PostgreSQL\'s database could not be made', '', () => ensureDatabase(cluster.url, 'practice_audit'))
  }
  const ownerUrl = databaseUrl
  await step(`the database at ${withoutPassword(ownerUrl)} does not answer`, 'Check DATABASE_URL and that PostgreSQL runs there.', () => assertAnswers(ownerUrl))
  const moved = await step('migrating the database failed, and none of this start\'s migrations were kept', 'Fix the cause, then start again.', () => migrate(ownerUrl))
  await step('the plan\'s terms could not be written to the database', 'DATABASE_URL must name the schema\'s owner.', () => writePlanTerms(ownerUrl, DEFAULT_PLAN))
  const seeded = embedded ? await step('the demo data could not be loaded', '', () => seedAsOwner(ownerUrl)) : false
  const roles = await step('the app\'s database roles could not be set up', 'Give the DATABASE_URL user CREATEROLE, or set APP_DATABASE_URL and KEEPER_DATABASE_URL to roles made for the app.', () =>
    loginRoles(ownerUrl, config.DATA_DIR, { app: config.APP_DATABASE_URL, keeper: config.KEEPER_DATABASE_URL }))
  for (const url of [roles.app, roles.keeper]) {
    await step(`the app cannot sign in to the database as ${withoutPassword(url)}`, 'Check APP_DATABASE_URL and KEEPER_DATABASE_URL.', () => assertAnswers(url))
  }
  const orm = await openOrm(roles.app)
  const keeperOrm = await openUnscopedOrm(roles.keeper, 3)
  const app = buildApp({ config, orm, keeperOrm, plan: DEFAULT_PLAN })
  await step('the app could not be prepared', '', () => app.ready())
  const address = await step(`the app cannot listen on ${config.HOST} port ${config.PORT}`, 'Stop whatever holds that port, or set PORT (and HOST) to ones this process may use.', () =>
    app.listen({ port: config.PORT, host: config.HOST }))
  // One write, so whoever waits for the address reads the whole banner with it.
  console.log(banner(config, address, embedded, seeded, moved).join('\n'))
  return { app, orm, keeperOrm, embedded }
}

/**
 * The clean stop an orchestrator asks for with SIGTERM: drain the requests
 * in flight (turning new ones away), stop the scheduled job and the sealer
 * after their pass, let the recorder finish writing, close the pools. All of
 * it within SHUTDOWN_GRACE_SECONDS; what still runs then is cut.
 */
async function stop ({ app, orm, keeperOrm, embedded }: Running, config: Config, signal: string): Promise<void> {
  app.log.info(`${signal} received: draining for up to ${config.SHUTDOWN_GRACE_SECONDS} s`)
  const cut = await app.shutdown.drain(config.SHUTDOWN_GRACE_SECONDS * 1000)
  if (cut > 0) {
    app.log.warn(`${counted(cut, 'request', 'requests')} still running at the end of the grace period: ${plural(cut, 'its connection is', 'their connections are')} closed`)
    app.server.closeAllConnections()
  }
  await app.close()
  await app.shutdown.beforeDeadline(Promise.all([recordsSettled(orm.em), recordsSettled(keeperOrm.em)]))
  await orm.close()
  await keeperOrm.close()
  await embedded?.stop()
  app.log.info('stopped')
}

/** Time after the grace period for closing the pools and the embedded PostgreSQL. */
const LAST_WORDS_SECONDS = 10

function exitWith (code: number, line?: string): never {
  if (line) console.error(line)
  process.exit(code)
}

async function main (): Promise<void> {
  let running: Running | undefined
  let stopping = false
  let config: Config | undefined
  const onSignal = (signal: string): void => {
    if (!running || !config) exitWith(1, `Practice Audit did not start: ${signal} arrived while it was starting.`)
    // A Ctrl-C reaches npm and the app at once, and npm passes it on: one stop is enough, and the grace period bounds it.
    if (stopping) return
    stopping = true
    // Closing the pools waits for their connections: should one hang past the grace period, the process still ends.
    setTimeout(() => exitWith(1, `Practice Audit did not stop within ${config!.SHUTDOWN_GRACE_SECONDS + LAST_WORDS_SECONDS} s; it stopped at once.`),
      (config.SHUTDOWN_GRACE_SECONDS + LAST_WORDS_SECONDS) * 1000).unref()
    stop(running, config, signal).then(() => exitWith(0), (err: unknown) => exitWith(1, `Practice Audit did not stop cleanly: ${reasonOf(err)}`))
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  config = loadConfig()
  running = await start(config)
}

main().catch((err: unknown) => {
  // The cause's stack helps whoever debugs the app; an operator needs the line.
  if (/^(debug|trace)$/.test(process.env.LOG_LEVEL ?? '')) console.error(err instanceof StartUpError ? err.cause ?? err : err)
  const line = `Practice Audit did not start: ${err instanceof StartUpError ? err.message : reasonOf(err)}`
  exitWith(1, line.endsWith('.') ? line : `${line}.`)
})
