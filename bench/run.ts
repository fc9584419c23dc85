/**
 * `npm run bench [-- --quick | --browser-only | --storage-only] [--records N --groups N --days N --largest-share F]
 *   [--samples N --load-seconds N --arrivals-per-second N --retention-records N --browser-runs N] [--report PATH] [--database NAME]`:
 * loads a seeded data set into its own database, measures the app over HTTP
 * and the same queries as raw SQL, after vacuuming and again while records
 * arrive, times sorts and filters in Chromium, and writes the report to
 * PATH (docs/BENCHMARKS.md unless given), keeping what was written by hand
 * after its end. `--browser-only` times only the browser, on a smaller data
 * set, and rewrites only that section.
 */
import { execFileSync, spawn } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { createServer } from 'node:net'
import os from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import autocannon from 'autocannon'
import { to as copyTo } from 'pg-copy-streams'
import { dropDatabase, ensureDatabase } from '../src/db/databases.js'
import { startEmbeddedPostgres } from '../src/db/embedded-postgres.js'
import { migrate, openOrm, openUnscopedOrm } from '../src/db/orm.js'
import { loginRoles } from '../src/db/roles.js'
import { inPracticeScope } from '../src/db/practice-scope.js'
import { hashPassword } from '../src/domain/users/passwords.js'
import { DAY_MS } from '../src/domain/time/zoned.js'
import { GENERATED_KEY_FILE, loadSigningKey } from '../src/domain/signed-heads/chain-key.js'
import { signAndFileHeads } from '../src/domain/signed-heads/sign-heads.js'
import type { HistoryScope } from '../src/domain/history/access.js'
import { recordEvent } from '../src/domain/recorder/recorder.js'
import { getRecord, loadLookups } from '../src/domain/practice-records/practice-records.service.js'
import { patientKind } from '../src/domain/patients/patient.kind.js'
import { DEFAULT_PLAN } from '../src/domain/plan/plan.js'
import { PracticeGroup } from '../src/domain/practice-groups/practice-group.entity.js'
import { purgeExpired } from '../src/domain/scheduled-job/purge-expired.js'
import { sealCommittedRecords, sealPracticeBefore } from '../src/domain/chain/sealer.js'
import { skipRecordsSoFar } from '../src/domain/alerts/alert-scan.js'
import { verifyPracticeChain } from '../src/domain/chain/chain.service.js'
import { generate, type DataSetSize } from './generate.js'
import { cpuSeconds, HttpUser, measureStorage, rssMb, sample, stats, timed, watchEventLoop, watchRss, type Stats } from './measure.js'
import { browserSection, measureBrowser } from './browser.js'
import { caseUrl, casesByIndex, historyCases, measureCases, type CaseSetting } from './history-cases.js'
import { measureWhileArriving } from './live-practice.js'
import { cpuUsedSince, postgresCpu } from './postgres-cpu.js'
import { renderReport, storageSection, writeBrowserSection, writeReport } from './report.js'

const PASSWORD = 'bench-password-2026'
const args = process.argv.slice(2)
const textArg = (name: string): string | undefined => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? args[i + 1] : undefined
}
const arg = (name: string, fallback: number): number => Number(textArg(name) ?? fallback)
const quick = args.includes('--quick')
/** Times sorts and filters in Chromium only, on a data set a tenth of --quick's: a page's work in the browser hardly depends on the practice's size. */
const browserOnly = args.includes('--browser-only')
/** Loads, seals, signs and measures the storage only, printing it instead of writing the report (for docs/SCALING.md). */
const storageOnly = args.includes('--storage-only')
const size: DataSetSize = {
  records: arg('records', browserOnly ? 100_000 : quick ? 1_000_000 : 10_000_000),
  groups: arg('groups', browserOnly ? 10 : quick ? 100 : 1000),
  days: arg('days', 400),
  largestShare: arg('largest-share', 0.15)
}
const SAMPLES = arg('samples', 30)
const WARM_UP_ROUNDS = 10
const LOAD_SECONDS = arg('load-seconds', quick ? 20 : 60)
const RETENTION_RECORDS = arg('retention-records', quick ? 100_000 : 1_000_000)
const BROWSER_RUNS = arg('browser-runs', 40)
/** The sustained-load target's rate: records arrive in the largest practice this fast while its history is measured unvacuumed. */
const ARRIVALS_PER_SECOND = arg('arrivals-per-second', 1000)
/** How long records arrive before ANALYZE, and before the unvacuumed history is measured. */
const ARRIVALS_BEFORE_ANALYZE_SECONDS = 10
/** A run of another size writes its own report, so that the main run's is kept. */
const REPORT = textArg('report') ?? 'docs/BENCHMARKS.md'

