import t from 'tap'
import pg from 'pg'
import { parseString } from 'fast-csv'
import { build } from '../helpers/app.js'
import { signedInAgent } from '../helpers/agent.js'
import { makeClinic } from '../helpers/clinic.js'
import { createdRecord } from '../helpers/records.js'
import { auditRows } from '../helpers/audit.js'
import { addRecord } from '../helpers/history.js'
import { LISTED_PER_PERSON } from '../../src/domain/access-report/access-report.js'

const ctx = await build(t)
ctx.clock.set('2026-11-25T03:00:00Z') // 14:00 on 25/11 in Sydney; no subscription, so the last 7 days are visible
const clinic = await makeClinic(ctx.em())
const other = await makeClinic(ctx.em())
const DAY = 86_400_000
const daysAgo = (days: number): Date => new Date(ctx.clock.now().getTime() - days * DAY)

const owner = await signedInAgent(ctx.app, clinic.owner.email)
const patient = (name: string): Promise<number> => createdRecord(owner, '/patients', { name, dateOfBirth: '1984-03-09', phone: '', email: '', notes: '' })
const ava = await patient('Ava Nguyen')
const ben = await patient('Ben Other')
const appointment = await createdRecord(owner, '/appointments', {
  patientId: String(ava), practitionerId: String(clinic.practitioner.id), startsAt: '2026-11-26T09:00', durationMinutes: '30', status: 'Booked', notes: ''
})
const invoice = await createdRecord(owner, '/invoices', { patientId: String(ava), issueDate: '2026-11-25', description: 'Consultation', amountCents: '85.00', status: 'Issued' })

const sam = clinic.practitioner
const riley = clinic.reception
const about = (patientId: number, recordType = 'patient', recordId = patientId) => ({ patientId, recordType, recordId: String(recordId) })
await addRecord(ctx.em(), sam, { at: daysAgo(10), page: 'Patient profile', description: 'Before the window', ...about(ava) })
await addRecord(ctx.em(), sam, { at: daysAgo(3), page: 'Patient profile', description: 'Viewed patient Ava Nguyen', ip: '10.1.0.3', ...about(ava) })
await addRecord(ctx.em(), sam, { at: daysAgo(2), page: 'Patient profile', description: 'Viewed patient Ava Nguyen', ip: '10.1.0.2', ...about(ava) })
await addRecord(ctx.em(), sam, { at: daysAgo(2), action: 'update', page: 'Appointment', description: 'Updated the appointment', ...about(ava, 'appointment', appointment) })
await addRecord(ctx.em(), sam, { at: daysAgo(1), page: 'Patient profile', description: '=HYPERLINK("http://evil.example")', ip: '10.1.0.1', ...about(ava) })
await addRecord(ctx.em(), sam, { at: daysAgo(1), page: 'Patient profile', description: 'Viewed patient Ben Other', ...about(ben) })
await addRecord(ctx.em(), riley, { at: daysAgo(1), page: 'Invoice', description: 'Viewed the invoice', ip: '10.2.0.1', ...about(ava, 'invoice', invoice) })
await addRecord(ctx.em(), riley, { at: daysAgo(1), action: 'denied', page: 'Access check', description: 'Refused POST /invoices: void', ...about(ava, 'invoice', invoice) })
await addRecord(ctx.em(), other.owner, { at: daysAgo(1), page: 'Patient profile', description: 'Another practice, same patient number', ...about(ava) })

type Summary = Record<string, Record<string, string>>

