import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { build, type TestContext } from '../helpers/app.js'
import { Agent, PASSWORD } from '../helpers/agent.js'
import { makeClinic } from '../helpers/clinic.js'
import { happened } from '../helpers/alerts.js'
import { sealCommittedRecords } from '../../src/domain/chain/sealer.js'
import { sealBacklog } from '../../src/domain/audit-records/chain-reads.js'
import { fromLocalInput } from '../../src/domain/time/zoned.js'

const TOKEN = 'metrics-token-for-tests-0123456789abcdef'
const SCRAPER = { authorization: `Bearer ${TOKEN}` }

/** The sum of every sample of `name` whose labels include `labels`; undefined when there is none. */
function sampleOf (text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  let sum: number | undefined
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (!match || match[1] !== name) continue
    const held = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map(([, key, value]) => [key, value]))
    if (Object.entries(labels).every(([key, value]) => held[key] === value)) sum = (sum ?? 0) + Number(match[3])
  }
  return sum
}

async function scrape (app: FastifyInstance): Promise<string> {
  const response = await app.inject({ method: 'GET', url: '/metrics', headers: SCRAPER })
  if (response.statusCode !== 200) throw new Error(`the scrape answered ${response.statusCode}`)
  return response.body
}

/** Asks until `ready` holds for a scrape; the scheduled work runs every second, and other test files' transactions may hold the sealer back. */
async function scrapeUntil (app: FastifyInstance, ready: (text: string) => boolean, patienceMs = 60_000): Promise<string> {
  const giveUpAt = Date.now() + patienceMs
  let text = await scrape(app)
  while (!ready(text) && Date.now() < giveUpAt) {
    await new Promise(resolve => setTimeout(resolve, 250))
    text = await scrape(app)
  }
  return text
}

async function sealEverything (ctx: TestContext): Promise<void> {
  const giveUpAt = Date.now() + 60_000
  while ((await sealBacklog(ctx.keeper.em.fork())).waiting > 0) {
    if (Date.now() > giveUpAt) throw new Error('the sealer did not reach the newest records in time')
    await sealCommittedRecords(ctx.keeper.em.fork(), ctx.clock.now())
    await new Promise(resolve => setTimeout(resolve, 50))
  }
}

const totalRecords = async (ctx: TestContext): Promise<number> =>
  Number((await ctx.em().getConnection().execute<{ n: string }[]>('select count(*) as n from audit_records'))[0]!.n)

t.test('when METRICS_TOKEN is not set, then there is no /metrics at all', async t => {
  const ctx = await build(t)
  const response = await ctx.app.inject({ method: 'GET', url: '/metrics', headers: SCRAPER })
  t.equal(response.statusCode, 404)
  t.notOk(ctx.app.routeRecordings.some(route => route.url === '/metrics'), 'no such route')
})

t.test('when METRICS_TOKEN is shorter than 32 characters, then the configuration is refused naming it', async t => {
  await t.rejects(build(t, { METRICS_TOKEN: 'short' }), /METRICS_TOKEN/)
})

