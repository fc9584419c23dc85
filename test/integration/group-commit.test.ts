import t from 'tap'
import pg from 'pg'
import { testDatabase } from '../helpers/app.js'
import { GroupCommit } from '../../src/domain/recorder/group-commit.js'

const url = await testDatabase(t)
const setup = new pg.Client({ connectionString: url })
await setup.connect()
t.teardown(() => setup.end())
await setup.query('create table grouped_rows (n integer not null check (n >= 0), tx xid8 not null default pg_current_xact_id())')

/** A real insert, counted: each call is one statement and one commit. */
function tableWriter (client: pg.Client): { insert: (rows: number[]) => Promise<void>, statements: number[][] } {
  const statements: number[][] = []
  return {
    statements,
    insert: async rows => {
      statements.push(rows)
      await client.query(`insert into grouped_rows (n) values ${rows.map((_, i) => `($${i + 1})`).join(', ')}`, rows)
    }
  }
}

const stored = async (from: number, to: number): Promise<number[]> =>
  (await setup.query<{ n: number }>('select n from grouped_rows where n between $1 and $2 order by n', [from, to])).rows.map(r => r.n)

t.test('when rows arrive while one is being written, then they are committed together in the next statement', async t => {
  const writer = tableWriter(setup)
  const group = new GroupCommit(writer.insert, 100)
  await Promise.all([100, 101, 102, 103, 104, 105].map(n => group.add(n)))
  t.same(writer.statements, [[100], [101, 102, 103, 104, 105]], 'the first went at once, the others waited for it and went as one')
  t.same(await stored(100, 199), [100, 101, 102, 103, 104, 105], 'every row is in the table')
  const { rows } = await setup.query<{ tx: string }>('select distinct tx from grouped_rows where n between 101 and 105')
  t.equal(rows.length, 1, 'the five waiting rows share one transaction')
})

t.test('when more rows wait than one statement may carry, then they go in several statements', async t => {
  const writer = tableWriter(setup)
  const group = new GroupCommit(writer.insert, 3)
  await Promise.all([200, 201, 202, 203, 204, 205, 206].map(n => group.add(n)))
  t.same(writer.statements.map(s => s.length), [1, 3, 3])
  t.same(await stored(200, 299), [200, 201, 202, 203, 204, 205, 206])
})

t.test('when PostgreSQL rejects one row of a batch, then only that row fails and its neighbours are kept', async t => {
  const writer = tableWriter(setup)
  const group = new GroupCommit(writer.insert, 100)
  const outcomes = await Promise.allSettled([300, 301, -1, 302].map(n => group.add(n)))
  t.same(outcomes.map(o => o.status), ['fulfilled', 'fulfilled', 'rejected', 'fulfilled'])
  t.match((outcomes[2] as PromiseRejectedResult).reason, { code: '23514' }, 'the bad row gets the check violation')
  t.same(await stored(300, 399), [300, 301, 302], 'the good rows are stored, once each')
})

t.test('when the connection is lost, then every row of the batch fails and none is tried again', async t => {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  const writer = tableWriter(client)
  const group = new GroupCommit(writer.insert, 100)
  await group.add(400)
  await client.end()
  const outcomes = await Promise.allSettled([401, 402, 403].map(n => group.add(n)))
  t.same(outcomes.map(o => o.status), ['rejected', 'rejected', 'rejected'])
  t.same(writer.statements, [[400], [401], [402, 403]], 'no row was retried on its own after a failure that may have followed a commit')
  t.same(await stored(400, 499), [400])
})

t.test('when rows arrive after a quiet spell, then the first goes at once without waiting for company', async t => {
  const writer = tableWriter(setup)
  const group = new GroupCommit(writer.insert, 100)
  await group.add(500)
  await group.add(501)
  t.same(writer.statements, [[500], [501]])
})

t.test('when an observer is given, then it hears of every batch written: its rows, its time, and whether it was kept', async t => {
  const writer = tableWriter(setup)
  const heard: { rows: number, seconds: number, committed: boolean }[] = []
  const group = new GroupCommit(writer.insert, 100, (rows, seconds, committed) => heard.push({ rows, seconds, committed }))
  await Promise.allSettled([600, 601, -1, 602].map(n => group.add(n)))
  t.same(heard.map(h => [h.rows, h.committed]), [[1, true], [3, false], [1, true], [1, false], [1, true]],
    'the first row alone, the rejected batch, then each of its rows alone')
  t.ok(heard.every(h => h.seconds > 0 && h.seconds < 10), 'each with the time its statement took')
})

t.test('when a stop asks the recorder to settle while rows are on their way, then it resolves only once they are all committed', async t => {
  const writer = tableWriter(setup)
  const group = new GroupCommit(writer.insert, 2)
  const rows = [700, 701, 702, 703, 704]
  const added = Promise.all(rows.map(n => group.add(n)))
  await group.settled()
  t.same(await stored(700, 799), rows, 'every row added before the stop is in the table')
  t.same(writer.statements.map(s => s.length), [1, 2, 2], 'in the batches it would have written anyway')
  await added
  await group.settled()
  t.pass('with nothing on its way it resolves at once')
})
