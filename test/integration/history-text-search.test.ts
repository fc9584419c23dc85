import t from 'tap'
import pg from 'pg'
import { build } from '../helpers/app.js'
import { makeClinic } from '../helpers/clinic.js'
import { interpret } from '../../src/domain/history/history-criteria.js'
import { readParams } from '../../src/domain/history/history-params.js'
import { searchHistory, TEXT_COUNT_LIMIT } from '../../src/domain/history/history.service.js'
import { countVisible, pageQuery } from '../../src/domain/audit-records/reads.js'
import {
  countMatching, pickedPageQuery, readerOf, readMatchingPage, sampleShare, TRIGRAMS_ONLY, type TextSearchReader, WALK_BUDGET, walkBound, walkedCountQuery, boundedPageQuery
} from '../../src/domain/audit-records/text-search.js'
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
const reader = readerOf(em)

t.test('when a text is common enough for a walk to find its matches soon, then it walks a bounded stretch; when rare, the trigram indexes find them', async t => {
  t.equal(walkBound(0, 50), null, 'no match among the newest rows: the trigram indexes')
  t.equal(walkBound(0.001, TEXT_COUNT_LIMIT + 1), null, 'a thousand matches of a rare text lie too far to walk')
  t.equal(walkBound(0.01, 50), WALK_BUDGET, 'a page of a text in one row of a hundred is walked')
  t.equal(walkBound(0.002, 50), null, 'in one row of five hundred, the trigram indexes read the page')
  t.equal(walkBound(0.5, TEXT_COUNT_LIMIT + 1), WALK_BUDGET)
  t.equal(walkBound(0.1, 200 * 50), 200_000, "a common word's deep page walks twice as far as the share predicts")
})