const log = (line: string): void => { console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}`) }

async function freePort (): Promise<number> {
  return new Promise(resolve => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

async function serverUrl (): Promise<{ url: string, stop: () => Promise<void> }> {
  if (process.env.DATABASE_URL) return { url: process.env.DATABASE_URL, stop: async () => {} }
  const dir = join(process.cwd(), '.data', 'bench-postgres')
  mkdirSync(dir, { recursive: true })
  const embedded = await startEmbeddedPostgres(dir, 54339)
  return { url: embedded.url, stop: embedded.stop }
}

async function main (): Promise<void> {
  const started = new Date()
  const loadAtStart = machineLoad()
  const cluster = await serverUrl()
  const name = textArg('database') ?? 'practice_audit_bench'
  await dropDatabase(cluster.url, name)
  const url = await ensureDatabase(cluster.url, name)
  await migrate(url)
  const db = new pg.Client({ connectionString: url })
  await db.connect()
  await db.query('set max_parallel_workers_per_gather = 0')
  const now = new Date()

  log(`generating ${size.records.toLocaleString()} records over ${size.groups} practices and ${size.days} days`)
  let dataSet!: Awaited<ReturnType<typeof generate>>
  const generationMs = await timed(async () => { dataSet = await generate(db, size, now) })
  const { largest, focalPatientId } = dataSet
  log(`generated in ${(generationMs / 1000).toFixed(0)} s; the largest practice has ${largest.records.toLocaleString()} records`)

  const ownerHash = await hashPassword(PASSWORD)
  const { rows: [owner] } = await db.query<{ id: number }>(
    `insert into users (practice_group_id, name, email, password_hash, access_level, can_view_history, created_at, updated_at)
     values ($1, 'Bench Owner', 'owner@bench.invalid', $2, 'Full Access', true, now(), now()) returning id`, [largest.id, ownerHash])
  const windowStart = new Date(now.getTime() - size.days * DAY_MS)
  await db.query(`insert into subscriptions (practice_group_id, started_at, window_start, periods_paid, current_period_end, auto_renew, status)
                  values ($1, $2, $3, 13, $4, true, 'active')`, [largest.id, new Date(windowStart.getTime() + 30 * DAY_MS), windowStart, new Date(now.getTime() + 10 * DAY_MS)])
  await db.query(`insert into patients (id, practice_group_id, name, date_of_birth) values ($1, $2, 'Focal Patient', '1970-01-01')`, [focalPatientId, largest.id])
  const { rows: [{ ip: someIp }] } = await db.query<{ ip: string }>('select host(ip) as ip from audit_records where practice_group_id = $1 limit 1', [largest.id])
  const { rows: [{ version }] } = await db.query<{ version: string }>("select current_setting('server_version') as version")

  // Production needs its own signing key; this run's heads go beside it, apart from any other database's.
  const benchDir = join(process.cwd(), '.data', 'bench')
  const headsDir = join(benchDir, `heads-${Date.now()}`)
  const roles = await loginRoles(url, join(process.cwd(), '.data'))
  const orm = await openUnscopedOrm(roles.keeper, 4)
  const appOrm = await openOrm(roles.app, 4)
  log('sealing every record into its practice\'s hash chain')
  const sealingRss = watchRss()
  const sealingLoop = watchEventLoop()
  let sealed = 0
  const sealingMs = await timed(async () => { sealed = (await sealCommittedRecords(orm.em.fork(), now)).records })
  const sealingStallMs = sealingLoop()
  const sealingMemory = sealingRss()
  // Another cluster's open transaction holds back what counts as committed; the rate is of what was sealed.
  log(`sealed ${sealed.toLocaleString()} records in ${(sealingMs / 1000).toFixed(0)} s`)
  await signAndFileHeads(orm.em, loadSigningKey(undefined, benchDir), headsDir, now)
  await db.query('vacuum analyze audit_records, audit_chain, signed_heads')
  const storage = await measureStorage(db, ['audit_records', 'audit_chain', 'signed_heads'])
  if (storageOnly) {
    console.log(`Sealing: ${(sealed / (sealingMs / 1000)).toFixed(0)} records/s\n\n${storageSection(storage, size.records)}`)
    await orm.close()
    await appOrm.close()
    await db.end()
    await cluster.stop()
    return
  }
  // The bulk load stands for history from before alerts existed; the app's own alert pass reads what the load phase writes.
  await skipRecordsSoFar(orm.em.fork())

  const port = await freePort()
  log('building the app as npm start does')
  execFileSync('npx', ['tsc', '-p', 'tsconfig.json'], { stdio: 'inherit' })
  const server = spawn(process.execPath, ['dist/src/server.js'], {
    env: { ...process.env, DATABASE_URL: url, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', JOBS_SCHEDULE: 'off', NODE_ENV: 'production', SESSION_SECRET: 'bench-session-secret-0123456789abcdef',
      CHAIN_SIGNING_KEY: join(benchDir, GENERATED_KEY_FILE), HEADS_DIR: headsDir
    },
    stdio: ['ignore', 'ignore', 'inherit']
  })
  // A run that fails part-way leaves no server behind.
  process.once('exit', () => server.kill('SIGTERM'))
  const baseUrl = `http://127.0.0.1:${port}`
  for (let i = 0; i < 100; i++) {
    try { await fetch(`${baseUrl}/health`); break } catch { await new Promise(resolve => setTimeout(resolve, 300)) }
  }
  if (browserOnly) {
    log(`timing sorts and filters in Chromium, ${BROWSER_RUNS} runs each`)
    const times = await measureBrowser(baseUrl, 'owner@bench.invalid', PASSWORD, BROWSER_RUNS)
    writeBrowserSection(REPORT, browserSection(times, started, machine(), loadNote(loadAtStart, machineLoad())))
    log(`wrote the Browser section of ${REPORT}`)
    server.kill('SIGTERM')
    await orm.close()
    await appOrm.close()
    await db.end()
    await cluster.stop()
    return
  }
  const browser = new HttpUser(baseUrl)
  await browser.signIn('owner@bench.invalid', PASSWORD)
  await browser.get('/settings/users/history', false)
  await browser.get(`/patients/${focalPatientId}/history`, false)

  const scope: HistoryScope = { practiceGroupId: largest.id, onlyUserId: null, window: { since: windowStart, subscribed: true, summary: [] } }
  const setting: CaseSetting = { scope, userIds: largest.userIds, someIp, focalPatientId, now }
  const cases = historyCases(setting)
  // A freshly started server compiles its hot paths during its first few hundred requests; the cases are measured warm.
  for (let round = 0; round < WARM_UP_ROUNDS; round++) {
    for (const c of cases) {
      const check = await browser.get(caseUrl(c, focalPatientId))
      if (check.status !== 200) throw new Error(`${caseUrl(c, focalPatientId)} answered ${check.status}`)
    }
  }
  const results = await measureCases(cases, setting, browser, db, SAMPLES, log)
  const servedByIndex = await casesByIndex(cases, setting, db)

  log(`the same cases while ${ARRIVALS_PER_SECOND.toLocaleString()} records a second arrive, unvacuumed`)
  const live = await measureWhileArriving(db, url, largest, () => measureCases(cases, setting, browser, db, SAMPLES, log), ARRIVALS_PER_SECOND, ARRIVALS_BEFORE_ANALYZE_SECONDS)

  log(`timing sorts and filters in Chromium, ${BROWSER_RUNS} runs each`)
  const browserTimes = await measureBrowser(baseUrl, 'owner@bench.invalid', PASSWORD, BROWSER_RUNS)
  const browserLoad = loadNote(loadAtStart, machineLoad())

  log('round trips to PostgreSQL, back to back and after idling')
  const roundTrips = await measureRoundTrips(db)

  log('recording overhead (A/B, interleaved)')
  const practice = await orm.em.fork().findOneOrFail(PracticeGroup, { id: largest.id })
  // As a request does it: the app's role, scoped to the practice.
  const viewWork = (record: boolean): Promise<void> => inPracticeScope(practice.id, () => scopedViewWork(record))
  const withRecording: number[] = []
  const withoutRecording: number[] = []
  async function scopedViewWork (record: boolean): Promise<void> {
    const em = appOrm.em.fork()
    const patient = await getRecord(em, patientKind, practice.id, focalPatientId)
    await loadLookups(em, practice.id, [patient])
    if (record) {
      await recordEvent(em, {
        practiceGroupId: practice.id, userId: owner!.id, userName: 'Bench Owner', url: `/patients/${focalPatientId}`, ip: '127.0.0.1', timeZone: practice.timeZone, occurredAt: new Date()
      }, { action: 'view', page: 'Patient profile', recordType: 'patient', recordId: focalPatientId, description: 'Viewed patient Focal Patient' })
    }
  }
  for (let i = 0; i < 400; i++) {
    const recordFirst = i % 2 === 0
    const first = await timed(() => viewWork(recordFirst))
    const second = await timed(() => viewWork(!recordFirst))
    ;(recordFirst ? withRecording : withoutRecording).push(first)
    ;(recordFirst ? withoutRecording : withRecording).push(second)
  }
  const pageTimes = await sample(() => browser.get(`/patients/${focalPatientId}`, false), 100)
  const recordingOn = stats(withRecording.slice(50))
  const recordingOff = stats(withoutRecording.slice(50))

  log(`sustained load for ${LOAD_SECONDS} s`)
  const countViews = async (): Promise<number> => Number((await db.query<{ n: string }>(
    'select count(*) as n from audit_records where practice_group_id = $1 and user_id = $2 and url = $3', [largest.id, owner!.id, `/patients/${focalPatientId}`])).rows[0]!.n)
  const viewsBefore = await countViews()
  const rssSamples: number[] = []
  const rssTimer = setInterval(() => { try { rssSamples.push(rssMb(server.pid!)) } catch { /* the server is gone */ } }, 250)
  const appCpuBefore = cpuSeconds(server.pid!)
  const postgresCpuBefore = await postgresCpu(db)
  const load = await autocannon({ url: `${baseUrl}/patients/${focalPatientId}`, connections: 16, duration: LOAD_SECONDS, headers: { cookie: browser.cookieHeader } })
  const postgresCpuAfter = await postgresCpu(db)
  const loadCpu = {
    app: cpuSeconds(server.pid!) - appCpuBefore,
    postgres: postgresCpuBefore && postgresCpuAfter ? cpuUsedSince(postgresCpuBefore, postgresCpuAfter) : null
  }
  clearInterval(rssTimer)
  const viewsAfter = await countViews()
  const served = load['2xx']
  const recorded = viewsAfter - viewsBefore

  log('full CSV export of the largest practice')
  const exportResult = await measureExport(db, baseUrl, browser.cookieHeader, server.pid!, largest.id, windowStart)

  log(`retention: ${RETENTION_RECORDS.toLocaleString()} expired records of one practice`)
  const retention = await measureRetention(db, orm, baseUrl, now)

  log('verifying the largest practice\'s hash chain')
  const verification = await measureVerification(orm, largest.id)

  browser.close()
  server.kill('SIGTERM')
  await orm.close()
  await appOrm.close()
  await db.end()
  await cluster.stop()

  const cpu = os.cpus()
  const report = renderReport({
    started, size, generationMs, largestRecords: largest.records, version, warmUpRounds: WARM_UP_ROUNDS,
    machine: { cpu: `${cpu.length} × ${cpu[0]?.model ?? 'unknown'}`, memory: `${(os.totalmem() / 2 ** 30).toFixed(1)} GB` },
    results, live, roundTrips, recordingOn, recordingOff, pageTimes, browser: { times: browserTimes, when: started, machine: machine(), load: browserLoad },
    load: { seconds: LOAD_SECONDS, requestsPerSecond: load.requests.average, served, recorded, errors: load.errors + load.non2xx, latencyP50: load.latency.p50, latencyP99: load.latency.p99 },
    loadCpu, rssMax: Math.max(...rssSamples), retention, exportResult, sealing: { ms: sealingMs, records: sealed, memory: sealingMemory, longestStallMs: sealingStallMs }, verification, storage, casesByIndex: servedByIndex
  })
  writeReport(REPORT, report)
  log(`wrote ${REPORT}`)
}

