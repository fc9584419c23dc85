import { MikroORM, type Options } from '@mikro-orm/core'
import { PostgreSqlDriver } from '@mikro-orm/postgresql'
import { Migrator } from '@mikro-orm/migrations'
import { scopeEveryStatement } from './practice-scope.js'
import { entities } from './entities.js'
import { migrationsList } from './migrations-list.js'
import { followClusterMove } from './cluster-move.js'
import type { MoveNote } from '../domain/chain/moves.js'

type RawConnection = { query: (...args: any[]) => any }

/**
 * Every connection plans queries without parallel workers, which on two
 * cores made history queries slower and noisier. The app's connections
 * also follow the practice scope of whoever sends a statement.
 */
function prepareConnection (scoped: boolean) {
  return (connection: RawConnection, done: (err: Error | null, connection: RawConnection) => void): void => {
    connection.query("set time zone 'UTC'; set max_parallel_workers_per_gather = 0", (err: Error | null) => {
      if (!err && scoped) scopeEveryStatement(connection)
      done(err, connection)
    })
  }
}

export function ormOptions (databaseUrl: string, { scoped = false, poolMax = 10 } = {}): Options<PostgreSqlDriver> {
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
    pool: { min: 0, max: poolMax, afterCreate: prepareConnection(scoped) },
    allowGlobalContext: false,
    forceUtcTimezone: true,
    debug: false,
    discovery: { warnWhenNoEntities: false }
  }
}

/** Which migration failed and PostgreSQL's reason, without the statement's text that the migrator puts between them. */
function failedMigration (err: unknown): unknown {
  const name = /^Migration (\S+) \(up\) failed/.exec((err as Error | null)?.message ?? '')?.[1]
  const reason = ((err as Error).cause as Error | undefined)?.message?.split(' - ').at(-1)?.trim()
  return name && reason ? new Error(`${name}: ${reason}`, { cause: err }) : err
}

/**
 * Applies pending migrations with the owner's rights (the app's roles may
 * not change the schema), all of them or those up to and including `upTo`.
 * With all of them applied, it also follows a move of the database to
 * another cluster (a restored backup) before anything else runs.
 */
export async function migrate (ownerUrl: string, upTo?: string): Promise<MoveNote | null> {
  const orm = await MikroORM.init(ormOptions(ownerUrl, { poolMax: 1 }))
  try {
    await orm.getMigrator().up(upTo ? { to: upTo } : undefined).catch((err: unknown) => { throw failedMigration(err) })
    return upTo ? null : await followClusterMove(orm.em.fork())
  } finally {
    await orm.close(true)
  }
}

/** The app's connections, as the app role: each statement sees the practice of the request that sends it. */
export async function openOrm (appUrl: string, poolMax = 10): Promise<MikroORM<PostgreSqlDriver>> {
  return MikroORM.init(ormOptions(appUrl, { scoped: true, poolMax }))
}

/** The keeper's connections (sealer, scheduled job), or the owner's for demo data and tools. */
export async function openUnscopedOrm (url: string, poolMax = 2): Promise<MikroORM<PostgreSqlDriver>> {
  return MikroORM.init(ormOptions(url, { poolMax }))
}

export interface PoolUsage {
  used: number
  free: number
  /** Callers waiting for a connection. */
  pending: number
  max: number
}

interface TarnPool {
  numUsed: () => number
  numFree: () => number
  numPendingAcquires: () => number
  max: number
}

/** How busy the pool behind an ORM is, as knex's pool (tarn) counts it. */
export function poolUsage (orm: MikroORM<PostgreSqlDriver>): PoolUsage {
  const pool = (orm.em.getConnection().getKnex().client as { pool: TarnPool }).pool
  return { used: pool.numUsed(), free: pool.numFree(), pending: pool.numPendingAcquires(), max: pool.max }
}