t.test("when the share of a text is measured, then it is the share among the viewer's own newest rows, and 0 for a viewer with none", async t => {
  const common = await sampleShare(reader, scope, null, criteriaOf('description=chart'))
  t.ok(common > 0.3 && common < 0.37, `about one in three (${common})`)
  t.equal(await sampleShare(reader, scope, null, criteriaOf('description=qqxqqxqq')), 0)
  const nobody = { ...scope, onlyUserId: clinic.owner.id + 1_000_000 }
  t.equal(await sampleShare(reader, nobody, null, criteriaOf('description=chart')), 0)
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

t.test("when a page is walked or picked out by the trigram indexes, then it holds the same rows in the same order as the plain query's", async t => {
  const client = new pg.Client({ connectionString: ctx.databaseUrl })
  await client.connect()
  t.teardown(() => client.end())
  const ids = async (sql: string, params: unknown[], trigramsOnly = false): Promise<string[]> => {
    await client.query('begin')
    if (trigramsOnly) await client.query(TRIGRAMS_ONLY)
    const { rows } = await client.query<{ id: string }>(toPg(sql), params)
    await client.query('commit')
    return rows.map(row => String(row.id))
  }
  for (const [name, caseScope, subject, query] of cases) {
    const criteria = criteriaOf(query)
    for (const page of [1, 2, 7, 'last'] as const) {
      const plain = pageQuery(caseScope, subject, criteria, page)
      const expected = await ids(plain.sql, plain.params)
      const walked = boundedPageQuery(caseScope, subject, criteria, page, WALK_BUDGET, 'walk')
      t.same(await ids(walked.sql, walked.params), expected, `${name}, page ${page}, walked`)
      const picked = pickedPageQuery(caseScope, subject, criteria, page)
      t.same(await ids(picked.sql, picked.params, true), expected, `${name}, page ${page}, by trigrams`)
      const firstMatches = boundedPageQuery(caseScope, subject, criteria, page, 1_000_000, 'pick')
      t.same(await ids(firstMatches.sql, firstMatches.params, true), expected, `${name}, page ${page}, from the first matches the trigram indexes give`)
    }
  }
})

t.test('when a count walks newest first or asks the trigram indexes, then both count the same, exactly up to the limit and one past it beyond', async t => {
  for (const [name, caseScope, subject, query] of cases) {
    const criteria = criteriaOf(query)
    const exact = await countVisible(em, caseScope, subject, criteria, 1_000_000)
    for (const limit of [10, TEXT_COUNT_LIMIT]) {
      const [walked] = await em.getConnection().execute<[{ total: string }]>(walkedCountQuery(caseScope, subject, criteria, limit, WALK_BUDGET).sql,
        walkedCountQuery(caseScope, subject, criteria, limit, WALK_BUDGET).params)
      t.equal(Number(walked.total), Math.min(exact, limit + 1), `${name}, walked, up to ${limit}`)
      t.equal(await countMatching(reader, caseScope, subject, criteria, limit, 1), Math.min(exact, limit + 1), `${name}, walk first, up to ${limit}`)
      t.equal(await countMatching(reader, caseScope, subject, criteria, limit, 0), Math.min(exact, limit + 1), `${name}, by trigrams, up to ${limit}`)
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

t.test('when a word appears only in records older than a walk reaches, or not among the newest, then the page is still exact and in order', async t => {
  const old = await makeClinic(ctx.em())
  // The newest 1,000 records say neither word; the 2,000 before them say "Emu"; from the WALK_BUDGET + 1st on, 30 say "Quokka".
  await em.getConnection().execute(
    `insert into audit_records (practice_group_id, occurred_at, user_id, user_name, action, page, description, url, ip)
     select ?, ?::timestamptz - n * interval '1 second', ?, 'Owner', 'view', 'Patients',
            case when n > ? then 'Viewed Quokka list ' when n > 1000 and n <= 3000 then 'Viewed Emu list ' else 'Viewed list ' end || n, '/patients', '203.0.113.7'
       from generate_series(1, ?) n`,
    [old.group.id, new Date('2026-11-25T02:00:00Z'), old.owner.id, WALK_BUDGET, WALK_BUDGET + 30])
  const oldScope: HistoryScope = { ...scope, practiceGroupId: old.group.id }
  const quokka = criteriaOf('description=quokka&size=25')
  const newestQuokkas = Array.from({ length: 25 }, (_, i) => `Viewed Quokka list ${WALK_BUDGET + 1 + i}`)
  const likeCommon = 1
  const counted = countMatching(reader, oldScope, null, quokka, TEXT_COUNT_LIMIT, likeCommon)
  t.equal(await counted, 30, 'counted in full')
  const first = await readMatchingPage(reader, oldScope, null, quokka, 1, likeCommon, TEXT_COUNT_LIMIT, counted)
  t.same(first.map(r => r.description), newestQuokkas, 'the newest 25 of them, newest first')
  const last = await readMatchingPage(reader, oldScope, null, quokka, 'last', likeCommon, TEXT_COUNT_LIMIT, counted)
  t.equal(last.at(-1)!.description, `Viewed Quokka list ${WALK_BUDGET + 30}`, 'the last page ends with the oldest')
  const result = await searchHistory(em, oldScope, null, criteriaOf('description=quokka&size=25&page=2'))
  t.same([result.total, result.rows.length, result.rows[0]!.description], [30, 5, `Viewed Quokka list ${WALK_BUDGET + 26}`])

  const moreThanTen = Promise.resolve(11)
  const sorted = await readMatchingPage(reader, oldScope, null, quokka, 1, 0, 10, moreThanTen)
  t.same(sorted.map(r => r.description), newestQuokkas, 'more matches than the trigram read stops at: every match is read and sorted')

  const emu = criteriaOf('description=emu&size=25')
  t.equal(await sampleShare(reader, oldScope, null, emu), 0, 'a word common here once but not among the newest records looks rare')
  const emus = countMatching(reader, oldScope, null, emu, TEXT_COUNT_LIMIT, 0)
  t.equal(await emus, TEXT_COUNT_LIMIT + 1, 'the trigram count finds more than its limit')
  const sent: string[] = []
  const watched: TextSearchReader = async <T>(query: { sql: string, params: unknown[] }, byTrigrams: boolean): Promise<T[]> => {
    sent.push(query.sql.startsWith('explain') ? 'plan' : /\) bounded\s+where true/.test(query.sql) ? 'first matches' : query.sql.includes(') bounded') ? 'walk' : 'every match')
    return reader<T>(query, byTrigrams)
  }
  const walked = await readMatchingPage(watched, oldScope, null, emu, 1, 0, TEXT_COUNT_LIMIT, emus)
  t.same(walked.map(r => r.description), Array.from({ length: 25 }, (_, i) => `Viewed Emu list ${1001 + i}`), 'so the page is walked, newest first')
  t.same(sent, ['plan', 'first matches', 'walk'], 'the first matches the trigram index gave, then the walk: never every match read and sorted')
  const emuResult = await searchHistory(em, oldScope, null, criteriaOf('description=emu&size=25&page=3'))
  t.same([emuResult.total, emuResult.totalIsExact, emuResult.rows[0]!.description], [TEXT_COUNT_LIMIT, false, 'Viewed Emu list 1051'])
})

t.test("when other practices use a word often and this one never, then the search measures that here and asks the trigram indexes, whatever the statistics say; when the statistics agree, without switching anything off", async t => {
  const busy = await makeClinic(ctx.em())
  const quiet = await makeClinic(ctx.em())
  await em.getConnection().execute(
    `insert into audit_records (practice_group_id, occurred_at, user_id, user_name, action, page, description, url, ip)
     select case when n % 10 = 0 then ?::int else ?::int end, ?::timestamptz - n * interval '1 second', null, 'Someone', 'view', 'Patients',
            case when n % 10 = 0 then 'Viewed podiatry notes ' else 'Viewed wombat notes ' end || n, '/patients', '203.0.113.7'
       from generate_series(1, 40000) n`,
    [quiet.group.id, busy.group.id, new Date('2026-11-25T02:00:00Z')])
  await em.getConnection().execute('vacuum analyze audit_records')
  const quietScope: HistoryScope = { ...scope, practiceGroupId: quiet.group.id }
  const criteria = criteriaOf('description=wombat')
  const [{ 'QUERY PLAN': [estimate] }] = await em.getConnection().execute<[{ 'QUERY PLAN': [{ Plan: { 'Plan Rows': number } }] }]>(
    `explain (format json) select 1 from audit_records where practice_group_id = ${quiet.group.id} and description ilike '%wombat%'`)
  t.ok(estimate.Plan['Plan Rows'] > 1000, `the statistics expect thousands of matches here (${estimate.Plan['Plan Rows']})`)
  t.equal(await sampleShare(reader, quietScope, null, criteria), 0, 'the sample finds none')

  const client = new pg.Client({ connectionString: ctx.databaseUrl })
  await client.connect()
  t.teardown(() => client.end())
  for (const query of [pickedPageQuery(quietScope, null, criteria, 1), pickedPageQuery(quietScope, null, criteriaOf('description=wombat&sort=user&dir=asc'), 1)]) {
    await client.query('begin')
    await client.query(TRIGRAMS_ONLY)
    const { rows } = await client.query(`explain ${toPg(query.sql)}`, query.params)
    await client.query('commit')
    const plan = rows.map((row: Record<string, string>) => row['QUERY PLAN']).join('\n')
    t.match(plan, 'audit_group_description_trgm_idx', 'the page is picked out by the trigram index')
    t.notMatch(plan, /Seq Scan|(?<!Bitmap )Index Scan|Index Only Scan/, 'never a walk along an index or the table')
  }
  const result = await searchHistory(em, quietScope, null, criteria)
  t.same([result.total, result.totalIsExact, result.rows.length], [0, true, 0])

  const sent: string[] = []
  const watched: TextSearchReader = async <T>(query: { sql: string, params: unknown[] }, byTrigrams: boolean): Promise<T[]> => {
    const stated = query.sql.match(/ilike/g)?.length
    sent.push(query.sql.startsWith('explain') ? 'plan' : byTrigrams ? `switched off, text stated ${stated} times` : `as it is, text stated ${stated} times`)
    return reader<T>(query, byTrigrams)
  }
  const moreThanTen = Promise.resolve(11)
  t.same(await readMatchingPage(watched, quietScope, null, criteria, 1, 0, 10, moreThanTen), [])
  t.same(sent.slice(-2), ['plan', 'switched off, text stated 4 times'],
    'where the statistics would walk the practice for a word they call common, every match is read with the other paths switched off')
  sent.length = 0
  const absent = criteriaOf(`description=qq${quiet.group.id}xq`)
  const none = countMatching(watched, quietScope, null, absent, TEXT_COUNT_LIMIT, 0)
  t.equal(await none, 0)
  t.same(await readMatchingPage(watched, quietScope, null, absent, 1, 0, TEXT_COUNT_LIMIT, none), [])
  t.same(sent, ['plan', 'as it is, text stated 1 times', 'plan', 'as it is, text stated 1 times'],
    'a word the statistics also call rare: count and page go as they are, once stated, because PostgreSQL takes the trigram index for them anyway')
})
