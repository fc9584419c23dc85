import t from 'tap'
import { createHash } from 'node:crypto'
import http from 'node:http'
import { unzipSync, strFromU8 } from 'fflate'
import { parseString } from 'fast-csv'
import { build } from '../helpers/app.js'
import { signedInAgent } from '../helpers/agent.js'
import { makeClinic } from '../helpers/clinic.js'
import { addRecord } from '../helpers/history.js'
import { actorAt, subscribeAt } from '../helpers/subscriptions.js'
import { activeSubscription, setAutoRenew } from '../../src/domain/subscriptions/subscription.service.js'
import { runScheduledJob } from '../../src/domain/scheduled-job/scheduled-job.js'

const DAY = 86_400_000
const ctx = await build(t)
ctx.clock.set('2026-10-01T00:00:00Z')

const clinic = await makeClinic(ctx.em(), { creditBalance: 1000 })
await subscribeAt(ctx.em(), clinic.owner, '2026-10-01T00:00:00Z') // the window opens 01/09/2026
await setAutoRenew(ctx.em(), actorAt(clinic.owner, '2026-10-01T00:05:00Z'), false)
const periodEnd = (await activeSubscription(ctx.em(), clinic.group.id))!.currentPeriodEnd
const cutoff = new Date(periodEnd.getTime() - 30 * DAY)
await addRecord(ctx.em(), clinic.owner, { at: '2026-09-05T01:00:00Z', description: 'Oldest, with "quotes", a comma and =SUM(A1)' })
await addRecord(ctx.em(), clinic.practitioner, { at: '2026-09-20T01:00:00Z', description: 'The practitioner, long ago' })
await addRecord(ctx.em(), clinic.owner, { at: new Date(cutoff.getTime() - 1000), description: 'One second before the cut' })
await addRecord(ctx.em(), clinic.owner, { at: cutoff, description: 'Exactly at the cut, so kept' })
await addRecord(ctx.em(), clinic.owner, { at: '2026-10-20T01:00:00Z', description: 'Recent enough to stay' })
ctx.clock.set(new Date(periodEnd.getTime() - 3 * DAY))

interface Archive { files: Record<string, string>, raw: Record<string, Uint8Array> }
function unzip (body: Buffer): Archive {
  const raw = unzipSync(new Uint8Array(body))
  return { raw, files: Object.fromEntries(Object.entries(raw).map(([name, bytes]) => [name, strFromU8(bytes)])) }
}
async function csvRows (text: string): Promise<Record<string, string>[]> {
  const rows: Record<string, string>[] = []
  await new Promise<void>((resolve, reject) => parseString(text, { headers: true }).on('data', (row: Record<string, string>) => rows.push(row)).on('end', () => resolve()).on('error', reject))
  return rows
}

const owner = await signedInAgent(ctx.app, clinic.owner.email)

t.test('the banner says exactly how many records go, from when to when, and when', async t => {
  const page = await owner.get('/settings/add-ons')
  const [{ n }] = await ctx.em().getConnection().execute<{ n: string }[]>(
    'select count(*) as n from audit_records where practice_group_id = ? and occurred_at < ?', [clinic.group.id, cutoff])
  t.ok(Number(n) >= 4, 'the seeded old records and the purchase itself')
  t.match(page.body, new RegExp(`Then <strong>${n} records</strong>, from 05/09/2026 11:00 to \\d\\d/\\d\\d/2026 \\d\\d:\\d\\d \\(everything before \\d\\d/\\d\\d/2026 \\d\\d:\\d\\d\\), will be permanently deleted\\.`))
  t.match(page.body, '<a class="button" href="/settings/users/history/archive.zip" download hx-boost="false">Download an archive of them first</a>')
  const history = await owner.get('/settings/users/history')
  t.match(history.body, 'Download an archive of them first', 'the history pages offer it too')
})

