import t, { type Test } from 'tap'
import { verify } from 'node:crypto'
import { build } from '../helpers/app.js'
import { makeClinic, type Clinic } from '../helpers/clinic.js'
import { signedInAgent } from '../helpers/agent.js'
import { createdRecord } from '../helpers/records.js'
import { Receiver, type Arrival } from '../helpers/receiver.js'
import { addRecords, addedEndpoint, sealAndSign, sealedOrder, validSignature } from '../helpers/integrations.js'
import { BACKOFF_CAP_MS, deliverDue, type DeliveryOptions } from '../../src/domain/integrations/delivery.js'
import { purgeExpired } from '../../src/domain/scheduled-job/purge-expired.js'
import { sealPracticeBefore } from '../../src/domain/chain/sealer.js'
import { WITHHELD } from '../../src/domain/audit-records/visible.js'

const HOUR = 3_600_000
const DAY = 24 * HOUR
const ctx = await build(t)

interface DeliveredRecord {
  id: string
  userName: string
  description: string
  changes: unknown
  seal: { seq: number, index: number }
  signedHead: { seq: number, payload: string, signature: string }
}
interface Batch { practice: number, endpoint: number, records: DeliveredRecord[] }

const batch = (arrival: Arrival): Batch => JSON.parse(arrival.body) as Batch
const deliver = async (options: DeliveryOptions = {}): Promise<void> => { await deliverDue(ctx.keeper.em.fork(), ctx.clock, { batchSize: 100, ...options }) }

interface Health { failures: number, last_error: string | null, last_error_at: Date | null, next_attempt_at: Date, last_success_at: Date | null }
async function health (endpointId: number): Promise<Health> {
  const [row] = await ctx.em().getConnection().execute<Array<Record<string, string | null>>>(
    'select failures, last_error, last_error_at, next_attempt_at, last_success_at from integration_endpoints where id = ?', [endpointId])
  const date = (value: string | null | undefined): Date | null => value == null ? null : new Date(value)
  return { failures: Number(row!.failures), last_error: row!.last_error ?? null, last_error_at: date(row!.last_error_at), next_attempt_at: date(row!.next_attempt_at)!, last_success_at: date(row!.last_success_at) }
}

async function receiverFor (t: Test): Promise<Receiver> {
  const receiver = await Receiver.start()
  t.teardown(() => receiver.kill())
  return receiver
}

/** The ids as they first arrived, each once: what a receiver that deduplicates by id keeps. */
function firstArrivals (arrivals: Arrival[]): string[] {
  const seen = new Set<string>()
  return arrivals.flatMap(arrival => batch(arrival).records.map(r => r.id)).filter(id => !seen.has(id) && seen.add(id))
}

async function practiceWithEndpoint (receiver: Receiver, path: string): Promise<{ clinic: Clinic, endpoint: { id: number, secret: string } }> {
  const clinic = await makeClinic(ctx.em())
  const owner = await signedInAgent(ctx.app, clinic.owner.email)
  return { clinic, endpoint: await addedEndpoint(owner, `Receiver ${path}`, receiver.url(path)) }
}

