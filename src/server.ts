import { join } from 'node:path'
import { loadConfig, ConfigError } from './config.js'
import { buildApp } from './app.js'
import { migrate, openOrm, openUnscopedOrm } from './db/orm.js'
import { writePlanTerms } from './db/plan-terms.js'
import { loginRoles } from './db/roles.js'
import { ensureDatabase } from './db/databases.js'
import { startEmbeddedPostgres, PortBusyError, type EmbeddedDatabase } from './db/embedded-postgres.js'
import { seedDemoIfEmpty, DEMO_SIGN_INS, DEMO_PASSWORD } from './seed/demo.js'
import { DEFAULT_PLAN } from './domain/plan/plan.js'

/** Demo data includes past activity, which only the owner may date. */
async function seedAsOwner (ownerUrl: string): Promise<boolean> {
  const owner = await openUnscopedOrm(ownerUrl)
  try {
    return await seedDemoIfEmpty(owner)
  } finally {
    await owner.close()
  }
}

async function main (): Promise<void> {
  const config = loadConfig()
  let embedded: EmbeddedDatabase | undefined
  let databaseUrl = config.DATABASE_URL
  if (!databaseUrl) {
    embedded = await startEmbeddedPostgres(join(config.DATA_DIR, 'postgres'), config.EMBEDDED_PG_PORT)
    databaseUrl = await ensureDatabase(embedded.url, 'practice_audit')
  }
  const moved = await migrate(databaseUrl)
  await writePlanTerms(databaseUrl, DEFAULT_PLAN)
  const seeded = embedded ? await seedAsOwner(databaseUrl) : false
  const roles = await loginRoles(databaseUrl, config.DATA_DIR, { app: config.APP_DATABASE_URL, keeper: config.KEEPER_DATABASE_URL })
  const orm = await openOrm(roles.app)
  const keeperOrm = await openUnscopedOrm(roles.keeper, 3)

  const app = buildApp({ config, orm, keeperOrm, plan: DEFAULT_PLAN })
  let closing = false
  const close = async (signal: string): Promise<void> => {
    if (closing) return
    closing = true
    app.log.info(`${signal} received, shutting down`)
    await app.close()
    await orm.close()
    await keeperOrm.close()
    await embedded?.stop()
    process.exit(0)
  }
  process.on('SIGINT', () => { void close('SIGINT') })
  process.on('SIGTERM', () => { void close('SIGTERM') })

  const address = await app.listen({ port: config.PORT, host: config.HOST })
  const shown = address.replace('127.0.0.1', 'localhost')
  console.log(`\nPractice Audit is running at ${shown}`)
  console.log(embedded
    ? `Database: embedded PostgreSQL on port ${config.EMBEDDED_PG_PORT}, data in ${join(config.DATA_DIR, 'postgres')}${seeded ? ' (demo data loaded)' : ''}`
    : 'Database: DATABASE_URL')
  if (moved) {
    console.log(`The database was restored into another PostgreSQL cluster (${moved.toCluster}, before ${moved.fromCluster ?? 'unknown'}): what was restored is sealed, sealing goes on, and every chain records the move.`)
  }
  if (embedded) {
    console.log(`Demo sign-ins (password ${DEMO_PASSWORD}):`)
    for (const line of DEMO_SIGN_INS) console.log(`  ${line}`)
  }
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError || err instanceof PortBusyError) {
    console.error(err.message)
  } else {
    console.error(err)
  }
  process.exit(1)
})
