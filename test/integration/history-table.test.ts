import t from 'tap'
import { build } from '../helpers/app.js'
import { signedInAgent, type Agent } from '../helpers/agent.js'
import { makeClinic } from '../helpers/clinic.js'
import { makeUser, unique } from '../../src/seed/factories.js'
import { addRecord, shownRange, shownRows } from '../helpers/history.js'

const ctx = await build(t)
ctx.clock.set('2026-11-25T03:00:00Z') // 14:00 in Sydney
const clinic = await makeClinic(ctx.em())
const em = ctx.em()
const [ann, zed] = [
  await makeUser(em, clinic.group, { name: `Ann ${unique('a')}`, accessLevel: 'Reception' }),
  await makeUser(em, clinic.group, { name: `Zed ${unique('z')}`, accessLevel: 'Reception' })
]

// A small, known history: times in Sydney are given beside each record.
const at = (iso: string): Date => new Date(iso)
await addRecord(em, ann, { at: at('2026-11-24T22:00:00Z'), action: 'view', page: 'Patient profile', recordType: 'patient', recordId: '7', description: 'Viewed patient Mia 100% Jones', url: '/patients/7', ip: '10.1.2.3' }) // 25/11 09:00
await addRecord(em, zed, { at: at('2026-11-24T23:00:00Z'), action: 'update', page: 'Appointment', recordType: 'appointment', recordId: '12', description: 'Changed appointment: Status: Booked → Arrived', url: '/appointments/12', ip: '10.9.0.1' }) // 10:00
await addRecord(em, ann, { at: at('2026-11-23T01:00:00Z'), action: 'delete', page: 'Invoice', recordType: 'invoice', recordId: '3', description: 'Deleted invoice 3', url: '/invoices/3/delete', ip: '192.168.4.20' }) // 23/11 12:00
await addRecord(em, zed, { at: at('2026-11-23T01:00:00Z'), action: 'view', page: 'Patient profile', recordType: 'patient', recordId: '7', description: 'viewed PATIENT mia jones again', url: '/patients/7?tab=notes', ip: '2001:db8::5' }) // same instant
await addRecord(em, ann, { at: at('2026-11-21T05:00:00Z'), action: 'login', page: 'Sign in', description: 'Signed in', url: '/login', ip: '10.1.2.4' }) // 21/11 16:00

const owner: Agent = await signedInAgent(ctx.app, clinic.owner.email)
const OURS = `(user=${ann.id}&user=${zed.id})`
const fragment = async (query: string) => owner.get(`/settings/users/history?user=${ann.id}&user=${zed.id}${query ? `&${query}` : ''}`, { 'hx-request': 'true' })
const descriptions = async (query: string): Promise<string[]> => {
  const response = await fragment(query)
  if (response.statusCode !== 200) throw new Error(`${query} answered ${response.statusCode}: ${response.body.slice(0, 500)}`)
  return shownRows(response.body).map(row => row.description)
}

await owner.get('/settings/users/history')

/** A column's sort button: its accessible name and the query its form sends. */
function sortButton (html: string, column: string): { name: string, asks: string } {
  const form = new RegExp(`<th scope="col" class="col-${column}"[\\s\\S]*?<form[^>]*class="sort-form">([\\s\\S]*?)</form>`).exec(html)![1]!
  const asks = [...form.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)].map(([, name, value]) => `${name}=${value}`).join('&')
  return { name: /<button[^>]*aria-label="([^"]+)"/.exec(form)![1]!, asks }
}

t.test('unsorted lists newest first; ties break newest first', async t => {
  t.same(await descriptions(''), [
    'Changed appointment: Status: Booked → Arrived', 'Viewed patient Mia 100% Jones', 'viewed PATIENT mia jones again', 'Deleted invoice 3', 'Signed in'
  ], OURS)
})