t.test('with METRICS_TOKEN set', async t => {
  const ctx = await build(t, { METRICS_TOKEN: TOKEN })
  ctx.clock.set('2026-11-25T03:00:00Z')
  const clinic = await makeClinic(ctx.em())
  const agent = new Agent(ctx.app, '203.0.113.71')
  await agent.signIn(clinic.owner.email, PASSWORD)

  t.test('when a scrape has no token or a wrong one, then it is refused with 401 and shows nothing', async t => {
    const wrong = [undefined, `Bearer ${TOKEN.slice(0, -1)}x`, `Bearer ${TOKEN}0`, `Bearer ${TOKEN.slice(0, 10)}`, `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}`, TOKEN, 'Bearer', '']
    for (const authorization of wrong) {
      const response = await ctx.app.inject({ method: 'GET', url: '/metrics', headers: authorization === undefined ? {} : { authorization } })
      t.equal(response.statusCode, 401, `${authorization ?? 'no header'}: 401`)
      t.equal(response.headers['www-authenticate'], 'Bearer realm="metrics"')
      t.notMatch(response.body, 'practice_audit_')
    }
  })

  t.test('when the token is sent, then the figures come in Prometheus\'s text format', async t => {
    const response = await ctx.app.inject({ method: 'GET', url: '/metrics', headers: SCRAPER })
    t.equal(response.statusCode, 200)
    t.match(response.headers['content-type'], /^text\/plain; version=0\.0\.4/)
    for (const name of ['process_cpu_seconds_total', 'nodejs_eventloop_lag_seconds', 'practice_audit_unsealed_records', 'practice_audit_oldest_unsealed_record_age_seconds']) {
      t.not(sampleOf(response.body, name), undefined, `${name} is there`)
    }
    t.equal(sampleOf(response.body, 'practice_audit_pool_max_connections', { pool: 'keeper' }), 3, 'the keeper\'s pool holds three connections')
  })

  t.test('when /metrics is scraped, even with a session, then nothing is recorded and no session is touched', async t => {
    t.match(ctx.app.routeRecordings.filter(route => route.url === '/metrics'), [{ method: 'GET', recording: 'exempt' }])
    const before = await totalRecords(ctx)
    await scrape(ctx.app)
    const withSession = await ctx.app.inject({ method: 'GET', url: '/metrics', headers: { ...SCRAPER, cookie: agent.cookieHeader } })
    t.equal(withSession.statusCode, 200)
    t.same(withSession.cookies, [], 'no cookie is set or renewed')
    t.equal(await totalRecords(ctx), before, 'no history record was written')
  })

  t.test('when pages are opened, then their time is counted under the route\'s pattern, not the address asked for', async t => {
    await agent.get('/patients/new')
    const created = await agent.post('/patients', { name: 'Metric Patient' })
    const patientId = /\/patients\/(\d+)$/.exec(String(created.headers.location))![1]!
    const before = await scrape(ctx.app)
    const pattern = { method: 'GET', route: '/patients/:id', status: '2xx' }
    t.equal((await agent.get(`/patients/${patientId}`)).statusCode, 200)
    await agent.get(`/patients/${patientId}`)
    await agent.get('/no/such/page/8675309')
    const after = await scrape(ctx.app)
    t.equal(sampleOf(after, 'practice_audit_http_request_duration_seconds_count', pattern), (sampleOf(before, 'practice_audit_http_request_duration_seconds_count', pattern) ?? 0) + 2)
    t.notMatch(after, `/patients/${patientId}`, 'no label holds the patient\'s id')
    t.notMatch(after, '8675309', 'nor an unknown address')
    t.ok(sampleOf(after, 'practice_audit_http_request_duration_seconds_count', { route: 'none', status: '4xx' })! >= 1, 'a request that matched no route is counted under "none"')
  })

  t.test('when views are recorded, then the recorder\'s batches and commit times move', async t => {
    const before = await scrape(ctx.app)
    await Promise.all(Array.from({ length: 12 }, () => agent.get('/patients')))
    const after = await scrape(ctx.app)
    const batches = (text: string): number => sampleOf(text, 'practice_audit_recorder_batch_rows_count') ?? 0
    const rows = (text: string): number => sampleOf(text, 'practice_audit_recorder_batch_rows_sum') ?? 0
    const commits = (text: string): number => sampleOf(text, 'practice_audit_recorder_commit_seconds_count', { outcome: 'committed' }) ?? 0
    t.ok(batches(after) > batches(before), 'batches were written')
    t.equal(rows(after) - rows(before), 12, 'holding the twelve views')
    t.equal(commits(after) - commits(before), batches(after) - batches(before), 'each batch committed, and its time is counted')
  })

  t.test('when records wait for their seal, then their number and the oldest one\'s age show, and drop to zero once sealed', async t => {
    await sealEverything(ctx)
    const sealed = await scrape(ctx.app)
    t.equal(sampleOf(sealed, 'practice_audit_unsealed_records'), 0)
    t.equal(sampleOf(sealed, 'practice_audit_oldest_unsealed_record_age_seconds'), 0)

    const viewedAt = ctx.clock.now()
    await agent.get('/patients')
    await agent.get('/appointments')
    ctx.clock.set(new Date(viewedAt.getTime() + 10 * 60_000))
    const waiting = await scrape(ctx.app)
    t.equal(sampleOf(waiting, 'practice_audit_unsealed_records'), 2)
    t.equal(sampleOf(waiting, 'practice_audit_oldest_unsealed_record_age_seconds'), 600, 'the first of them waited ten minutes by the app\'s clock')

    await sealEverything(ctx)
    const after = await scrape(ctx.app)
    t.equal(sampleOf(after, 'practice_audit_unsealed_records'), 0)
    t.equal(sampleOf(after, 'practice_audit_oldest_unsealed_record_age_seconds'), 0)
  })

  t.test('when connections are taken from a pool, then its used and pending counts move, and a scrape still answers', async t => {
    const idle = await scrape(ctx.app)
    t.equal(sampleOf(idle, 'practice_audit_pool_connections', { pool: 'keeper', state: 'pending' }), 0)
    let release!: () => void
    const held = new Promise<void>(resolve => { release = resolve })
    const holders = Array.from({ length: 4 }, () => ctx.keeper.em.fork().transactional(async em => {
      await em.getConnection().execute('select 1', [], 'all', em.getTransactionContext())
      await held
    }))
    try {
      const keeper = (text: string, state: string): number | undefined => sampleOf(text, 'practice_audit_pool_connections', { pool: 'keeper', state })
      const busy = await scrapeUntil(ctx.app, text => keeper(text, 'used') === 3 && keeper(text, 'pending')! >= 1, 10_000)
      t.equal(keeper(busy, 'used'), 3, 'all three connections are in use')
      t.ok(keeper(busy, 'pending')! >= 1, 'the fourth caller waits')
      t.ok(Number.isNaN(sampleOf(busy, 'practice_audit_unsealed_records')), 'the backlog, which needs a keeper\'s connection, says NaN rather than holding the scrape')
      t.ok(Number.isNaN(sampleOf(busy, 'practice_audit_oldest_unsealed_record_age_seconds')))
    } finally {
      release()
      await Promise.all(holders)
    }
    // The backlog's read that was left waiting goes ahead first.
    const after = await scrapeUntil(ctx.app, text => sampleOf(text, 'practice_audit_pool_connections', { pool: 'keeper', state: 'used' }) === 0, 10_000)
    t.equal(sampleOf(after, 'practice_audit_pool_connections', { pool: 'keeper', state: 'used' }), 0, 'the connections are free again')
    t.equal(sampleOf(after, 'practice_audit_unsealed_records'), 0, 'and the backlog is read again')
  })

  t.test('when a run of background work fails, then it is counted as failed and the failure is passed on', async t => {
    const failed = (text: string): number => sampleOf(text, 'practice_audit_task_runs_total', { task: 'seal', outcome: 'failed' }) ?? 0
    const before = failed(await scrape(ctx.app))
    await t.rejects(ctx.app.metrics.task('seal', async () => { throw new Error('disk full') }), /disk full/)
    t.equal(failed(await scrape(ctx.app)), before + 1)
  })
})

