import { MikroORM, type Options } from '@mikro-orm/core'
import { PostgreSqlDriver } from '@mikro-orm/postgresql'
import { Migrator } from '@mikro-orm/migrations'
import { APP_ROLE } from './app-role.js'
import { entities } from './entities.js'
import { migrationsList } from './migrations-list.js'

type RawConnection = { query: (sql: string, callback: (err: Error | null) => void) => void }

/**
 * Every connection acts as the restricted application role and plans
 * queries without parallel workers, which on two cores made history
 * queries slower and noisier.
 */
function prepareConnection (actAsAppRole: boolean) {
  const statements = ["set time zone 'UTC'", 'set max_parallel_workers_per_gather = 0']
  if (actAsAppRole) statements.push(`set role ${APP_ROLE}`)
  return (connection: RawConnection, done: (err: Error | null, connection: RawConnection) => void): void => {
    connection.query(statements.join('; '), (err) => done(err, connection))
  }
}

export function ormOptions (databaseUrl: string, { actAsAppRole = true, poolMax = 10 } = {}): Options<PostgreSqlDriver> {
  return {
    driver: PostgreSqlDriver,
    clientUrl: databaseUrl,
    entities,
    extensions: [Migrator],
    migrations: {
      migrationsList,
      path: 'migrations',
      pathTs: 'migrations',
      transactional: true,
      allOrNothing: true,
      snapshot: false,
      silent: true
    },
    pool: { min: 0, max: poolMax, afterCreate: prepareConnection(actAsAppRole) },
    allowGlobalContext: false,
    forceUtcTimezone: true,
    debug: false,
    discovery: { warnWhenNoEntities: false }
  }
}

/** Applies pending migrations with the owner's rights (the app role may not change the schema). */
export async function migrate (databaseUrl: string): Promise<void> {
  const orm = await MikroORM.init(ormOptions(databaseUrl, { actAsAppRole: false, poolMax: 1 }))
  try {
    await orm.getMigrator().up()
  } finally {
    await orm.close(true)
  }
}

export async function openOrm (databaseUrl: string, poolMax = 10): Promise<MikroORM<PostgreSqlDriver>> {
  return MikroORM.init(ormOptions(databaseUrl, { poolMax }))
}