t.test('each column sorts ascending and descending, with arrows and aria-sort', async t => {
  t.same(await descriptions('sort=date&dir=asc'), ['Signed in', 'Deleted invoice 3', 'viewed PATIENT mia jones again', 'Viewed patient Mia 100% Jones', 'Changed appointment: Status: Booked → Arrived'],
    'oldest first: the usual order reversed, records of the same instant included')
  t.same((await descriptions('sort=user&dir=asc')).slice(0, 3), ['Viewed patient Mia 100% Jones', 'Deleted invoice 3', 'Signed in'], 'Ann first, her newest first')
  t.same((await descriptions('sort=user&dir=desc')).slice(0, 2), ['viewed PATIENT mia jones again', 'Changed appointment: Status: Booked → Arrived'], 'Zed first, his oldest first: the ascending list reversed')
  for (const column of ['date', 'user', 'action', 'page', 'id', 'description', 'url', 'ip']) {
    t.same(await descriptions(`sort=${column}&dir=desc`), (await descriptions(`sort=${column}&dir=asc`)).reverse(), `${column}: descending is ascending read backwards`)
  }
  t.same(await descriptions('sort=action&dir=asc'), ['Deleted invoice 3', 'Signed in', 'Changed appointment: Status: Booked → Arrived', 'Viewed patient Mia 100% Jones', 'viewed PATIENT mia jones again'])
  t.same((await descriptions('sort=ip&dir=asc')).slice(0, 3), ['Viewed patient Mia 100% Jones', 'Signed in', 'Changed appointment: Status: Booked → Arrived'], '10.1.2.3 < 10.1.2.4 < 10.9.0.1')
  t.same((await descriptions('sort=page&dir=desc'))[0], 'Signed in')
  t.same((await descriptions('sort=id&dir=asc')).slice(0, 2), ['Deleted invoice 3', 'Viewed patient Mia 100% Jones'], 'IDs in number order: 3, 7, 12')
  t.same((await descriptions('sort=id&dir=desc')).slice(0, 2), ['Signed in', 'Changed appointment: Status: Booked → Arrived'], 'descending: rows without an ID, then 12')
  t.same((await descriptions('sort=description&dir=asc'))[0], 'Changed appointment: Status: Booked → Arrived')
  t.same((await descriptions('sort=url&dir=desc'))[0], 'viewed PATIENT mia jones again')

  const page = (await fragment('sort=user&dir=asc')).body
  t.match(page, /<th scope="col" class="col-user" aria-sort="ascending">/)
  t.match(page, /data-arrow="up"/)
  t.same(sortButton(page, 'user'), { name: 'User, sort descending', asks: `user=${ann.id}&user=${zed.id}&sort=user&dir=desc` }, 'the next press sorts descending')
  const descending = (await fragment('sort=user&dir=desc')).body
  t.match(descending, /aria-sort="descending"/)
  t.match(descending, /data-arrow="down"/)
  t.same(sortButton(descending, 'user'), { name: 'User, sort by date, newest first', asks: `user=${ann.id}&user=${zed.id}` }, 'then back to newest first')
})

t.test('the usual order is said to be by date, newest first, and the date heading switches between newest and oldest first', async t => {
  const usual = (await fragment('')).body
  t.match(usual, /<th scope="col" class="col-date" aria-sort="descending">/)
  t.equal(usual.match(/aria-sort="(ascending|descending)"/g)?.length, 1, 'no other column is said to be sorted')
  t.equal(usual.match(/data-arrow="down"/g)?.length, 1, 'one arrow, on Date')
  t.same(sortButton(usual, 'date'), { name: 'Date, sort oldest first', asks: `user=${ann.id}&user=${zed.id}&sort=date&dir=asc` })
  t.same(sortButton(usual, 'user'), { name: 'User, sort ascending', asks: `user=${ann.id}&user=${zed.id}&sort=user&dir=asc` })
  const oldest = (await fragment('sort=date&dir=asc')).body
  t.match(oldest, /<th scope="col" class="col-date" aria-sort="ascending">/)
  t.same(sortButton(oldest, 'date'), { name: 'Date, sort newest first', asks: `user=${ann.id}&user=${zed.id}` }, 'back to the usual order, one address for it')
  t.same(sortButton((await fragment('sort=date&dir=desc')).body, 'date'), { name: 'Date, sort oldest first', asks: `user=${ann.id}&user=${zed.id}&sort=date&dir=asc` },
    'newest first spelled out is the usual order too')
})