t.test('when the receiver dies mid-stream and is down for a day, then after it restarts every record arrives at least once, in order, signed, and nothing of another practice', async t => {
  const receiver = await receiverFor(t)
  const a = await practiceWithEndpoint(receiver, '/a')
  const b = await practiceWithEndpoint(receiver, '/b')
  await addRecords(ctx.em(), a.clinic.owner, 1000, ctx.clock.now())
  await addRecords(ctx.em(), b.clinic.owner, 30, ctx.clock.now())
  await sealAndSign(ctx, [a.clinic.group.id, b.clinic.group.id])

  // The fourth batch for A is kept, but the receiver dies before it answers: that batch must come again.
  let batchesForA = 0
  receiver.behaviour = arrival => arrival.path === '/a' && ++batchesForA === 4 ? 'keep-and-die' : 200
  await deliver()
  t.equal(batchesForA, 4, 'three batches were taken, the fourth was cut off')
  const failed = await health(a.endpoint.id)
  t.equal(failed.failures, 1)
  t.match(failed.last_error, /closed before the receiver answered|refused/)

  // More is recorded while the receiver is down; a day of retries all fail, waiting longer each time, never more than an hour.
  await addRecords(ctx.em(), a.clinic.owner, 250, ctx.clock.now())
  await sealAndSign(ctx, [a.clinic.group.id])
  for (let hour = 0; hour < 24; hour++) {
    ctx.clock.advance(HOUR)
    await deliver()
    const down = await health(a.endpoint.id)
    t.ok(down.next_attempt_at.getTime() - down.last_error_at!.getTime() <= BACKOFF_CAP_MS, 'the wait is capped')
  }
  const afterADay = await health(a.endpoint.id)
  t.ok(afterADay.failures >= 10, `${afterADay.failures} failures in a row`)
  t.match(afterADay.last_error, /refused the connection/)
  const owner = await signedInAgent(ctx.app, a.clinic.owner.email)
  const page = await owner.get('/settings/integrations')
  t.match(page.body, 'refused the connection', 'the page shows the last error')
  t.match(page.body, /data-lag-records="(\d{3,})" data-lag-seconds="(\d{5,})"/, 'and hundreds of records waiting for a day')

  await receiver.listen()
  ctx.clock.advance(BACKOFF_CAP_MS)
  await deliver()

  const arrivedA = receiver.accepted.filter(arrival => arrival.path === '/a')
  const arrivedB = receiver.accepted.filter(arrival => arrival.path === '/b')
  t.ok(arrivedA.every(arrival => validSignature(a.endpoint.secret, arrival.timestamp, arrival.signature, arrival.body)), 'every batch to A is signed with A\'s secret')
  t.ok(arrivedB.every(arrival => validSignature(b.endpoint.secret, arrival.timestamp, arrival.signature, arrival.body)), 'every batch to B with B\'s')
  t.notOk(arrivedA.some(arrival => validSignature(b.endpoint.secret, arrival.timestamp, arrival.signature, arrival.body)), 'and not with another endpoint\'s')
  t.same(firstArrivals(arrivedA), await sealedOrder(ctx.em(), a.clinic.group.id), 'every record of A arrived, in the order it was sealed')
  t.same(firstArrivals(arrivedB), await sealedOrder(ctx.em(), b.clinic.group.id), 'every record of B arrived')
  t.ok(arrivedA.flatMap(arrival => batch(arrival).records).length > (await sealedOrder(ctx.em(), a.clinic.group.id)).length, 'the cut-off batch came twice: at least once, not exactly once')
  t.ok(arrivedA.every(arrival => batch(arrival).practice === a.clinic.group.id && batch(arrival).endpoint === a.endpoint.id))
  const idsOfB = new Set(await sealedOrder(ctx.em(), b.clinic.group.id))
  t.notOk(arrivedA.some(arrival => batch(arrival).records.some(r => idsOfB.has(r.id))), 'A\'s endpoint never got B\'s records')

  for (const arrival of arrivedA) {
    const positions = batch(arrival).records.map(r => r.seal.seq * 1e6 + r.seal.index)
    t.same(positions, [...positions].sort((x, y) => x - y), 'each batch is in chain order')
  }
  t.match(batch(arrivedA[0]!).records[0], { id: /^\d+$/, userName: a.clinic.owner.name, seal: { seq: 1, index: 0 } })
  const publicKey = ctx.app.chainSigning.key.publicKey
  const records = arrivedA.flatMap(arrival => batch(arrival).records)
  t.ok(records.every(r => r.signedHead.seq >= r.seal.seq), 'each record\'s signed head covers its seal')
  t.ok(records.every(r => verify(null, Buffer.from(r.signedHead.payload), publicKey, Buffer.from(r.signedHead.signature, 'base64'))), 'and its signature checks with the practice\'s public key')
  t.ok(records.every(r => JSON.parse(r.signedHead.payload).practice === a.clinic.group.id && JSON.parse(r.signedHead.payload).seq === r.signedHead.seq), 'a head of A\'s own chain')

  const caughtUp = await health(a.endpoint.id)
  t.equal(caughtUp.failures, 0)
  t.ok(caughtUp.last_success_at)
  const signedInAgain = await signedInAgent(ctx.app, a.clinic.owner.email)
  t.match((await signedInAgain.get('/settings/integrations')).body, /data-lag-records="0" data-lag-seconds="0">Up to date/)
})