const text = (html: string): string => html.replace(/<[^>]+>/g, '').replace(/&#39;/g, "'").replace(/&quot;/g, '"').replace(/&amp;/g, '&').replace(/\s+/g, ' ').trim()

/** The summary table as a person reads it: each person's row, by column heading. */
function summary (html: string): Summary {
  const table = /<table class="data report-summary">([\s\S]*?)<\/table>/.exec(html)?.[1] ?? ''
  const headings = [...(/<thead>([\s\S]*?)<\/thead>/.exec(table)?.[1] ?? '').matchAll(/<th[^>]*>([\s\S]*?)<\/th>/g)].map(m => text(m[1]!))
  const rows: Summary = {}
  for (const row of table.matchAll(/<tr data-person="[^"]*">([\s\S]*?)<\/tr>/g)) {
    const cells = [...row[1]!.matchAll(/<t[hd][^>]*>([\s\S]*?)<\/t[hd]>/g)].map(m => text(m[1]!))
    rows[cells[0]!] = Object.fromEntries(headings.slice(1).map((heading, i) => [heading, cells[i + 1]!]))
  }
  return rows
}

/** The accesses listed under one person, newest first, as [time, action, page, what, IP]. */
function listed (html: string, person: string): string[][] {
  const section = [...html.matchAll(/<section class="report-section report-person"[\s\S]*?<\/section>/g)].map(m => m[0]).find(s => s.includes(`>${person} <`)) ?? ''
  return [...section.matchAll(/<tr data-record-id="\d+">([\s\S]*?)<\/tr>/g)].map(row => [...row[1]!.matchAll(/<td[^>]*>([\s\S]*?)<\/td>/g)].map(m => text(m[1]!)))
}

async function parseCsv (body: string): Promise<string[][]> {
  return new Promise((resolve, reject) => {
    const rows: string[][] = []
    parseString(body, { headers: false }).on('data', (row: string[]) => rows.push(row)).on('error', reject).on('end', () => resolve(rows))
  })
}

const exportsOf = (patientId: number) => auditRows(ctx.em(), clinic.group.id, "action = 'export' and patient_id = ?", [patientId])

t.test('when a user who may see the history opens a patient, then the profile offers the access report', async t => {
  t.match((await owner.get(`/patients/${ben}`)).body, `href="/patients/${ben}/access-report">Access report</a>`)
  t.match((await (await signedInAgent(ctx.app, sam.email)).get(`/patients/${ben}`)).body, 'Access report')
  const locum = await signedInAgent(ctx.app, clinic.practitionerWithoutHistory.email)
  t.notMatch((await locum.get(`/patients/${ben}`)).body, 'Access report', 'not for a user without the history permission')
})

t.test('when a Full Access user produces the report, then everyone who touched the patient is grouped with counts, first and last access', async t => {
  const response = await owner.get(`/patients/${ava}/access-report`)
  t.equal(response.statusCode, 200)
  const people = summary(response.body)
  t.same(Object.keys(people).sort(), [clinic.owner.name, riley.name, sam.name].sort(), 'no one from another practice, and nothing about another patient')
  t.same(people[sam.name], {
    'First access': '22/11/2026 14:00:00', 'Last access': '24/11/2026 14:00:00', Create: '0', View: '3', Update: '1', Denied: '0', Total: '4'
  }, 'the appointment\'s update counts toward the patient; the view before the window does not')
  t.match(people[riley.name], { View: '1', Denied: '1', Total: '2' }, 'the invoice\'s view and the denied attempt on it count')
  t.match(people[clinic.owner.name], { Create: '3', Total: '3' }, 'the patient, the appointment and the invoice created')
  t.match(response.body, /Summary: 9 accesses by 3 people/)
  t.same(listed(response.body, sam.name).map(([time, action, page, , ip]) => [time, action, page, ip]), [
    ['24/11/2026 14:00:00', 'View', 'Patient profile', '10.1.0.1'],
    ['23/11/2026 14:00:00', 'Update', 'Appointment', '203.0.113.10'],
    ['23/11/2026 14:00:00', 'View', 'Patient profile', '10.1.0.2'],
    ['22/11/2026 14:00:00', 'View', 'Patient profile', '10.1.0.3']
  ], 'each access with time, action, page and IP, newest first')
  for (const fact of [clinic.group.name, 'Ava Nguyen, born 09/03/1984', '18/11/2026 14:00 to 25/11/2026 14:00', 'Australia/Sydney', `25/11/2026 14:00 by ${clinic.owner.name}`]) {
    t.match(response.body, fact, `the document says ${fact}`)
  }
})

t.test('when a report is produced, then it is recorded as an export of the patient, with the period, and the next report lists it', async t => {
  const before = (await exportsOf(ava)).length
  await owner.get(`/patients/${ava}/access-report?from=2026-11-20&to=2026-11-24`)
  const recorded = (await exportsOf(ava)).slice(before)
  t.equal(recorded.length, 1)
  t.match(recorded[0], { user_id: clinic.owner.id, page: 'Patient > Access report', record_type: 'patient', record_id: String(ava) })
  t.equal(recorded[0]!.description, 'Produced the access report of patient Ava Nguyen for 20/11/2026 00:00 to 24/11/2026 23:59 (Australia/Sydney): 6 accesses by 2 people')
  const again = summary((await owner.get(`/patients/${ava}/access-report`)).body)
  t.match(again[clinic.owner.name], { Export: String(before + 1) }, 'producing a report is itself an access')
})

t.test('when a Practitioner with the history permission produces the report, then only their own accesses are in it', async t => {
  const practitioner = await signedInAgent(ctx.app, sam.email)
  const response = await practitioner.get(`/patients/${ava}/access-report`)
  t.equal(response.statusCode, 200)
  t.same(Object.keys(summary(response.body)), [sam.name])
  t.match(response.body, `Only the accesses of ${sam.name}`)
  const csv = await parseCsv((await practitioner.get(`/patients/${ava}/access-report.csv`)).body)
  t.same([...new Set(csv.slice(1).map(row => row[1]))], [sam.name], 'the CSV too')
})

t.test('when a user without the history permission asks for the report, then it is refused with 403 and the attempt is recorded against the patient', async t => {
  for (const user of [clinic.practitionerWithoutHistory, riley]) {
    const agent = await signedInAgent(ctx.app, user.email)
    for (const path of [`/patients/${ava}/access-report`, `/patients/${ava}/access-report.csv`]) {
      const response = await agent.get(path)
      t.equal(response.statusCode, 403, `${user.accessLevel} at ${path}`)
      t.notMatch(response.body, sam.name)
    }
  }
  const denied = await auditRows(ctx.em(), clinic.group.id, "action = 'denied' and user_id = ? and patient_id = ?", [clinic.practitionerWithoutHistory.id, ava])
  t.equal(denied.length, 2)
  t.match(summary((await owner.get(`/patients/${ava}/access-report`)).body)[clinic.practitionerWithoutHistory.name], { Denied: '2' }, 'and shows in the next report')
})

t.test('when another practice\'s patient id is asked for, then it is not found, and the attempt is recorded as denied', async t => {
  const stranger = await createdRecord(await signedInAgent(ctx.app, other.owner.email), '/patients', { name: 'Stranger Danger', notes: '' })
  for (const path of [`/patients/${stranger}/access-report`, `/patients/${stranger}/access-report.csv`, '/patients/99999999/access-report']) {
    const response = await owner.get(path)
    t.equal(response.statusCode, 404, path)
    t.notMatch(response.body, 'Stranger Danger')
  }
  const denied = await auditRows(ctx.em(), clinic.group.id, "action = 'denied' and user_id = ? and record_id = ?", [clinic.owner.id, String(stranger)])
  t.equal(denied.length, 2)
})

t.test('when a period is chosen, then only accesses within its days count', async t => {
  const response = await owner.get(`/patients/${ava}/access-report?from=2026-11-23&to=2026-11-23`)
  t.equal(response.statusCode, 200)
  t.same(summary(response.body), { [sam.name]: { 'First access': '23/11/2026 14:00:00', 'Last access': '23/11/2026 14:00:00', View: '1', Update: '1', Total: '2' } })
  t.match(response.body, '23/11/2026 00:00 to 23/11/2026 23:59')
  const early = summary((await owner.get(`/patients/${ava}/access-report?from=2026-01-01&to=2026-11-22`)).body)
  t.same(early[sam.name], { 'First access': '22/11/2026 14:00:00', 'Last access': '22/11/2026 14:00:00', View: '1', Total: '1' }, 'a From before the window starts at the window')
})

t.test('when the dates cannot be read, then the page explains it in place with a 400, and nothing is produced', async t => {
  const before = (await exportsOf(ava)).length
  const cases: [string, RegExp][] = [
    ['from=2026-02-30', /From: &quot;2026-02-30&quot; is not a date\. Use the form 2026-11-25\./],
    ['to=25%2F11%2F2026', /To: &quot;25\/11\/2026&quot; is not a date/],
    ['from=2026-11-24&to=2026-11-20', /The From date must not be after the To date\./],
    ['to=2026-11-01', /The To date is before 18\/11\/2026 14:00, where the history you can see begins\./],
    ['from=2026-12-01', /The From date is in the future/],
    ['from=2026-11-25T09:30', /is not a date/]
  ]
  for (const [query, message] of cases) {
    const response = await owner.get(`/patients/${ava}/access-report?${query}`)
    t.equal(response.statusCode, 400, query)
    t.match(response.body, message, query)
    t.match(response.body, /<form class="report-period/, 'with the form to correct it')
    t.notMatch(response.body, 'report-summary', 'and no report')
    const csv = await owner.get(`/patients/${ava}/access-report.csv?${query}`)
    t.equal(csv.statusCode, 400, `CSV ${query}`)
  }
  for (const query of [`from=${'9'.repeat(100)}`, 'from=a&from=b']) {
    t.equal((await owner.get(`/patients/${ava}/access-report?${query}`)).statusCode, 400, query)
  }
  t.equal((await exportsOf(ava)).length, before, 'no report was recorded as produced')
  const opened = await auditRows(ctx.em(), clinic.group.id, "action = 'view' and page = 'Patient > Access report' and patient_id = ?", [ava])
  t.equal(opened.length, cases.length, 'each page naming the patient is recorded as viewed')
})

t.test('when the report is downloaded as CSV, then it has one formula-inert row per access, with the person, and is recorded first', async t => {
  const before = (await exportsOf(ava)).length
  const response = await owner.get(`/patients/${ava}/access-report.csv?from=2026-11-20&to=2026-11-24`)
  t.equal(response.statusCode, 200)
  t.match(response.headers['content-type'], 'text/csv')
  t.match(response.headers['content-disposition'], `attachment; filename="access-report-patient-${ava}-2026-11-25.csv"`)
  const [header, ...rows] = await parseCsv(response.body)
  t.same(header, ['Date', 'User', 'Action', 'Page', 'Record type', 'ID', 'Description', 'URL', 'IP Address'])
  t.same(rows.map(row => [row[1], row[2], row[4]]), [
    [riley.name, 'denied', 'invoice'], [riley.name, 'view', 'invoice'],
    [sam.name, 'view', 'patient'], [sam.name, 'update', 'appointment'], [sam.name, 'view', 'patient'], [sam.name, 'view', 'patient']
  ].sort((a, b) => a[0]!.localeCompare(b[0]!)), 'grouped by person, newest first')
  t.ok(rows.some(row => row[6] === '\'=HYPERLINK("http://evil.example")'), 'a formula is made inert')
  t.ok(rows.every(row => row[0]!.endsWith('+11:00')), 'dates in the practice\'s time zone')
  const recorded = (await exportsOf(ava)).slice(before)
  t.equal(recorded.length, 1)
  t.equal(recorded[0]!.description, 'Exported the access report of patient Ava Nguyen for 20/11/2026 00:00 to 24/11/2026 23:59 (Australia/Sydney) as CSV: 6 accesses')
})

t.test(`when a person has more than ${LISTED_PER_PERSON} accesses, then the newest are listed with a note, and the counts and the CSV cover them all`, async t => {
  const busy = await patient('Busy Patient')
  for (let i = 0; i < LISTED_PER_PERSON + 5; i++) {
    await addRecord(ctx.em(), sam, { at: new Date(daysAgo(2).getTime() + i * 60_000), page: 'Patient profile', description: `Look ${i}`, ...about(busy) })
  }
  const response = await owner.get(`/patients/${busy}/access-report`)
  t.match(summary(response.body)[sam.name], { View: String(LISTED_PER_PERSON + 5), Total: String(LISTED_PER_PERSON + 5) })
  const rows = listed(response.body, sam.name)
  t.equal(rows.length, LISTED_PER_PERSON)
  t.equal(rows[0]![3], `Look ${LISTED_PER_PERSON + 4}`, 'the newest first')
  t.match(response.body, `The newest ${LISTED_PER_PERSON} of ${LISTED_PER_PERSON + 5} accesses are listed here; the CSV lists every one.`)
  const csv = await parseCsv((await owner.get(`/patients/${busy}/access-report.csv`)).body)
  t.equal(csv.filter(row => row[1] === sam.name).length, LISTED_PER_PERSON + 5)
})

t.test('when producing the report cannot be recorded, then neither the page nor the CSV is sent', async t => {
  const db = new pg.Client({ connectionString: ctx.databaseUrl })
  await db.connect()
  t.teardown(() => db.end())
  await db.query(`create function refuse_report_record() returns trigger language plpgsql as $$
    begin
      if new.page = 'Patient > Access report' then raise exception 'injected fault: history unavailable'; end if;
      return new;
    end $$`)
  await db.query('create trigger refuse_report_record before insert on audit_records for each row execute function refuse_report_record()')
  t.teardown(() => db.query('drop trigger refuse_report_record on audit_records'))
  for (const path of [`/patients/${ava}/access-report`, `/patients/${ava}/access-report.csv`]) {
    const response = await owner.get(path)
    t.equal(response.statusCode, 503, path)
    t.match(response.body, 'could not be recorded in the User Action History')
    t.notMatch(response.body, sam.name, 'nothing of the report is shown')
  }
})

t.test('when the practice has no subscription, then the report\'s "subscribe" is a link: to the purchase for Full Access users, to the add-on\'s page for others', async t => {
  const link = (path: string): string => `Showing the last 7 days — <a href="${path}">subscribe to see more</a>.`
  t.match((await owner.get(`/patients/${ava}/access-report`)).body, link('/settings/add-ons/subscribe'))
  const practitioner = await signedInAgent(ctx.app, sam.email)
  t.match((await practitioner.get(`/patients/${ava}/access-report`)).body, link('/settings/add-ons'))
})
