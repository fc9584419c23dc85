import t from 'tap'
import { parseString } from 'fast-csv'
import { build } from '../helpers/app.js'
import { signedInAgent } from '../helpers/agent.js'
import { makeClinic } from '../helpers/clinic.js'
import { auditRows } from '../helpers/audit.js'
import { addRecord, shownRows } from '../helpers/history.js'
import { seededRandom } from '../../src/seed/everyday-use.js'

const ctx = await build(t)
ctx.clock.set('2026-11-25T03:00:00Z')
const clinic = await makeClinic(ctx.em())
const other = await makeClinic(ctx.em())

async function parseCsv (text: string): Promise<string[][]> {
  return new Promise((resolve, reject) => {
    const rows: string[][] = []
    parseString(text, { headers: false })
      .on('data', (row: string[]) => rows.push(row))
      .on('error', reject)
      .on('end', () => resolve(rows))
  })
}

/** What a person gets back from a cell: the cell without the one apostrophe the export may have put in front. */
const original = (cell: string): string => cell.startsWith("'") ? cell.slice(1) : cell

t.test('the CSV export carries exactly the filtered, sorted view, all pages, and is recorded with its filters and count', async t => {
  for (let i = 0; i < 60; i++) {
    await addRecord(ctx.em(), clinic.practitioner, {
      at: new Date(Date.parse('2026-11-24T00:00:00Z') + i * 60_000), action: i % 3 === 0 ? 'update' : 'view',
      description: `Export row ${String(i).padStart(2, '0')}`, ip: '10.1.0.1'
    })
  }
  const owner = await signedInAgent(ctx.app, clinic.owner.email)
  const query = 'action=view&ip=10.0.0.0%2F8&sort=description&dir=asc'
  const shown = []
  for (const page of [1, 2]) shown.push(...shownRows((await owner.get(`/settings/users/history?${query}&size=25&page=${page}`, { 'hx-request': 'true' })).body))
  const response = await owner.get(`/settings/users/history/export.csv?${query}`)
  t.equal(response.statusCode, 200)
  t.match(response.headers['content-type'], 'text/csv')
  t.match(response.headers['content-disposition'], /attachment; filename="user-action-history-2026-11-25\.csv"/)
  const [header, ...rows] = await parseCsv(response.body)
  t.same(header, ['Date', 'User', 'Action', 'Page', 'Record type', 'ID', 'Description', 'URL', 'IP Address'])
  t.equal(rows.length, 40, 'every page, not just the first')
  t.same(rows.map(r => original(r[6]!)), shown.map(r => r.description), 'the same rows in the same order as the table')
  t.equal(rows[0]![0], '2026-11-24T11:01:00+11:00', 'dates in the practice time zone, with the offset')
  const [recorded] = await auditRows(ctx.em(), clinic.group.id, "action = 'export'")
  t.match(recorded, { user_id: clinic.owner.id, page: 'Settings > Users > History' })
  t.match(recorded!.description, 'Exported 40 records as CSV from User Action History (action=view, ip=10.0.0.0/8, sort=description, dir=asc)')
})

t.test('NDJSON has one JSON object per record with stable field names and UTC dates', async t => {
  const owner = await signedInAgent(ctx.app, clinic.owner.email)
  const response = await owner.get('/settings/users/history/export.ndjson?action=update')
  t.equal(response.statusCode, 200)
  t.match(response.headers['content-type'], 'application/x-ndjson')
  const lines = response.body.trim().split('\n').map(line => JSON.parse(line) as Record<string, unknown>)
  t.equal(lines.length, 20)
  t.same(Object.keys(lines[0]!), ['id', 'occurredAt', 'userId', 'userName', 'action', 'page', 'recordType', 'recordId', 'description', 'url', 'ip', 'changes'])
  t.match(lines[0]!.occurredAt, /^2026-11-24T00:57:00\.000Z$/)
})