t.test('when a receiver takes 5 seconds to answer, then page views and other receivers are not held up', async t => {
  const slow = await receiverFor(t)
  const fast = await receiverFor(t)
  slow.delayMs = 5000
  const c = await practiceWithEndpoint(slow, '/slow')
  const d = await practiceWithEndpoint(fast, '/fast')
  await addRecords(ctx.em(), c.clinic.owner, 20, ctx.clock.now())
  await addRecords(ctx.em(), d.clinic.owner, 20, ctx.clock.now())
  await sealAndSign(ctx, [c.clinic.group.id, d.clinic.group.id])
  const owner = await signedInAgent(ctx.app, c.clinic.owner.email)

  const started = Date.now()
  const delivering = deliver()
  while (slow.requests === 0) await new Promise(resolve => setTimeout(resolve, 20))
  for (const url of ['/settings/integrations', '/patients', '/settings/users/history']) {
    const before = Date.now()
    const response = await owner.get(url)
    t.equal(response.statusCode, 200)
    t.ok(Date.now() - before < 1500, `${url} answered in ${Date.now() - before} ms while a batch was out`)
  }
  while (fast.accepted.length === 0 && Date.now() - started < 4000) await new Promise(resolve => setTimeout(resolve, 20))
  t.equal(fast.accepted.length, 1, 'the other practice\'s receiver got its batch meanwhile')
  t.equal(slow.accepted.length, 0, 'while the slow one was still answering')
  await delivering
  t.ok(Date.now() - started >= 5000)
  t.same(firstArrivals(slow.accepted), await sealedOrder(ctx.em(), c.clinic.group.id), 'the slow receiver got everything in the end')
})

t.test('when a receiver answers an error or too slowly, then the reason is kept and the next try waits', async t => {
  const receiver = await receiverFor(t)
  const e = await practiceWithEndpoint(receiver, '/e')
  await addRecords(ctx.em(), e.clinic.owner, 5, ctx.clock.now())
  await sealAndSign(ctx, [e.clinic.group.id])

  receiver.behaviour = () => 503
  await deliver()
  let now = ctx.clock.now().getTime()
  let state = await health(e.endpoint.id)
  t.equal(state.last_error, 'The receiver answered HTTP 503.')
  t.ok(state.next_attempt_at.getTime() >= now && state.next_attempt_at.getTime() <= now + 10_000, 'retried within twice the first wait')
  const requests = receiver.requests
  await deliver()
  t.equal(receiver.requests, requests, 'not tried again before its time')

  receiver.behaviour = () => 302
  ctx.clock.advance(10_000)
  await deliver()
  t.equal((await health(e.endpoint.id)).last_error, 'The receiver answered HTTP 302 (redirects are not followed).')

  receiver.behaviour = () => 200
  receiver.delayMs = 1000
  ctx.clock.advance(20_000)
  await deliver({ timeoutMs: 200 })
  now = ctx.clock.now().getTime()
  state = await health(e.endpoint.id)
  t.equal(state.last_error, 'The receiver did not answer within 0.2 seconds.')
  t.equal(state.failures, 3)
  t.ok(state.next_attempt_at.getTime() <= now + 40_000, 'the wait doubles with each failure, at most')
  t.equal(receiver.accepted.length, 0)
})

t.test('when signed heads cover only part of the chain, then only the covered records go, the rest once signed', async t => {
  const receiver = await receiverFor(t)
  const f = await practiceWithEndpoint(receiver, '/f')
  await addRecords(ctx.em(), f.clinic.owner, 10, ctx.clock.now())
  await sealAndSign(ctx, [f.clinic.group.id])
  const signed = await sealedOrder(ctx.em(), f.clinic.group.id)
  await addRecords(ctx.em(), f.clinic.owner, 10, ctx.clock.now())
  await sealPracticeBefore(ctx.keeper.em.fork(), f.clinic.group.id, new Date('9999-12-31T00:00:00Z'), ctx.clock.now())
  await deliver()
  t.same(firstArrivals(receiver.accepted), signed, 'sealed but unsigned records wait')
  await sealAndSign(ctx, [f.clinic.group.id])
  await deliver({ batchSize: 1 })
  t.same(firstArrivals(receiver.accepted), await sealedOrder(ctx.em(), f.clinic.group.id), 'one record a batch crosses from one seal to the next')
  t.equal(new Set(firstArrivals(receiver.accepted)).size, receiver.accepted.flatMap(arrival => batch(arrival).records).length, 'nothing was sent twice')
})

