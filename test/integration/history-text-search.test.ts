import t from 'tap'
import pg from 'pg'
import { build } from '../helpers/app.js'
import { makeClinic } from '../helpers/clinic.js'
import { interpret } from '../../src/domain/history/history-criteria.js'
import { readParams } from '../../src/domain/history/history-params.js'
import { searchHistory, TEXT_COUNT_LIMIT } from '../../src/domain/history/history.service.js'
import { countVisible, pageQuery, textFilterShare, walkFinds } from '../../src/domain/audit-records/reads.js'
import { toPg } from '../../src/db/sql.js'
import type { HistoryCriteria } from '../../src/domain/audit-records/criteria.js'
import type { HistoryScope } from '../../src/domain/history/access.js'
import type { HistorySubject } from '../../src/domain/audit-records/visible.js'

const ctx = await build(t)
ctx.clock.set('2026-11-25T03:00:00Z')
const clinic = await makeClinic(ctx.em())
const em = ctx.owner.em.fork()

// 1,800 records, three to a second (so ties matter): every third mentions a common word, every 150th a rare one; every
// fifth concerns one of four patients, two of whom are restricted.
await em.getConnection().execute(
  `insert into audit_records (practice_group_id, occurred_at, user_id, user_name, action, page, record_type, record_id, description, url, ip, patient_id)
   select ?, ?::timestamptz - (n / 3) * interval '1 second', ?, 'Owner ' || (n % 4), case when n % 7 = 0 then 'update' else 'view' end, 'Patient profile',
          'patient', (n % 4 + 1)::text,
          case when n % 150 = 0 then 'Viewed Zanzibar notes ' when n % 3 = 0 then 'Viewed patient chart ' else 'Opened invoice ' end || n,
          '/patients/' || (n % 4 + 1) || case when n % 5 = 0 then '?tab=notes' else '' end, '203.0.113.7', case when n % 5 = 0 then n % 4 + 1 end
     from generate_series(1, 1800) n`,
  [clinic.group.id, new Date('2026-11-25T02:00:00Z'), clinic.owner.id])

const scope: HistoryScope = { practiceGroupId: clinic.group.id, onlyUserId: null, window: { since: new Date('2026-01-01T00:00:00Z'), subscribed: true, summary: [] } }
const restricted: HistoryScope = { ...scope, withheldPatients: [1, 3] }
const criteriaOf = (query: string): HistoryCriteria =>
  interpret(readParams(Object.fromEntries(new URLSearchParams(query))), { users: [], pages: [] }, ctx.clock.now(), 'Australia/Sydney').criteria
const RARE = 0
const COMMON = 1

t.test('when a text is common enough for a walk to find its matches soon, then the count walks; when rare, the trigram indexes find them', async t => {
  t.equal(walkFinds(null, TEXT_COUNT_LIMIT + 1), false, 'no text filter: the count is as it always was')
  t.equal(walkFinds(0.5, TEXT_COUNT_LIMIT + 1), true)
  t.equal(walkFinds(0.001, TEXT_COUNT_LIMIT + 1), false)
  t.equal(walkFinds(0.01, 50), true, 'fewer matches are found sooner')
})

t.test('when PostgreSQL is asked how much a text keeps, then it answers from its statistics, and nothing without a text filter', async t => {
  await em.getConnection().execute('analyze audit_records')
  t.equal(await textFilterShare(em, scope, null, criteriaOf('')), null)
  const share = await textFilterShare(em, scope, null, criteriaOf('description=chart'))
  t.ok(share !== null && share > 0 && share <= 1, `a share between 0 and 1 (${share})`)
})

const cases: [string, HistoryScope, HistorySubject | null, string][] = [
  ['a common word', scope, null, 'description=chart'],
  ['a rare word', scope, null, 'description=zanzibar'],
  ['a word no row holds', scope, null, 'description=qqxqqxqq'],
  ['a URL part', scope, null, 'url=tab%3Dnotes&size=25'],
  ['both texts, sorted by user', scope, null, 'description=viewed&url=notes&sort=user&dir=asc'],
  ['a common word sorted by description, descending', scope, null, 'description=view&sort=description&dir=desc'],
  ['a common word, with restricted patients', restricted, null, 'description=chart'],
  ['a URL part, with restricted patients', restricted, null, 'url=notes'],
  ["a rare word in one patient's record history", scope, { recordType: 'patient', recordId: '3' }, 'description=zanzibar'],
  ["a common word in a restricted patient's record history", restricted, { recordType: 'patient', recordId: '1' }, 'description=chart']
]

t.test('when a page is read along its order\'s index or picked out by the trigram index, then it holds the same rows in the same order', async t => {
  const client = new pg.Client({ connectionString: ctx.databaseUrl })
  await client.connect()
  t.teardown(() => client.end())
  const ids = async (settings: string, sql: string, params: unknown[]): Promise<string[]> => {
    await client.query(`reset all; ${settings}`)
    return (await client.query<{ id: string }>(toPg(sql), params)).rows.map(row => String(row.id))
  }
  for (const [name, caseScope, subject, query] of cases) {
    const criteria = criteriaOf(query)
    for (const page of [1, 2, 7, 'last'] as const) {
      const { sql, params } = pageQuery(caseScope, subject, criteria, page)
      const walked = await ids('set enable_bitmapscan = off; set enable_seqscan = off', sql, params)
      const picked = await ids('set enable_indexscan = off; set enable_seqscan = off', sql, params)
      t.same(walked, picked, `${name}, page ${page}`)
    }
  }
})

t.test('when a count walks newest first or asks the trigram indexes, then both count the same, exactly up to the limit and one past it beyond', async t => {
  for (const [name, caseScope, subject, query] of cases) {
    const criteria = criteriaOf(query)
    const exact = await countVisible(em, caseScope, subject, criteria, 1_000_000, RARE)
    for (const limit of [10, TEXT_COUNT_LIMIT]) {
      t.equal(await countVisible(em, caseScope, subject, criteria, limit, COMMON), Math.min(exact, limit + 1), `${name}, walked, up to ${limit}`)
      t.equal(await countVisible(em, caseScope, subject, criteria, limit, RARE), Math.min(exact, limit + 1), `${name}, by trigrams, up to ${limit}`)
    }
  }
})

t.test('when a text matches more rows than its counting limit, then the total says "more than" that limit and pages still open by number', async t => {
  const result = await searchHistory(em, scope, null, criteriaOf('description=opened&page=3'))
  t.equal(result.total, TEXT_COUNT_LIMIT)
  t.equal(result.totalIsExact, false)
  t.equal(result.page, 3)
  t.equal(result.rows.length, 50)
  const few = await searchHistory(em, scope, null, criteriaOf('description=zanzibar'))
  t.same([few.total, few.totalIsExact], [12, true], 'a rare word is counted exactly')
})
