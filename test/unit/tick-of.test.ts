import t from 'tap'
import { Cron } from 'croner'
import { tickOf } from '../../src/plugins/app/scheduled-passes.js'

const at = (time: string): Date => new Date(`2026-12-14T${time}Z`)

t.test('a run is named by the occurrence its timer fired for, however late it fired', async t => {
  const everyTwoSeconds = new Cron('*/2 * * * * *', { paused: true, timezone: 'UTC' })
  t.teardown(() => everyTwoSeconds.stop())
  t.same(tickOf(everyTwoSeconds, at('10:00:10.000')), at('10:00:10.000'), 'fired on the dot')
  t.same(tickOf(everyTwoSeconds, at('10:00:10.004')), at('10:00:10.000'), 'a few milliseconds late')
  t.same(tickOf(everyTwoSeconds, at('10:00:11.999')), at('10:00:10.000'), 'almost at the next occurrence')
  t.same(tickOf(everyTwoSeconds, at('10:00:12.000')), at('10:00:12.000'), 'the next occurrence')
})

t.test('a schedule without seconds names whole minutes', async t => {
  const everyQuarterHour = new Cron('*/15 * * * *', { paused: true, timezone: 'UTC' })
  t.teardown(() => everyQuarterHour.stop())
  t.same(tickOf(everyQuarterHour, at('10:15:00.000')), at('10:15:00.000'))
  t.same(tickOf(everyQuarterHour, at('10:15:03.250')), at('10:15:00.000'))
})
