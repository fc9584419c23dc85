import t from 'tap'
import pg from 'pg'
import { testDatabase } from '../helpers/app.js'

const url = await testDatabase(t)
const client = new pg.Client({ connectionString: url })
await client.connect()
t.teardown(() => client.end())
// Ask whether an index can serve each query at all, whatever the table's size today.
await client.query('set enable_seqscan = off; set enable_sort = off')

async function plan (sql: string): Promise<string> {
  const result = await client.query(`explain ${sql}`)
  return result.rows.map((row: Record<string, string>) => row['QUERY PLAN']).join('\n')
}

const history = 'select * from audit_records where practice_group_id = 1'

t.test('when a practice reads its newest history first, then one index serves it without a sort', async t => {
  const text = await plan(`${history} order by occurred_at desc, id desc limit 50`)
  t.match(text, 'audit_group_time_idx')
  t.notMatch(text, /\bSort\b/)
})

t.test("when one user's or one record's history is read, then their own index serves it", async t => {
  t.match(await plan(`${history} and user_id = 7 order by occurred_at desc, id desc limit 50`), 'audit_group_user_time_idx')
  t.match(await plan(`${history} and record_type = 'patient' and record_id = '42' order by occurred_at desc, id desc limit 50`), /audit_group_record(_id)?_time_idx/)
})

t.test('when the history is sorted by a short column, then an index serves the order without sorting the group', async t => {
  for (const column of ['user_name', 'action', 'page', 'record_id', 'ip']) {
    for (const direction of ['asc', 'desc']) {
      const text = await plan(`${history} order by ${column} ${direction}, occurred_at desc, id desc limit 50`)
      t.match(text, `audit_group_${column}_time_idx`, `${column} ${direction}`)
    }
  }
})