function machine (): string {
  const cpu = os.cpus()
  return `${cpu.length} × ${cpu[0]?.model ?? 'unknown'}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GB, Node.js ${process.version}`
}

/** The one-minute load average, which counts other work on the machine too. */
const machineLoad = (): number => os.loadavg()[0]!

/**
 * How busy the machine was: before the run began, which is other work, and
 * after the measurement, which counts the run's own server, browser and
 * database too.
 */
function loadNote (atStart: number, after: number): string {
  const cores = os.cpus().length
  const busy = atStart > cores / 2
  return `One-minute load average ${atStart.toFixed(2)} when the run began and ${after.toFixed(2)} after the measurement (the run's own work included), on ${cores} cores${busy ? ': other work was running on the machine, so these are numbers under load' : ''}.`
}

/**
 * `select 1`, back to back and after 5 ms of idling: what waking a
 * sleeping client and server costs each round trip on this machine. A raw
 * SQL loop stays awake; a request sleeps while its queries run.
 */
async function measureRoundTrips (db: pg.Client): Promise<{ awake: Stats, afterIdle: Stats }> {
  const awake = await sample(() => db.query('select 1'), 300, 50)
  const idled: number[] = []
  for (let i = 0; i < 300; i++) {
    await new Promise(resolve => setTimeout(resolve, 5))
    idled.push(await timed(() => db.query('select 1')))
  }
  return { awake, afterIdle: stats(idled) }
}

