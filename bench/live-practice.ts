import pg from 'pg'
import { seededRandom } from '../src/seed/everyday-use.js'
import { LARGEST_WORDS, recordMaker, type GeneratedGroup, type GeneratedRecord } from './generate.js'
import type { CaseResult } from './history-cases.js'

const BATCH_EVERY_MS = 100

const INSERT = `insert into audit_records (practice_group_id, occurred_at, user_id, user_name, action, page, record_type, record_id, description, url, ip, patient_id)
  select * from unnest($1::int[], $2::timestamptz[], $3::int[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::inet[], $12::int[])`

function insertParams (records: GeneratedRecord[]): unknown[] {
  const column = <T>(of: (r: GeneratedRecord) => T): T[] => records.map(of)
  return [column(r => r.practiceGroupId), column(r => r.occurredAt), column(r => r.userId), column(r => r.userName), column(r => r.action), column(r => r.page),
    column(r => r.recordType), column(r => r.recordId), column(r => r.description), column(r => r.url), column(r => r.ip), column(r => r.patientId)]
}

export interface Arrivals { stop: () => Promise<{ inserted: number, seconds: number }> }

/**
 * Records arriving in one practice at a steady rate, as its users' work
 * would write them: on a connection of their own, a small batch every
 * 100 ms, each record stamped with the moment it arrives. A batch that
 * falls behind is made up by the next, so the rate holds on average.
 */
export async function startArrivals (url: string, group: GeneratedGroup, perSecond: number): Promise<Arrivals> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  const makeRecord = recordMaker(group, seededRandom(20261216), LARGEST_WORDS)
  const started = Date.now()
  let inserted = 0
  let arriving = true
  const loop = (async () => {
    while (arriving) {
      const due = Math.floor((Date.now() - started) * perSecond / 1000) - inserted
      if (due > 0) {
        const records = Array.from({ length: due }, () => makeRecord(() => new Date(), null))
        await client.query(INSERT, insertParams(records))
        inserted += due
      }
      await new Promise(resolve => setTimeout(resolve, BATCH_EVERY_MS))
    }
  })()
  return {
    stop: async () => {
      arriving = false
      await loop
      await client.end()
      return { inserted, seconds: (Date.now() - started) / 1000 }
    }
  }
}

/**
 * Turns autovacuum off for audit_records until the returned function puts
 * back what the table had, so that nothing vacuums the records that arrive
 * in between and their pages stay as a live practice's newest are.
 */
export async function holdAutovacuum (db: pg.Client): Promise<() => Promise<void>> {
  const { rows: [{ setting }] } = await db.query<{ setting: string | null }>(
    "select (select option_value from pg_options_to_table(reloptions) where option_name = 'autovacuum_enabled') as setting from pg_class where oid = 'audit_records'::regclass")
  await db.query('alter table audit_records set (autovacuum_enabled = off)')
  return async () => {
    await db.query(setting === null ? 'alter table audit_records reset (autovacuum_enabled)' : `alter table audit_records set (autovacuum_enabled = ${setting === 'true' ? 'on' : 'off'})`)
  }
}

export interface LivePhase { results: CaseResult[], inserted: number, seconds: number, perSecond: number, analyzedAfterSeconds: number }

/**
 * The history cases of the largest practice while records arrive in it at
 * `perSecond` and nothing vacuums them: autovacuum is held off, ANALYZE
 * runs once after `analyzeAfterSeconds` of arrivals, then every case is
 * measured as arrivals go on. Afterwards autovacuum is put back and the
 * table vacuumed, so later phases find it as before.
 */
export async function measureWhileArriving (db: pg.Client, url: string, largest: GeneratedGroup, measure: () => Promise<CaseResult[]>,
  perSecond: number, analyzeAfterSeconds: number): Promise<LivePhase> {
  const restoreAutovacuum = await holdAutovacuum(db)
  const arrivals = await startArrivals(url, largest, perSecond)
  let results: CaseResult[]
  let arrived: { inserted: number, seconds: number }
  try {
    await new Promise(resolve => setTimeout(resolve, analyzeAfterSeconds * 1000))
    await db.query('analyze audit_records')
    results = await measure()
  } finally {
    arrived = await arrivals.stop()
    await restoreAutovacuum()
  }
  await db.query('vacuum analyze audit_records')
  return { results, ...arrived, perSecond, analyzedAfterSeconds: analyzeAfterSeconds }
}
