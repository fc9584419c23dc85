import t from 'tap'
import { historyOpening, type OpenedHistories } from '../../src/domain/history/opening.js'

const MINUTE = 60_000
const at = (minutes: number): Date => new Date(Date.UTC(2026, 10, 25, 3) + minutes * MINUTE)
const HISTORY = '/patients/7/history'

t.test('when a history is opened, then the opening is recorded and remembered', async t => {
  const decision = historyOpening({}, HISTORY, 'opening', at(0))
  t.same(decision, { record: true, remember: { [HISTORY]: at(0).getTime() } })
})

t.test('when an open history is refined within 30 minutes, then nothing is recorded', async t => {
  const opened = { [HISTORY]: at(0).getTime() }
  t.same(historyOpening(opened, HISTORY, 'refinement', at(29)), { record: false })
})

t.test('when an open history is refined 30 minutes or more after its opening, then the refinement is recorded like an opening', async t => {
  const opened = { [HISTORY]: at(0).getTime() }
  t.same(historyOpening(opened, HISTORY, 'refinement', at(30)), { record: true, remember: { [HISTORY]: at(30).getTime() } })
})

t.test('when a history this session never opened is refined, then it is recorded like an opening', async t => {
  const opened = { '/settings/users/history': at(0).getTime() }
  const decision = historyOpening(opened, HISTORY, 'refinement', at(1))
  t.equal(decision.record, true)
})

t.test('when a history is opened again, then it is recorded again, however recently it was opened', async t => {
  const opened = { [HISTORY]: at(0).getTime() }
  t.same(historyOpening(opened, HISTORY, 'opening', at(1)), { record: true, remember: { [HISTORY]: at(1).getTime() } })
})

t.test('when more than 20 histories have been opened, then the session remembers the 20 most recent', async t => {
  const opened: OpenedHistories = Object.fromEntries(Array.from({ length: 25 }, (_, i) => [`/invoices/${i}/history`, at(i).getTime()]))
  const decision = historyOpening(opened, HISTORY, 'opening', at(100))
  if (!decision.record) return t.fail('an opening is recorded')
  const remembered = Object.keys(decision.remember)
  t.equal(remembered.length, 20)
  t.ok(remembered.includes(HISTORY), 'the new opening')
  t.ok(remembered.includes('/invoices/24/history') && remembered.includes('/invoices/6/history'), 'and the 19 most recent others')
  t.notOk(remembered.includes('/invoices/5/history'), 'the oldest are forgotten')
})
