import t from 'tap'
import { counted, plural } from '../../src/plural.js'

t.test('when a count is 0, 1, 2 or 5, then only 1 takes the singular', async t => {
  t.equal(counted(0, 'active user', 'active users'), '0 active users')
  t.equal(counted(1, 'active user', 'active users'), '1 active user')
  t.equal(counted(2, 'active user', 'active users'), '2 active users')
  t.equal(counted(5, 'active user', 'active users'), '5 active users')
  t.same([0, 1, 2, 5].map(n => plural(n, 'entry', 'entries')), ['entries', 'entry', 'entries', 'entries'], 'irregular forms are given, not made')
})

t.test('when a count runs into thousands, then it is written as the app writes numbers', async t => {
  t.equal(counted(1234, 'record', 'records'), '1,234 records')
  t.equal(counted(1_000_000, 'credit', 'credits'), '1,000,000 credits')
})
