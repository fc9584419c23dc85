import t from 'tap'
import pg from 'pg'
import { testDatabase } from '../helpers/app.js'
import { interpret } from '../../src/domain/history/history-criteria.js'
import { readParams } from '../../src/domain/history/history-params.js'
import { everInHistoryQuery, pageQuery, perDayQuery } from '../../src/domain/audit-records/reads.js'
import { pickedCountQuery, pickedPageQuery, sampleQuery, TRIGRAM_INDEXES, TRIGRAMS_ONLY, WALK_BUDGET, walkedCountQuery, boundedPageQuery } from '../../src/domain/audit-records/text-search.js'
import { newestPerPersonQuery, perPersonCountQuery } from '../../src/domain/audit-records/person-reads.js'
import { reportCriteria } from '../../src/domain/access-report/access-report.js'
import type { SqlQuery } from '../../src/domain/audit-records/visible.js'
import type { HistoryScope } from '../../src/domain/history/access.js'
import { APP_ROLE, KEEPER_ROLE } from '../../src/db/app-role.js'
import { BACKLOG_COUNT_LIMIT, SEAL_BACKLOG_SQL } from '../../src/domain/audit-records/chain-reads.js'

const url = await testDatabase(t)
const client = new pg.Client({ connectionString: url })
await client.connect()
t.teardown(() => client.end())
// Ask whether an index can serve each query at all, whatever the table's size today,
// as the app asks it: its own role, with row-level security scoped to practice 1.
await client.query(`set enable_seqscan = off; set enable_sort = off; set role ${APP_ROLE}; set app.practice_id = '1'`)

async function plan (sql: string): Promise<string> {
  const result = await client.query(`explain ${sql}`)
  return result.rows.map((row: Record<string, string>) => row['QUERY PLAN']).join('\n')
}

const history = 'select * from audit_records where practice_group_id = 1'
const literal = (value: unknown): string => value instanceof Date ? `'${value.toISOString()}'` : typeof value === 'string' ? `'${value}'` : String(value)
/** The app's statement with its parameters written in, as EXPLAIN needs them. */
const inlined = ({ sql, params }: SqlQuery): string => { let n = 0; return sql.replace(/\?/g, () => literal(params[n++])) }

t.test('when a practice reads its newest history first, then one index serves it without a sort', async t => {
  const text = await plan(`${history} order by occurred_at desc, id desc limit 50`)
  t.match(text, 'audit_group_time_idx')
  t.notMatch(text, /\bSort\b/)
})

t.test('when the append-only history is indexed, then every B-tree index of it fills its pages, leaving no room for updates that never come', async t => {
  const { rows } = await client.query<{ index: string, options: string[] | null }>(`
    select i.relname as index, i.reloptions as options
      from pg_index x join pg_class i on i.oid = x.indexrelid join pg_am a on a.oid = i.relam
     where x.indrelid = 'audit_records'::regclass and a.amname = 'btree' order by 1`)
  t.ok(rows.length >= 13, `${rows.length} B-tree indexes`)
  for (const { index, options } of rows) t.ok(options?.includes('fillfactor=100'), `${index}: ${options?.join(', ') ?? 'default fillfactor'}`)
})

t.test('when records arrive faster than vacuum runs, then each trigram index keeps its pending list short, so a text search does not read megabytes of it', async t => {
  const { rows } = await client.query<{ index: string, options: string[] | null }>(`
    select i.relname as index, i.reloptions as options
      from pg_index x join pg_class i on i.oid = x.indexrelid join pg_am a on a.oid = i.relam
     where x.indrelid = 'audit_records'::regclass and a.amname = 'gin' order by 1`)
  t.same(rows.map(r => r.index), TRIGRAM_INDEXES, 'the trigram indexes are the ones text search looks for in its plans')
  for (const { index, options } of rows) t.ok(options?.includes('gin_pending_list_limit=512'), `${index}: ${options?.join(', ') ?? 'the default 4 MB'}`)
})