t.test('IP addresses sort as addresses, not as text', async t => {
  const c = await makeClinic(ctx.em())
  for (const ip of ['10.10.0.1', '10.9.0.1', '9.0.0.1']) await addRecord(ctx.em(), c.reception, { at: '2026-11-25T00:00:00Z', ip, description: ip })
  const agent = await signedInAgent(ctx.app, c.owner.email)
  const rows = shownRows((await agent.get('/settings/users/history?sort=ip&dir=asc&pageName=Patients', { 'hx-request': 'true' })).body)
  t.same(rows.map(r => r.ip), ['9.0.0.1', '10.9.0.1', '10.10.0.1'])
})

t.test('filters narrow the list and combine', async t => {
  t.same(await descriptions('action=view'), ['Viewed patient Mia 100% Jones', 'viewed PATIENT mia jones again'])
  t.same(await descriptions('action=view&action=delete'), ['Viewed patient Mia 100% Jones', 'viewed PATIENT mia jones again', 'Deleted invoice 3'])
  t.same(await descriptions('description=MIA%20JONES'), ['viewed PATIENT mia jones again'], 'contains, any case')
  t.same(await descriptions('description=100%25'), ['Viewed patient Mia 100% Jones'], '% is a character, not a wildcard')
  t.same(await descriptions('url=TAB%3D'), ['viewed PATIENT mia jones again'])
  t.same(await descriptions('id=7'), ['Viewed patient Mia 100% Jones', 'viewed PATIENT mia jones again'])
  t.same(await descriptions('id=1'), [], 'the ID matches exactly')
  t.same(await descriptions('pageName=Invoice'), ['Deleted invoice 3'])
  t.same(await descriptions('ip=10.1.2.3'), ['Viewed patient Mia 100% Jones'])
  t.same(await descriptions('ip=10.1.0.0%2F16'), ['Viewed patient Mia 100% Jones', 'Signed in'])
  t.same(await descriptions('ip=2001:db8::%2F32'), ['viewed PATIENT mia jones again'])
  t.same(await descriptions('action=view&ip=10.0.0.0%2F8&from=2026-11-25T00:00'), ['Viewed patient Mia 100% Jones'], 'three filters together')
  t.same(await descriptions('from=2026-11-23T12:00&to=2026-11-25T09:00'), ['Viewed patient Mia 100% Jones', 'viewed PATIENT mia jones again', 'Deleted invoice 3'], 'From and To include their minute, in Sydney time')
  t.same(await descriptions('from=2026-11-23&to=2026-11-23'), ['viewed PATIENT mia jones again', 'Deleted invoice 3'], 'a date alone means the whole day')
  t.same(await descriptions('range=today'), ['Changed appointment: Status: Booked → Arrived', 'Viewed patient Mia 100% Jones'], "today is Sydney's today")
  t.same(await descriptions('range=yesterday'), [])
  t.same(await descriptions('range=last-7-days'), (await descriptions('')))
  t.same(await descriptions('range=this-month'), (await descriptions('')))
})

t.test("a Practitioner is offered only the pages of their own records", async t => {
  await addRecord(ctx.em(), clinic.practitioner, { at: '2026-11-25T00:00:00Z', page: 'Invoices', description: 'Viewed the invoice list' })
  const practitioner = await signedInAgent(ctx.app, clinic.practitioner.email)
  const page = await practitioner.get('/settings/users/history')
  t.match(page.body, '<option>Invoices</option>')
  t.notMatch(page.body, '<option>Invoice</option>', "a colleague's page is not offered")
  t.equal((await practitioner.get('/settings/users/history?pageName=Invoice')).statusCode, 400)
})