t.test('when retention deleted records before they went, then they are passed over and the rest arrive', async t => {
  const receiver = await receiverFor(t)
  const g = await practiceWithEndpoint(receiver, '/g')
  await addRecords(ctx.em(), g.clinic.owner, 150, new Date(ctx.clock.now().getTime() - 45 * DAY))
  await addRecords(ctx.em(), g.clinic.owner, 20, ctx.clock.now())
  await sealAndSign(ctx, [g.clinic.group.id])
  const sealed = await sealedOrder(ctx.em(), g.clinic.group.id)
  const { deleted } = await purgeExpired(ctx.keeper.em.fork(), ctx.plan, g.clinic.group, ctx.clock.now(), { batchSize: 1000 })
  t.equal(deleted, 150)
  await sealAndSign(ctx, [g.clinic.group.id])
  await deliver()
  const kept = await ctx.em().getConnection().execute<{ id: string }[]>('select id::text as id from audit_records where practice_group_id = ?', [g.clinic.group.id])
  const keptIds = new Set(kept.map(row => row.id))
  t.same(firstArrivals(receiver.accepted), (await sealedOrder(ctx.em(), g.clinic.group.id)).filter(id => keptIds.has(id)), 'every record still kept arrived, in order')
  t.notOk(firstArrivals(receiver.accepted).some(id => sealed.slice(0, 150).includes(id) && !keptIds.has(id)), 'no deleted one')
})

t.test('when a patient is restricted, then the receiver gets their records without the details, as the exports give them', async t => {
  const receiver = await receiverFor(t)
  const h = await practiceWithEndpoint(receiver, '/h')
  const owner = await signedInAgent(ctx.app, h.clinic.owner.email)
  const name = `Rowe ${Date.now()}`
  const patient = await createdRecord(owner, '/patients', { name, notes: 'Private' })
  await owner.post(`/patients/${patient}/restriction`, { restricted: 'on' })
  await addRecords(ctx.em(), h.clinic.owner, 3, ctx.clock.now(), patient)
  await sealAndSign(ctx, [h.clinic.group.id])
  await deliver()
  const records = receiver.accepted.flatMap(arrival => batch(arrival).records)
  t.ok(records.filter(r => r.description === WITHHELD).length >= 4, 'the records about the patient come without their description')
  t.notOk(records.some(r => r.description.startsWith('Viewed chart') || r.description.includes(name)), 'nothing names the patient or says what was seen')
  t.ok(records.some(r => r.description !== WITHHELD), 'other records keep theirs')
})

t.test('when two deliverers run at once, then no endpoint is sent the same batch twice', async t => {
  const receiver = await receiverFor(t)
  receiver.delayMs = 200
  const k = await practiceWithEndpoint(receiver, '/k')
  await addRecords(ctx.em(), k.clinic.owner, 450, ctx.clock.now())
  await sealAndSign(ctx, [k.clinic.group.id])
  await Promise.all([deliver(), deliver(), deliver()])
  const sent = receiver.accepted.flatMap(arrival => batch(arrival).records.map(r => r.id))
  t.equal(sent.length, new Set(sent).size, 'each record was sent once')
  t.same(sent, await sealedOrder(ctx.em(), k.clinic.group.id), 'in order')
})

t.test('when an endpoint is added, then it is sent what the history shows (7 days without a subscription) and everything after', async t => {
  const receiver = await receiverFor(t)
  const clinic = await makeClinic(ctx.em())
  const today = ctx.clock.now()
  ctx.clock.set(new Date(today.getTime() - 10 * DAY))
  await addRecords(ctx.em(), clinic.owner, 5, ctx.clock.now())
  await sealAndSign(ctx, [clinic.group.id])
  ctx.clock.set(today)
  await addRecords(ctx.em(), clinic.owner, 3, today)
  await sealAndSign(ctx, [clinic.group.id])
  const owner = await signedInAgent(ctx.app, clinic.owner.email)
  await addedEndpoint(owner, 'Receiver /window', receiver.url('/window'))
  await sealAndSign(ctx, [clinic.group.id])
  await deliver()
  const sealed = await sealedOrder(ctx.em(), clinic.group.id)
  t.same(firstArrivals(receiver.accepted), sealed.slice(5), 'the records older than the free window stay behind; the recent ones and the sign-in arrive')
})
