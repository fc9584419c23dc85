import t from 'tap'
import { build } from '../helpers/app.js'
import { makeClinic } from '../helpers/clinic.js'
import { alertsOf, happened } from '../helpers/alerts.js'
import { fromLocalInput } from '../../src/domain/time/zoned.js'

t.test('when the app runs its sealer, then the alert pass follows each seal pass and raises what it finds', async t => {
  const ctx = await build(t, { SEAL_SCHEDULE: '* * * * * *' })
  const clinic = await makeClinic(ctx.em())
  await happened(ctx.em(), clinic.reception, fromLocalInput('2026-11-24T22:10', 'Australia/Sydney')!)
  const giveUpAt = Date.now() + 60_000
  let rules: string[] = []
  while (rules.length === 0 && Date.now() < giveUpAt) {
    await new Promise(resolve => setTimeout(resolve, 250))
    rules = (await alertsOf(ctx.em(), clinic.group.id)).map(a => a.rule)
  }
  t.same(rules, ['after-hours'])
})