t.test('the archive holds exactly what the expiry then deletes, with a manifest whose hashes match', async t => {
  const response = await owner.get('/settings/users/history/archive.zip')
  t.equal(response.statusCode, 200)
  t.equal(response.headers['content-type'], 'application/zip')
  t.match(response.headers['content-disposition'], /attachment; filename="user-action-history-before-2026-10-\d\d\.zip"/)
  const archive = unzip(response.rawPayload)
  t.same(Object.keys(archive.files).sort(), ['SHA256SUMS', 'manifest.json', 'records.csv', 'records.ndjson'])
  for (const line of archive.files.SHA256SUMS!.trim().split('\n')) {
    const [sum, name] = line.split('  ') as [string, string]
    t.equal(createHash('sha256').update(archive.raw[name]!).digest('hex'), sum, `${name} matches SHA256SUMS`)
  }
  const manifest = JSON.parse(archive.files['manifest.json']!)
  t.equal(manifest.recordsBefore, cutoff.toISOString())
  t.equal(manifest.subscriptionExpiresAt, periodEnd.toISOString())

  const ndjson = archive.files['records.ndjson']!.trim().split('\n').map(line => JSON.parse(line))
  const csv = await csvRows(archive.files['records.csv']!)
  t.equal(manifest.records, ndjson.length)
  t.equal(csv.length, ndjson.length)
  t.same(manifest.files.map((f: { name: string, records: number }) => [f.name, f.records]), [['records.csv', ndjson.length], ['records.ndjson', ndjson.length]])
  const descriptions = ndjson.map(r => r.description)
  t.ok(descriptions.includes('One second before the cut'))
  t.notOk(descriptions.includes('Exactly at the cut, so kept'))
  t.notOk(descriptions.includes('Recent enough to stay'))
  t.ok(csv.some(r => r.Description === 'Oldest, with "quotes", a comma and =SUM(A1)'), 'CSV quoting survives the zip')

  const [recorded] = await ctx.em().getConnection().execute<{ description: string }[]>(
    "select description from audit_records where practice_group_id = ? and action = 'export' order by id desc limit 1", [clinic.group.id])
  t.match(recorded?.description, `Archived ${ndjson.length} records from before`)

  const archivedIds = ndjson.map(r => r.id).sort()
  const before = await ctx.em().getConnection().execute<{ id: string }[]>('select id from audit_records where practice_group_id = ?', [clinic.group.id])
  ctx.clock.set(periodEnd) // the job's first run at the period's end; later runs go on deleting records as they turn 30 days old, as for any free practice
  const report = await runScheduledJob(ctx.keeper, ctx.plan, ctx.clock)
  t.equal(report.practices.find(p => p.practiceGroupId === clinic.group.id)?.expiredAt?.getTime(), periodEnd.getTime(), 'the subscription expired')
  const after = new Set((await ctx.em().getConnection().execute<{ id: string }[]>('select id from audit_records where practice_group_id = ?', [clinic.group.id])).map(r => String(r.id)))
  const deleted = before.map(r => String(r.id)).filter(id => !after.has(id)).sort()
  t.same(deleted, archivedIds, 'exactly the archived records were deleted, no more and no fewer')
})

t.test('who may download what', async t => {
  const other = await makeClinic(ctx.em(), { creditBalance: 1000 })
  ctx.clock.set('2026-10-01T00:00:00Z')
  await subscribeAt(ctx.em(), other.owner, '2026-10-01T00:00:00Z')
  await addRecord(ctx.em(), other.owner, { at: '2026-09-05T01:00:00Z', description: 'Owner, long ago' })
  await addRecord(ctx.em(), other.practitioner, { at: '2026-09-06T01:00:00Z', description: 'Practitioner, long ago' })
  ctx.clock.set('2026-10-25T00:00:00Z')

  const practitioner = await signedInAgent(ctx.app, other.practitioner.email)
  const own = unzip((await practitioner.get('/settings/users/history/archive.zip')).rawPayload)
  const theirs = own.files['records.ndjson']!.trim().split('\n').map(line => JSON.parse(line))
  t.same([...new Set(theirs.map(r => r.userId))], [other.practitioner.id], 'without Full Access: only their own records, as in the history')

  const locum = await signedInAgent(ctx.app, other.practitionerWithoutHistory.email)
  t.equal((await locum.get('/settings/users/history/archive.zip')).statusCode, 403)

  const free = await makeClinic(ctx.em())
  const freeOwner = await signedInAgent(ctx.app, free.owner.email)
  const refused = await freeOwner.get('/settings/users/history/archive.zip')
  t.equal(refused.statusCode, 409)
  t.match(refused.body, 'There is no active subscription whose end would delete records')
})

t.test('abandoned downloads hand their database connections back', async t => {
  const big = await makeClinic(ctx.em(), { creditBalance: 1000 })
  ctx.clock.set('2026-10-01T00:00:00Z')
  await subscribeAt(ctx.em(), big.owner, '2026-10-01T00:00:00Z')
  await ctx.em().getConnection().execute(`insert into audit_records (practice_group_id, occurred_at, user_id, user_name, action, page, description, url)
    select ?, '2026-09-10T00:00:00Z'::timestamptz + n * interval '1 second', ?, ?, 'view', 'Patients', 'Viewed the patient list, page ' || n, '/patients'
    from generate_series(1, 30000) n`, [big.group.id, big.owner.id, big.owner.name])
  ctx.clock.set('2026-10-25T00:00:00Z')
  const agent = await signedInAgent(ctx.app, big.owner.email)
  const address = await ctx.app.listen({ port: 0, host: '127.0.0.1' })
  const abandonOne = async (): Promise<void> => new Promise((resolve, reject) => {
    const request = http.get(`${address}/settings/users/history/archive.zip`, { headers: { cookie: agent.cookieHeader } }, response => {
      response.once('data', () => {
        request.destroy()
        resolve()
      })
    })
    request.on('error', err => { if (!request.destroyed) reject(err) })
  })
  for (let i = 0; i < 8; i++) await abandonOne() // more than the pool holds
  await new Promise(resolve => setTimeout(resolve, 500))
  const [{ n }] = await ctx.em().getConnection().execute<{ n: string }[]>(
    "select count(*) as n from pg_stat_activity where datname = current_database() and state = 'idle in transaction'")
  t.equal(Number(n), 0, 'no connection is left inside an export\'s transaction')
  const after = await agent.get('/settings/users/history')
  t.equal(after.statusCode, 200, 'and the app still answers')
  const whole = await agent.get('/settings/users/history/archive.zip')
  t.equal(JSON.parse(strFromU8(unzipSync(new Uint8Array(whole.rawPayload))['manifest.json']!)).records > 30000, true, 'a complete download still works')
})