t.test("when one user's or one record's history is read, then their own index serves it", async t => {
  t.match(await plan(`${history} and user_id = 7 order by occurred_at desc, id desc limit 50`), 'audit_group_user_time_idx')
  const scope: HistoryScope = { practiceGroupId: 1, onlyUserId: null, window: { since: new Date('2026-01-01T00:00:00Z'), subscribed: true, summary: [] } }
  const { criteria } = interpret(readParams({}), { users: [], pages: [] }, new Date(), 'Australia/Sydney')
  t.match(await plan(inlined(pageQuery(scope, { recordType: 'patient', recordId: '42' }, criteria, 1))), 'audit_group_record_id_time_idx')
  t.match(await plan(inlined(everInHistoryQuery(1, { recordType: 'patient', recordId: '42' }))), 'audit_group_record_id_time_idx')
})

t.test("when the history is sorted by any column but the date, either way, then an index serves the app's own query without sorting the group", async t => {
  const scope: HistoryScope = { practiceGroupId: 1, onlyUserId: null, window: { since: new Date('2026-01-01T00:00:00Z'), subscribed: true, summary: [] } }
  const index: Record<string, string> = { user: 'user_name', action: 'action', page: 'page', id: 'record_id', ip: 'ip', description: 'description', url: 'url' }
  for (const [column, name] of Object.entries(index)) {
    for (const dir of ['asc', 'desc'] as const) {
      const { criteria } = interpret({ ...readParams({}), sort: column, dir }, { users: [], pages: [] }, new Date(), 'Australia/Sydney')
      const text = await plan(inlined(pageQuery(scope, null, criteria, 1)))
      t.match(text, `audit_group_${name}_time_idx`, `${column} ${dir}: the one index of the column, read ${dir === 'asc' ? 'forwards' : 'backwards'}`)
      if (dir === 'desc') t.match(text, 'Index Scan Backward', `${column} desc`)
      t.notMatch(text, /Sort/, `${column} ${dir}: no sort of the group, not even of ties`)
    }
  }
})

t.test('when the history is filtered by an exact ID, then the record-id index serves it', async t => {
  const scope: HistoryScope = { practiceGroupId: 1, onlyUserId: null, window: { since: new Date('2026-01-01T00:00:00Z'), subscribed: true, summary: [] } }
  const { criteria } = interpret({ ...readParams({}), id: '123' }, { users: [], pages: [] }, new Date(), 'Australia/Sydney')
  t.match(await plan(inlined(pageQuery(scope, null, criteria, 1))), 'audit_group_record_id_time_idx')
})

t.test('when a text filter holds a common text, then its sample, its count and its pages walk a bounded stretch of the index of their order, testing each row, and never sort the group', async t => {
  const scope: HistoryScope = { practiceGroupId: 1, onlyUserId: null, window: { since: new Date('2026-01-01T00:00:00Z'), subscribed: true, summary: [] }, withheldPatients: [5] }
  for (const [text, sort, index] of [['description=patient', '', 'audit_group_time_idx'], ['url=tab%3Dnotes', 'sort=user&dir=desc', 'audit_group_user_name_time_idx'],
    ['description=patient&url=notes', 'sort=description&dir=asc', 'audit_group_description_time_idx']]) {
    const { criteria } = interpret(readParams(Object.fromEntries(new URLSearchParams(`${text}&${sort}`))), { users: [], pages: [] }, new Date(), 'Australia/Sydney')
    for (const page of [1, 'last'] as const) {
      const paging = await plan(inlined(boundedPageQuery(scope, null, criteria, page, WALK_BUDGET, 'walk')))
      t.match(paging, index, `${text} ${sort}, page ${page}`)
      t.notMatch(paging, /Sort|trgm|Seq Scan/, `${text} ${sort}, page ${page}: no sort, no trigram index`)
    }
    for (const query of [walkedCountQuery(scope, null, criteria, 1000, WALK_BUDGET), sampleQuery(scope, null, criteria)]) {
      const counting = await plan(inlined(query))
      t.match(counting, 'audit_group_time_idx', `${text}: ${query.sql.slice(0, 30)}… newest first`)
      t.notMatch(counting, /Sort|trgm|Seq Scan/, `${text}: without a sort or a trigram index`)
    }
  }
})

t.test("when the activity chart counts a practice's records per day, then it reads an index of the group's records by time, never the whole table", async t => {
  const scope: HistoryScope = { practiceGroupId: 1, onlyUserId: null, window: { since: new Date('2026-01-01T00:00:00Z'), subscribed: true, summary: [] } }
  const { criteria } = interpret(readParams({}), { users: [], pages: [] }, new Date(), 'Australia/Sydney')
  const text = await plan(inlined(perDayQuery(scope, null, criteria, 'Australia/Sydney', new Date('2026-09-01T00:00:00Z'))))
  t.match(text, /Index (Only )?Scan using audit_group_\w*time_idx/, 'an index led by the group and its time')
  t.notMatch(text, /Seq Scan/)
})

