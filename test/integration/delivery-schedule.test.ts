import t from 'tap'
import { build } from '../helpers/app.js'
import { makeClinic } from '../helpers/clinic.js'
import { signedInAgent } from '../helpers/agent.js'
import { Receiver } from '../helpers/receiver.js'
import { addedEndpoint, addRecords, sealedOrder } from '../helpers/integrations.js'

t.test('when the app runs its sealer and its delivery on their schedules, then sealed records reach the receiver with nobody asking', async t => {
  const ctx = await build(t, { SEAL_SCHEDULE: '* * * * * *', DELIVERY_SCHEDULE: '* * * * * *' })
  const receiver = await Receiver.start()
  t.teardown(() => receiver.kill())
  const clinic = await makeClinic(ctx.em())
  const owner = await signedInAgent(ctx.app, clinic.owner.email)
  await addedEndpoint(owner, 'Scheduled', receiver.url('/scheduled'))
  await addRecords(ctx.em(), clinic.owner, 25, ctx.clock.now())
  const giveUpAt = Date.now() + 60_000
  const arrived = (): string[] => receiver.accepted.flatMap(arrival => (JSON.parse(arrival.body) as { records: Array<{ id: string }> }).records.map(r => r.id))
  let sealed: string[] = []
  while (Date.now() < giveUpAt) {
    await new Promise(resolve => setTimeout(resolve, 250))
    sealed = await sealedOrder(ctx.em(), clinic.group.id)
    if (sealed.length >= 25 && sealed.every(id => arrived().includes(id))) break
  }
  t.ok(sealed.length >= 25, `${sealed.length} records sealed`)
  t.same(arrived().slice(0, sealed.length), sealed, 'and delivered in order')
})