t.test('the Date filter starts from the preset range that is shown', async t => {
  const body = (await fragment('range=today')).body
  t.match(body, 'name="from" value="2026-11-25T00:00"')
  t.match(body, 'name="to" value="2026-11-25T23:59"')
})

t.test('active filters show as chips, each removable, with Clear all', async t => {
  const body = (await owner.get(`/settings/users/history?action=view&ip=10.0.0.0%2F8&description=mia`, { 'hx-request': 'true' })).body
  t.match(body, 'Action: View')
  t.match(body, 'IP Address: 10.0.0.0/8')
  t.match(body, 'Description: contains &quot;mia&quot;')
  t.match(body, 'aria-label="Remove filter IP Address: 10.0.0.0/8"')
  t.match(body, /href="\/settings\/users\/history\?action=view&amp;description=mia" aria-label="Remove filter IP Address/, 'removing one keeps the others')
  t.match(body, /<a class="clear-all" id="clear-all-filters" href="\/settings\/users\/history">Clear all<\/a>/)
})

t.test('pages: sizes, the range and total, stable paging, and a page past the end', async t => {
  const c = await makeClinic(ctx.em())
  for (let i = 0; i < 60; i++) {
    await addRecord(ctx.em(), c.practitioner, { at: new Date(Date.parse('2026-11-24T00:00:00Z') + (i % 7) * 60_000), description: `Record ${String(i).padStart(2, '0')}` })
  }
  const agent = await signedInAgent(ctx.app, c.owner.email)
  const get = (query: string) => agent.get(`/settings/users/history?pageName=Patients&${query}`, { 'hx-request': 'true' })
  const first = await get('')
  t.equal(shownRows(first.body).length, 50, '50 a page by default')
  t.equal(shownRange(first.body), '1–50 of 60')
  const pages = []
  for (const page of [1, 2, 3]) pages.push(...shownRows((await get(`sort=date&dir=desc&size=25&page=${page}`)).body).map(r => r.description))
  t.equal(pages.length, 60)
  t.equal(new Set(pages).size, 60, 'every record once across pages, despite equal times')
  t.equal(shownRange((await get('size=25&page=3')).body), '51–60 of 60')
  t.equal(shownRows((await get('size=100')).body).length, 60)
  const past = await get('size=25&page=9')
  t.equal(past.statusCode, 200)
  t.match(past.body, 'There is no page 9; showing page 3, the last.')
  t.equal(shownRange(past.body), '51–60 of 60')
})

t.test('a list longer than the counting limit says "more than 10,000", pages on, and reads its last page from the end', async t => {
  const c = await makeClinic(ctx.em())
  await ctx.em().getConnection().execute(
    `insert into audit_records (practice_group_id, occurred_at, user_id, user_name, action, page, description, url, ip)
     select ?, ?::timestamptz - n * interval '1 second', ?, 'Bulk', 'view', 'Patients', 'Bulk record ' || n, '/patients', '10.0.0.1'
       from generate_series(1, 10050) n`, [c.group.id, '2026-11-25T00:00:00Z', c.reception.id])
  const agent = await signedInAgent(ctx.app, c.owner.email)
  const get = (query: string) => agent.get(`/settings/users/history?pageName=Patients&${query}`, { 'hx-request': 'true' })
  const first = await get('')
  t.equal(shownRange(first.body), '1–50 of more than 10,000')
  t.match(first.body, /href="\/settings\/users\/history\?pageName=Patients&amp;page=last" aria-label="Last page"/)
  t.equal(shownRange((await get('page=3')).body), '101–150 of more than 10,000')
  const last = await get('page=last')
  t.equal(shownRange(last.body), 'The last 50 of more than 10,000')
  t.same(shownRows(last.body).map(r => r.description).slice(0, 2), ['Bulk record 10001', 'Bulk record 10002'], 'newest first within the last page')
  t.equal(shownRows(last.body).at(-1)!.description, 'Bulk record 10050')
  const past = await get('page=900')
  t.equal(past.statusCode, 200)
  t.match(past.body, 'There is no page 900; showing the last page.')
  t.equal(shownRange(past.body), 'The last 50 of more than 10,000')
  t.equal(shownRange((await get('page=201')).body), '10,001–10,050 of more than 10,000', 'pages past the counted part still open by number')
})

t.test('bad input gets a clear message and 400, never a 500 or an ignored filter', async t => {
  const cases: [string, string][] = [
    ['from=2026-02-30T10:00', 'is not a real date and time'],
    ['to=2026-11-25T25:00', 'is not a real date and time'],
    ['from=2026-11-25T10:00&to=2026-11-24T10:00', 'The From date must be before the To date.'],
    ['ip=10.0.0.256', 'is not an IP address or range'],
    ['ip=10.0.0.0%2F33', 'is not an IP address or range'],
    ['ip=%27%3B%20drop%20table', 'is not an IP address or range'],
    ['ip=fe80::1%25eth0', 'is not an IP address or range'],
    ['sort=password', 'is not a column that can be sorted'],
    ['sort=date&dir=sideways', 'The sort direction must be'],
    ['dir=asc', 'A sort direction needs a column'],
    ['size=100000', 'Show 25, 50 or 100 records a page'],
    ['page=-1', 'is not a page number'],
    ['page=abc', 'is not a page number'],
    ['action=teleport', 'is not an action'],
    ['user=abc', 'There is no user'],
    ['pageName=Nowhere', 'is not a page in this practice'],
    ['range=fortnight', 'is not a date range'],
    ['range=today&from=2026-11-20T00:00', 'Choose either a preset date range'],
    [`description=${'x'.repeat(201)}`, 'Search at most 200 characters']
  ]
  for (const [query, message] of cases) {
    for (const headers of [{}, { 'hx-request': 'true' }] as Record<string, string>[]) {
      const response = await owner.get(`/settings/users/history?${query}`, headers)
      t.equal(response.statusCode, 400, `${query}: 400`)
      t.match(response.body, message, `${query}: says what is wrong`)
      t.match(response.body, 'role="alert"')
      t.notMatch(response.body, 'data-record-id', `${query}: no list that would ignore it`)
    }
  }
  const twice = await owner.get('/settings/users/history?ip=bad&sort=nope&dir=desc&action=view')
  t.match(twice.body, /href="\/settings\/users\/history\?action=view">Show the history without them/, 'the way out drops the sort with its direction and keeps the good filter')
  t.equal((await owner.get('/settings/users/history?action=view')).statusCode, 200)
})

t.test('stored text is shown exactly and stays inert', async t => {
  const hostile = '<img src=x onerror=alert(1)><script>alert(2)</script>"\'&'
  await addRecord(ctx.em(), ann, { at: '2026-11-25T01:00:00Z', description: hostile, url: '/patients?q=<svg/onload=alert(3)>' })
  const body = (await fragment('description=onerror')).body
  t.notMatch(body, '<img src=x')
  t.notMatch(body, '<script>alert')
  t.same(shownRows(body).map(r => r.description), [hostile])
  t.same(shownRows(body).map(r => r.url), ['/patients?q=<svg/onload=alert(3)>'])
})

t.test('the empty state offers to clear the filters', async t => {
  const body = (await fragment('description=nothing-matches-this')).body
  t.match(body, 'No activity matches these filters.')
  t.match(body, '>Clear all filters</a>')
})

t.test('dates show in the practice time zone, named in the header', async t => {
  const body = (await fragment('action=update')).body
  t.match(body, '<span class="tz">Australia/Sydney</span>')
  t.equal(shownRows(body)[0]!.date, '25/11/2026 10:00:00')
})
