import type { MikroORM } from '@mikro-orm/core'
import type { EntityManager, PostgreSqlDriver } from '@mikro-orm/postgresql'
import { migrationsList } from '../../db/migrations-list.js'
import { probeAppend } from '../../domain/audit-records/writes.js'
import { reasonOf } from '../../start-up-error.js'

export const PARTS = ['database', 'migrations', 'recorder', 'listener'] as const
export type Part = typeof PARTS[number]
/** `unknown`: not checked, because a part it needs is failing. */
export type State = 'ok' | 'failing' | 'unknown'

export interface Readiness {
  checks: Record<Part, State>
  /** Why each failing part fails, for the log: the response names the parts only. */
  reasons: Partial<Record<Part, string>>
}

/** Longer than a healthy check ever takes, shorter than the probe timeouts orchestrators use. */
const ANSWER_WITHIN_MS = 2000

async function answerInTime<T> (work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ANSWER_WITHIN_MS / 1000} s`)), ANSWER_WITHIN_MS)
  })
  try {
    return await Promise.race([work, late])
  } finally {
    clearTimeout(timer)
  }
}

/** PostgreSQL refused the statement on a working connection, as opposed to not answering at all. */
function refusedByDatabase (err: unknown): boolean {
  return (err as { severity?: unknown } | null)?.severity === 'ERROR'
}

/**
 * Whether this instance can serve requests, asked on the app's own pool:
 * the database answers, every migration this build knows is applied, a
 * record could be appended now (see `probeAppend`), and the listener that
 * keeps signed-in sessions fresh is up.
 */
export async function checkReadiness (orm: MikroORM<PostgreSqlDriver>, listening: boolean): Promise<Readiness> {
  const checks: Record<Part, State> = { database: 'unknown', migrations: 'unknown', recorder: 'unknown', listener: listening ? 'ok' : 'failing' }
  const reasons: Partial<Record<Part, string>> = listening ? {} : { listener: 'the session change notices are not being received' }
  const em = orm.em.fork() as EntityManager
  try {
    const applied = new Set((await answerInTime(em.getConnection().execute<Array<{ name: string }>>('select name from mikro_orm_migrations'))).map(row => row.name))
    checks.database = 'ok'
    const missing = migrationsList.map(migration => migration.name).filter(name => !applied.has(name))
    checks.migrations = missing.length ? 'failing' : 'ok'
    if (missing.length) reasons.migrations = `not applied: ${missing.join(', ')}`
  } catch (err) {
    const part = refusedByDatabase(err) ? 'migrations' : 'database'
    if (part === 'migrations') checks.database = 'ok'
    checks[part] = 'failing'
    reasons[part] = reasonOf(err)
  }
  if (checks.database !== 'ok') return { checks, reasons }
  try {
    await answerInTime(probeAppend(em))
    checks.recorder = 'ok'
  } catch (err) {
    checks.recorder = 'failing'
    reasons.recorder = reasonOf(err)
  }
  return { checks, reasons }
}