/** Streams the whole history of a practice as CSV through the app, beside PostgreSQL's own COPY of the same rows. */
async function measureExport (db: pg.Client, baseUrl: string, cookie: string, pid: number, practiceGroupId: number, since: Date) {
  const watching = watchRss(pid)
  let bytes = 0
  const appMs = await timed(async () => {
    // Uncompressed, as before compression existed, so runs compare with earlier ones and with COPY; a browser gets it compressed.
    const response = await fetch(`${baseUrl}/settings/users/history/export.csv`, { headers: { cookie, 'accept-encoding': 'identity' } })
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) bytes += chunk.length
  })
  const memory = watching()
  const copyMs = await timed(async () => {
    const stream = db.query(copyTo(`copy (select occurred_at, user_name, action, page, record_type, record_id, description, url, host(ip)
      from audit_records where practice_group_id = ${Number(practiceGroupId)} and occurred_at >= '${since.toISOString()}'
      order by occurred_at desc, id desc) to stdout with (format csv, header)`))
    for await (const _chunk of stream) { /* drain */ }
  })
  return { appSeconds: appMs / 1000, copySeconds: copyMs / 1000, megabytes: bytes / 2 ** 20, rssBefore: memory.before, rssPeak: memory.peak }
}

/** Verifies one practice's whole chain in this process, timing it and watching this process's memory. */
async function measureVerification (orm: Awaited<ReturnType<typeof openUnscopedOrm>>, practiceGroupId: number) {
  const watching = watchRss()
  const loop = watchEventLoop()
  let result!: Awaited<ReturnType<typeof verifyPracticeChain>>
  const duration = await timed(async () => { result = await verifyPracticeChain(orm.em.fork(), DEFAULT_PLAN, practiceGroupId) })
  return { seconds: duration / 1000, verified: result.verified, awaitingSeal: result.awaitingSeal, intact: result.intact, longestStallMs: loop(), memory: watching() }
}