t.test("when a patient's access report is read, then the patient index serves its counts and its list, for everyone's rows or one user's", async t => {
  const criteria = reportCriteria(42, { since: new Date('2026-11-01T00:00:00Z'), until: null })
  // A patient's records are few, so the report sorts them itself; what matters is which rows are read.
  await client.query('set enable_sort = on')
  t.teardown(() => client.query('set enable_sort = off'))
  for (const onlyUserId of [null, 7]) {
    const scope: HistoryScope = { practiceGroupId: 1, onlyUserId, window: { since: new Date('2026-01-01T00:00:00Z'), subscribed: true, summary: [] } }
    for (const query of [perPersonCountQuery(scope, criteria), newestPerPersonQuery(scope, criteria, 200)]) {
      const text = await plan(inlined(query))
      t.match(text, 'audit_group_patient_time_idx', `${query.sql.slice(0, 40)}… (${onlyUserId ? 'one user' : 'everyone'})`)
      t.notMatch(text, /Seq Scan/)
    }
  }
})

t.test('when the metrics read what waits for the sealer, then both look-ups walk the transaction index from the sealing position, never the table', async t => {
  await client.query(`reset role; set role ${KEEPER_ROLE}`)
  t.teardown(() => client.query(`reset role; set role ${APP_ROLE}`))
  const text = await plan(SEAL_BACKLOG_SQL.replace('?', String(BACKLOG_COUNT_LIMIT)))
  t.equal(text.match(/Index (Only )?Scan (using|on) audit_tx_idx/g)?.length, 2, 'the count and the oldest record each use audit_tx_idx')
  t.match(text, /Index Cond: \(tx_id >= s\.sealed_below\)/, 'starting at the sealing position')
  t.notMatch(text, /Seq Scan on audit_records|\bSort\b/)
})

t.test('when a text is rare, then the trigram index finds its few rows, and only those are sorted', async t => {
  // The planner weighs a GIN index by the entries it counts when the table is vacuumed, so a practice gets a history first.
  const owner = new pg.Client({ connectionString: url })
  await owner.connect()
  t.teardown(() => owner.end())
  const { rows: [group] } = await owner.query<{ id: number }>("insert into practice_groups (name, time_zone, credit_balance) values ('Busy', 'Australia/Sydney', 0) returning id")
  await owner.query(`insert into audit_records (practice_group_id, occurred_at, user_name, action, page, description, url, ip)
                     select $1, now() - n * interval '1 second', 'Someone', 'view', 'Patient profile', 'Viewed patient chart ' || n, '/patients/' || n, '203.0.113.7'
                       from generate_series(1, 20000) n`, [group!.id])
  await owner.query('vacuum analyze audit_records')
  const scope: HistoryScope = { practiceGroupId: group!.id, onlyUserId: null, window: { since: new Date('2026-01-01T00:00:00Z'), subscribed: true, summary: [] }, withheldPatients: [5] }
  for (const [text, index] of [['description=zanzibar', 'audit_group_description_trgm_idx'], ['url=qqxqqxqq', 'audit_group_url_trgm_idx'],
    ['description=zanzibar&sort=user&dir=desc', 'audit_group_description_trgm_idx']]) {
    const { criteria } = interpret(readParams(Object.fromEntries(new URLSearchParams(text))), { users: [], pages: [] }, new Date(), 'Australia/Sydney')
    for (const query of [pickedPageQuery(scope, null, criteria, 1), pickedCountQuery(scope, null, criteria, 1000)]) {
      await owner.query('begin')
      await owner.query(TRIGRAMS_ONLY)
      const plan = (await owner.query(`explain ${inlined(query)}`)).rows.map((row: Record<string, string>) => row['QUERY PLAN']).join('\n')
      await owner.query('commit')
      t.match(plan, index, `${text}: ${query.sql.slice(0, 40)}`)
      t.notMatch(plan, /Seq Scan|(?<!Bitmap )Index Scan|Index Only Scan/, 'never a walk along an index or the table')
    }
  }
})