t.test('property: random text survives the CSV exactly and never starts a live formula', async t => {
  const c = await makeClinic(ctx.em())
  const random = seededRandom(4242)
  const alphabet = ['=', '+', '-', '@', '\t', '\r', '\n', '"', ',', "'", ';', ' ', 'a', 'Z', '1', 'é', '漢', '\\', '|', '%']
  const texts = Array.from({ length: 300 }, (_, i) => {
    const length = 1 + Math.floor(random() * 12)
    return `${Array.from({ length }, () => alphabet[Math.floor(random() * alphabet.length)]).join('')}${i % 7 === 0 ? '=cmd|x' : ''}`
  })
  for (const [i, text] of texts.entries()) {
    await addRecord(ctx.em(), c.reception, { at: new Date(Date.parse('2026-11-20T00:00:00Z') + i * 1000), description: text, url: `/x?${text}` })
  }
  const owner = await signedInAgent(ctx.app, c.owner.email)
  const response = await owner.get('/settings/users/history/export.csv?pageName=Patients&sort=date&dir=asc')
  const [, ...rows] = await parseCsv(response.body)
  t.equal(rows.length, texts.length)
  let live = 0
  let changed = 0
  for (const [i, row] of rows.entries()) {
    for (const cell of row) if (/^[=+\-@\t\r]/.test(cell)) live++
    if (original(row[6]!) !== texts[i] || original(row[7]!) !== `/x?${texts[i]}`) changed++
  }
  t.equal(live, 0, 'no cell starts with = + - @ tab or CR')
  t.equal(changed, 0, 'every description and URL parses back to the original text')
})

t.test("another practice's records cannot be exported by any parameter, and bad filters export nothing", async t => {
  const owner = await signedInAgent(ctx.app, clinic.owner.email)
  await addRecord(ctx.em(), other.owner, { at: '2026-11-24T00:00:00Z', description: 'Secret of the other practice' })
  const everything = await owner.get('/settings/users/history/export.ndjson')
  t.notMatch(everything.body, 'Secret of the other practice')
  t.equal((await owner.get(`/settings/users/history/export.csv?user=${other.owner.id}`)).statusCode, 400)
  const bad = await owner.get('/settings/users/history/export.csv?ip=999.1.1.1')
  t.equal(bad.statusCode, 400)
  t.match(bad.body, 'Nothing was exported')
  t.equal((await owner.get('/settings/users/history/export.xlsx')).statusCode, 400)
  const practitioner = await signedInAgent(ctx.app, clinic.practitionerWithoutHistory.email)
  t.equal((await practitioner.get('/settings/users/history/export.csv')).statusCode, 403)
  const sam = await signedInAgent(ctx.app, clinic.practitioner.email)
  const own = (await sam.get('/settings/users/history/export.ndjson')).body.trim().split('\n').map(line => JSON.parse(line) as { userId: number })
  t.ok(own.every(r => r.userId === clinic.practitioner.id), 'a Practitioner exports only their own records')
})

t.test('filter values that look like SQL are only ever data in the export', async t => {
  const c = await makeClinic(ctx.em())
  const tricky = "it's a \\ back'slash'); drop table audit_records; --"
  await addRecord(ctx.em(), c.reception, { at: '2026-11-24T00:00:00Z', description: tricky })
  await addRecord(ctx.em(), c.reception, { at: '2026-11-24T00:01:00Z', description: 'plain' })
  const owner = await signedInAgent(ctx.app, c.owner.email)
  const response = await owner.get(`/settings/users/history/export.csv?description=${encodeURIComponent("back'slash'); drop")}&id=&url=`)
  t.equal(response.statusCode, 200)
  const [, ...rows] = await parseCsv(response.body)
  t.same(rows.map(r => original(r[6]!)), [tricky])
  t.ok((await auditRows(ctx.em(), c.group.id)).length > 0, 'the history is still there')
})