async function measureRetention (db: pg.Client, orm: Awaited<ReturnType<typeof openUnscopedOrm>>, baseUrl: string, now: Date) {
  const { rows: [group] } = await db.query<{ id: number }>("insert into practice_groups (name, time_zone, credit_balance) values ('Retention Clinic', 'Australia/Sydney', 0) returning id")
  const { rows: [user] } = await db.query<{ id: number }>(
    `insert into users (practice_group_id, name, email, password_hash, access_level, can_view_history, created_at, updated_at)
     values ($1, 'Retention Owner', 'retention@bench.invalid', $2, 'Full Access', true, now(), now()) returning id`, [group!.id, await hashPassword(PASSWORD)])
  await db.query(`insert into audit_records (practice_group_id, occurred_at, user_id, user_name, action, page, description, url, ip)
    select $1, $2::timestamptz - (n * interval '1 second'), $3, 'Retention Owner', 'view', 'Patients', 'Viewed the patient list, page ' || n, '/patients', '10.0.0.1'
      from generate_series(1, $4) n`, [group!.id, new Date(now.getTime() - 40 * DAY_MS), user!.id, RETENTION_RECORDS])
  await db.query(`insert into audit_records (practice_group_id, occurred_at, user_id, user_name, action, page, description, url, ip)
    select $1, $2::timestamptz - (n * interval '1 minute'), $3, 'Retention Owner', 'view', 'Patients', 'Recent ' || n, '/patients', '10.0.0.1'
      from generate_series(1, 5000) n`, [group!.id, now, user!.id])
  await db.query('vacuum analyze audit_records')
  const sealingMs = await timed(async () => { await sealPracticeBefore(orm.em.fork(), group!.id, now, now) })
  const reader = new HttpUser(baseUrl)
  await reader.signIn('retention@bench.invalid', PASSWORD)
  await reader.get('/settings/users/history', false)
  const reads: number[] = []
  let deleting = true
  const readLoop = (async () => {
    while (deleting) {
      reads.push(await timed(() => reader.get('/settings/users/history?sort=user&dir=asc')))
      await new Promise(resolve => setTimeout(resolve, 20))
    }
  })()
  const practice = await orm.em.fork().findOneOrFail(PracticeGroup, { id: group!.id })
  let deleted = 0
  const duration = await timed(async () => { deleted = (await purgeExpired(orm.em.fork(), DEFAULT_PLAN, practice, now, { batchSize: 5000 })).deleted })
  deleting = false
  await readLoop
  reader.close()
  return { deleted, seconds: duration / 1000, reads: stats(reads), sealingSeconds: sealingMs / 1000 }
}

main().catch((err: unknown) => {
  console.error(err)
  process.exit(1)
})
