import t from 'tap'
import http from 'node:http'
import { connect } from 'node:net'
import type { EntityManager } from '@mikro-orm/postgresql'
import { testDatabase } from '../helpers/app.js'
import { makeClinic } from '../helpers/clinic.js'
import { PASSWORD } from '../helpers/agent.js'
import { serverEnvironment, spawnServer, untilListening } from '../helpers/server-process.js'
import { openUnscopedOrm } from '../../src/db/orm.js'
import { Patient } from '../../src/domain/patients/patient.entity.js'
import { verifyPracticeChain } from '../../src/domain/chain/chain.service.js'
import { DEFAULT_PLAN } from '../../src/domain/plan/plan.js'

const databaseUrl = await testDatabase(t)
const owner = await openUnscopedOrm(databaseUrl)
t.teardown(() => owner.close(true))
const em = (): EntityManager => owner.em.fork() as EntityManager

const clinic = await makeClinic(em())
const patient = em().create(Patient, { practiceGroupId: clinic.group.id, name: 'Drain Patient', dateOfBirth: '1980-02-03' })
await em().persistAndFlush(patient)

/** Signs in over HTTP as a browser would, and returns the session cookie. */
async function signIn (base: string, email: string): Promise<string> {
  const form = await fetch(`${base}/login`)
  const cookieOf = (response: Response): string => response.headers.getSetCookie().map(c => c.split(';')[0]).join('; ')
  const token = /name="_csrf" value="([^"]+)"/.exec(await form.text())![1]!
  const response = await fetch(`${base}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { cookie: cookieOf(form), 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ _csrf: token, email, password: PASSWORD })
  })
  if (response.status !== 303) throw new Error(`sign-in answered ${response.status}`)
  return cookieOf(response)
}

interface Outcome { path: string, status?: number, body?: string, error?: string, answeredAt?: number }

/** One request on a connection of its own, as many browsers behind a load balancer would send them. */
function request (base: string, path: string, cookie: string): Promise<Outcome> {
  return new Promise(resolve => {
    const sent = http.get(`${base}${path}`, { agent: false, headers: { cookie } }, response => {
      let body = ''
      response.on('data', chunk => { body += String(chunk) })
      response.on('end', () => resolve({ path, status: response.statusCode, body, answeredAt: Date.now() }))
      response.on('error', err => resolve({ path, error: (err as NodeJS.ErrnoException).code ?? err.message }))
    })
    sent.on('error', err => resolve({ path, error: (err as NodeJS.ErrnoException).code ?? err.message }))
  })
}

async function recordedViews (prefix: string): Promise<string[]> {
  const rows = await em().getConnection().execute<Array<{ url: string }>>(
    "select url from audit_records where practice_group_id = ? and action = 'view' and url like ?", [clinic.group.id, `${prefix}%`])
  return rows.map(row => row.url).sort()
}

t.test('when SIGTERM arrives in the middle of 200 recorded views, then every view answered has its record, no connection breaks, and it exits 0', async t => {
  const server = spawnServer(t, serverEnvironment(t, databaseUrl, { SEAL_SCHEDULE: '* * * * * *' }))
  const base = await untilListening(server)
  const cookie = await signIn(base, clinic.owner.email)
  const prefix = `/patients/${patient.id}?request=`

  let stoppedAt = 0
  let answered = 0
  let late: Promise<Outcome[]> = Promise.resolve([])
  const views = Array.from({ length: 200 }, (_, i) => request(base, `${prefix}${i}`, cookie).then(outcome => {
    if (++answered === 20) {
      stoppedAt = Date.now()
      server.child.kill('SIGTERM')
      // Views that come in while the others drain.
      late = new Promise(resolve => setTimeout(resolve, 100))
        .then(() => Promise.all(Array.from({ length: 20 }, (_, j) => request(base, `${prefix}late-${j}`, cookie))))
    }
    return outcome
  }))
  const firstWave = await Promise.all(views)
  const afterStop = await late
  const { code } = await server.exited
  const tally = (outcomes: Outcome[]): string => {
    const counts = new Map<string, number>()
    for (const o of outcomes) counts.set(o.error ?? String(o.status), (counts.get(o.error ?? String(o.status)) ?? 0) + 1)
    return [...counts].map(([outcome, n]) => `${outcome}: ${n}`).join(', ')
  }
  t.comment(`sent before the stop: ${tally(firstWave)}; after: ${tally(afterStop)}`)

  t.equal(code, 0, `exits 0 (${server.stderr().trim()})`)
  t.same(firstWave.filter(o => o.error), [], 'no view sent before the stop met a broken connection')
  t.same(firstWave.filter(o => o.status !== 200 && o.status !== 503), [], 'each was answered or turned away with 503')
  const shown = firstWave.filter(o => o.status === 200)
  t.ok(shown.filter(o => o.answeredAt! > stoppedAt).length > 0, 'views in flight at the stop were still answered')
  t.same(await recordedViews(prefix), shown.map(o => o.path).sort(), 'every view shown has its record, and no other view was recorded')
  t.same(afterStop.filter(o => o.error ? o.error !== 'ECONNREFUSED' : o.status !== 503), [], 'a view sent after the stop began is refused cleanly or turned away with 503')
  t.same(firstWave.filter(o => o.status === 503 && !/restarting/.test(o.body!)), [], 'a 503 says the app is restarting')
})

t.test('when SIGTERM arrives while a request is stuck, then /ready says shutting down, new requests are turned away, and the stuck one is cut at the grace period', async t => {
  const server = spawnServer(t, serverEnvironment(t, databaseUrl, { SHUTDOWN_GRACE_SECONDS: '2' }))
  const base = await untilListening(server)
  const { port } = new URL(base)

  // A form whose body never finishes arriving: in flight until the grace period ends.
  const stuck = connect(Number(port), '127.0.0.1')
  await new Promise<void>(resolve => stuck.once('connect', resolve))
  stuck.write('POST /login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nemail=')
  const cut = new Promise<number>(resolve => stuck.once('close', () => resolve(Date.now())))
  stuck.on('error', () => {})
  await new Promise(resolve => setTimeout(resolve, 300))

  const stoppedAt = Date.now()
  server.child.kill('SIGTERM')
  await new Promise(resolve => setTimeout(resolve, 300))
  const ready = await fetch(`${base}/ready`)
  t.equal(ready.status, 503)
  t.same(await ready.json(), { status: 'shutting down' })
  t.equal((await fetch(`${base}/health`)).status, 200, '/health still answers: the process is alive')
  const page = await fetch(`${base}/login`)
  t.equal(page.status, 503)
  t.ok(Number(page.headers.get('retry-after')) > 0)

  const cutAt = await cut
  const { code } = await server.exited
  t.ok(cutAt - stoppedAt >= 1900, `the stuck request was cut after the grace period (${cutAt - stoppedAt} ms)`)
  t.ok(cutAt - stoppedAt < 6000, 'and not long after it')
  t.equal(code, 0)
})

t.test('when SIGTERM arrives while the sealer works through a backlog of 120,000 records, then it stops after the pass under way, and the next start seals the rest into a chain that verifies', async t => {
  const backlog = await makeClinic(em())
  const db = owner.em.getConnection()
  // Sixteen transactions of 7,500 records: a pass ends at a transaction's edge, so this makes three passes of about 50,000.
  for (let i = 0; i < 16; i++) {
    await db.execute(`insert into audit_records (practice_group_id, occurred_at, user_id, user_name, action, page, description, url)
      select ?, now() - interval '2 hours' + (g * interval '1 ms'), ?, 'Backlog', 'view', 'Patients', 'Backlog record ' || g, '/patients'
        from generate_series(?::int, ?::int) g`, [backlog.group.id, backlog.owner.id, i * 7500 + 1, (i + 1) * 7500])
  }
  const sealedCount = async (): Promise<number> => Number((await db.execute<Array<{ n: string }>>(
    'select count(*) as n from audit_records where practice_group_id = ? and tx_id < (select sealed_below from audit_seal_state)', [backlog.group.id]))[0]!.n)
  t.equal(await sealedCount(), 0)

  const first = spawnServer(t, serverEnvironment(t, databaseUrl, { SEAL_SCHEDULE: '* * * * * *' }))
  await untilListening(first)
  const giveUpAt = Date.now() + 60_000
  while (await sealedCount() === 0 && Date.now() < giveUpAt) await new Promise(resolve => setTimeout(resolve, 25))
  const atSignal = await sealedCount()
  const stoppedAt = Date.now()
  first.child.kill('SIGTERM')
  const { code } = await first.exited
  const stopMs = Date.now() - stoppedAt
  const atExit = await sealedCount()
  t.comment(`sealed when the signal came: ${atSignal}; at exit: ${atExit}; the stop took ${stopMs} ms`)
  t.equal(code, 0, `exits 0 (${first.stderr().trim()})`)
  t.ok(atSignal > 0 && atSignal <= 52_500, 'the first pass sealed part of the backlog, not all of it')
  t.ok(atExit < 120_000, 'the stop did not wait for the whole backlog')
  t.ok(stopMs < 15_000, 'and came well inside the grace period')

  const second = spawnServer(t, serverEnvironment(t, databaseUrl, { SEAL_SCHEDULE: '* * * * * *' }))
  await untilListening(second)
  while (await sealedCount() < 120_000 && Date.now() < giveUpAt + 60_000) await new Promise(resolve => setTimeout(resolve, 100))
  second.child.kill('SIGTERM')
  t.equal((await second.exited).code, 0)
  t.equal(await sealedCount(), 120_000, 'the next start sealed the rest')
  t.match(await verifyPracticeChain(em(), DEFAULT_PLAN, backlog.group.id), { intact: true, awaitingSeal: 0, problems: 0 }, 'into a chain that verifies')
})
