import t from 'tap'
import Fastify from 'fastify'
import shutdown from '../../src/plugins/app/shutdown.js'
import { schedulePasses } from '../../src/plugins/app/scheduled-passes.js'

const sleep = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))

/** An app with one pass every second that takes `passMs`; resolves `started` when the first pass begins. */
async function appWithPass (passMs: number) {
  const app = Fastify()
  await app.register(shutdown)
  const events: string[] = []
  let begin: () => void = () => {}
  const started = new Promise<void>(resolve => { begin = resolve })
  schedulePasses(app, '* * * * * *', async stopping => {
    events.push('pass begins')
    begin()
    await sleep(passMs)
    events.push(stopping.aborted ? 'pass ends, asked to stop' : 'pass ends')
  })
  await app.ready()
  return { app, events, started }
}

t.test('when the app closes during a pass, then closing waits for the pass to end and no pass begins after', async t => {
  const { app, events, started } = await appWithPass(1500)
  await started
  await app.close()
  t.same(events, ['pass begins', 'pass ends, asked to stop'])
  await sleep(1500)
  t.same(events, ['pass begins', 'pass ends, asked to stop'], 'the schedule is stopped')
})

t.test('when the grace period runs out before the pass ends, then closing waits no longer', async t => {
  const { app, events, started } = await appWithPass(4000)
  await started
  const stopBegan = Date.now()
  await app.shutdown.drain(500)
  await app.close()
  t.ok(Date.now() - stopBegan < 2000, `closed after ${Date.now() - stopBegan} ms`)
  t.same(events, ['pass begins'])
})