t.test('when the sealer and the scheduled job run, then their runs, the records sealed and the alerts raised are counted', async t => {
  const ctx = await build(t, { METRICS_TOKEN: TOKEN, SEAL_SCHEDULE: '* * * * * *', JOBS_SCHEDULE: '* * * * * *' })
  const clinic = await makeClinic(ctx.em())
  await happened(ctx.em(), clinic.reception, fromLocalInput('2026-11-24T22:10', 'Australia/Sydney')!)
  const ran = (text: string, task: string): number => sampleOf(text, 'practice_audit_task_runs_total', { task, outcome: 'ok' }) ?? 0
  const text = await scrapeUntil(ctx.app, text => (sampleOf(text, 'practice_audit_alerts_raised_total') ?? 0) >= 1 && ran(text, 'scheduled-job') >= 1 &&
    (sampleOf(text, 'practice_audit_records_sealed_total') ?? 0) >= 1)
  t.equal(sampleOf(text, 'practice_audit_alerts_raised_total'), 1, 'the after-hours view raised one alert')
  t.ok((sampleOf(text, 'practice_audit_records_sealed_total') ?? 0) >= 1, 'the view was sealed')
  for (const task of ['seal', 'sign-heads', 'alert-scan', 'scheduled-job']) {
    t.ok(ran(text, task) >= 1, `${task} ran and succeeded`)
    t.ok((sampleOf(text, 'practice_audit_task_duration_seconds_count', { task }) ?? 0) >= 1, `${task}'s time is counted`)
  }
  t.equal(sampleOf(text, 'practice_audit_oldest_unsealed_record_age_seconds'), 0, 'nothing is left waiting')
})
