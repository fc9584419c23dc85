import t from 'tap'
import { build } from '../helpers/app.js'
import { Agent, signedInAgent } from '../helpers/agent.js'
import { makeClinic, type Clinic } from '../helpers/clinic.js'
import { auditRows } from '../helpers/audit.js'
import { addRecord, shownRows } from '../helpers/history.js'
import type { User } from '../../src/domain/users/user.entity.js'

const ctx = await build(t)
ctx.clock.set('2026-11-25T03:00:00Z')
const clinic = await makeClinic(ctx.em())
const other = await makeClinic(ctx.em())

const signedIn = (user: User): Promise<Agent> => signedInAgent(ctx.app, user.email)

async function created (agent: Agent, path: string, form: Record<string, string>): Promise<number> {
  await agent.get(`${path}/new`)
  const response = await agent.post(path, form)
  if (response.statusCode !== 303) throw new Error(`creating ${path} answered ${response.statusCode}: ${response.body.slice(0, 300)}`)
  return Number(/\/(\d+)$/.exec(String(response.headers.location))![1])
}

/** A patient, an appointment and an invoice of the practice, each opened by every one of its users. */
async function recordsOf (c: Clinic): Promise<{ patient: number, appointment: number, invoice: number }> {
  const owner = await signedIn(c.owner)
  const patient = await created(owner, '/patients', { name: `Patient of ${c.group.name}`, dateOfBirth: '1970-01-01', phone: '', email: '', notes: '' })
  const appointment = await created(owner, '/appointments', {
    patientId: String(patient), practitionerId: String(c.practitioner.id), startsAt: '2026-11-25T09:00', durationMinutes: '30', status: 'Booked', notes: ''
  })
  const invoice = await created(owner, '/invoices', { patientId: String(patient), issueDate: '2026-11-25', description: 'Consult', amountCents: '95.00', status: 'Draft' })
  for (const user of [c.owner, c.practitioner, c.practitionerWithoutHistory, c.reception]) {
    const agent = await signedIn(user)
    for (const path of [`/patients/${patient}`, `/appointments/${appointment}`, `/invoices/${invoice}`]) {
      const page = await agent.get(path)
      if (page.statusCode !== 200) throw new Error(`${user.accessLevel} opening ${path} answered ${page.statusCode}`)
    }
  }
  return { patient, appointment, invoice }
}

const ours = await recordsOf(clinic)
const theirs = await recordsOf(other)

const historyPages = (ids: typeof ours): string[] => [
  '/settings/users/history', `/patients/${ids.patient}/history`, `/appointments/${ids.appointment}/history`, `/invoices/${ids.invoice}/history`
]
const everyone = [clinic.owner, clinic.practitioner, clinic.practitionerWithoutHistory, clinic.reception]
const otherNames = [other.owner, other.practitioner, other.practitionerWithoutHistory, other.reception].map(u => u.name)

t.test('each user × each history page × full page and fragment: the right status and only the rows they may see', async t => {
  for (const user of everyone) {
    const agent = await signedIn(user)
    for (const path of historyPages(ours)) {
      for (const htmx of [false, true]) {
        const label = `${user.accessLevel}${user.canViewHistory ? ' with' : ' without'} the permission, ${path}${htmx ? ' (htmx)' : ''}`
        const response = await agent.get(path, htmx ? { 'hx-request': 'true' } : {})
        if (!user.canViewHistory) {
          t.equal(response.statusCode, 403, `${label}: refused`)
          t.notMatch(response.body, 'data-record-id', `${label}: no rows`)
          continue
        }
        t.equal(response.statusCode, 200, `${label}: shown`)
        t.match(String(response.headers.vary), /HX-Request/i, `${label}: caches keep page and fragment apart`)
        t.equal(response.body.includes('<html'), !htmx, `${label}: ${htmx ? 'the fragment alone' : 'the whole page'}`)
        const users = new Set(shownRows(response.body).map(row => row.user))
        t.ok(users.size > 0, `${label}: rows are listed`)
        if (user.accessLevel === 'Full Access') {
          t.ok(everyone.every(u => users.has(u.name)), `${label}: Full Access sees every user's records`)
        } else {
          t.same([...users], [user.name], `${label}: only their own records`)
        }
        t.ok(otherNames.every(name => !users.has(name)), `${label}: nothing from another practice`)
      }
    }
  }
})

t.test('a record history lists only that record', async t => {
  const owner = await signedIn(clinic.owner)
  const rows = shownRows((await owner.get(`/patients/${ours.patient}/history`)).body)
  t.ok(rows.length >= 5)
  t.ok(rows.every(row => row.record === `Patient ${ours.patient}`), 'every row is about this patient')
})

t.test("another practice's records cannot be reached by id, parameter or header", async t => {
  for (const user of everyone) {
    const agent = await signedIn(user)
    for (const path of historyPages(theirs).slice(1)) {
      for (const headers of [{}, { 'hx-request': 'true' }] as Record<string, string>[]) {
        const response = await agent.get(path, headers)
        t.equal(response.statusCode, user.canViewHistory ? 404 : 403, `${user.accessLevel}, ${path}: ${user.canViewHistory ? 'not found' : 'refused'}`)
        t.notMatch(response.body, 'data-record-id')
      }
    }
  }
  const owner = await signedIn(clinic.owner)
  const asked = await owner.get(`/settings/users/history?user=${other.owner.id}`, { 'hx-request': 'true' })
  t.equal(asked.statusCode, 400, "another practice's user is not a filter")
  t.match(asked.body, `There is no user &quot;${other.owner.id}&quot;`)
  t.notMatch(asked.body, 'data-record-id')
  const practitioner = await signedIn(clinic.practitioner)
  const colleague = await practitioner.get(`/settings/users/history?user=${clinic.owner.id}`)
  t.equal(colleague.statusCode, 400, "a Practitioner cannot ask for a colleague's records")
  t.notMatch(colleague.body, 'data-record-id')
})

t.test('History icons are shown only to users with the permission, each named "History"', async t => {
  const pages = ['/settings/users', `/patients/${ours.patient}`, `/appointments/${ours.appointment}`, `/invoices/${ours.invoice}`]
  for (const user of everyone) {
    const agent = await signedIn(user)
    for (const [i, path] of pages.entries()) {
      const body = (await agent.get(path)).body
      const icon = `href="${historyPages(ours)[i]}" aria-label="History" title="History"`
      t.equal(body.includes(icon), user.canViewHistory, `${user.accessLevel}${user.canViewHistory ? ' sees' : ' does not see'} the History icon on ${path}`)
    }
  }
})

t.test('opening a history is recorded once; sorting, filtering and paging inside it are not', async t => {
  const practitioner = await signedIn(clinic.practitioner)
  const views = async (): Promise<number> =>
    (await auditRows(ctx.em(), clinic.group.id, "page = 'Patient > History' and user_id = ?", [clinic.practitioner.id])).length
  const before = await views()
  const opened = await practitioner.get(`/patients/${ours.patient}/history`)
  t.equal(opened.statusCode, 200)
  t.equal(await views(), before + 1, 'the opening is recorded')
  const [recorded] = (await auditRows(ctx.em(), clinic.group.id, "page = 'Patient > History' and user_id = ?", [clinic.practitioner.id])).slice(-1)
  t.match(recorded, { action: 'view', record_type: 'patient', record_id: String(ours.patient), url: `/patients/${ours.patient}/history` })
  t.match(recorded!.description, `Viewed the User Action History of patient Patient of ${clinic.group.name}`)

  for (const query of ['?sort=user&dir=asc', '?action=view', '?size=25&page=1', '?description=patient']) {
    const refined = await practitioner.get(`/patients/${ours.patient}/history${query}`, { 'hx-request': 'true' })
    t.equal(refined.statusCode, 200, `${query} answers`)
  }
  const restored = await practitioner.get(`/patients/${ours.patient}/history?action=view`, { 'hx-history-restore-request': 'true' })
  t.equal(restored.statusCode, 200)
  t.equal(await views(), before + 1, 'refining and going back are not new views')

  const stranger = await signedIn(clinic.practitioner)
  await stranger.get(`/patients/${ours.patient}/history?action=view`, { 'hx-request': 'true' })
  t.equal(await views(), before + 2, 'a fragment asked for without opening the page is recorded like an opening')

  const groupViews = async (): Promise<number> =>
    (await auditRows(ctx.em(), clinic.group.id, "page = 'Settings > Users > History' and user_id = ?", [clinic.practitioner.id])).length
  const groupBefore = await groupViews()
  await practitioner.get('/settings/users/history')
  await practitioner.get('/settings/users/history?sort=date&dir=asc', { 'hx-request': 'true' })
  t.equal(await groupViews(), groupBefore + 1, 'the group history is recorded on opening only')
})

t.test('a deleted record keeps its history for auditors', async t => {
  const owner = await signedIn(clinic.owner)
  const patient = await created(owner, '/patients', { name: 'Short Lived', dateOfBirth: '1990-05-05', phone: '', email: '', notes: '' })
  await owner.get(`/patients/${patient}`)
  t.equal((await owner.post(`/patients/${patient}/delete`)).statusCode, 303)
  const history = await owner.get(`/patients/${patient}/history`)
  t.equal(history.statusCode, 200)
  t.match(history.body, `patient #${patient} (deleted)`)
  t.ok(shownRows(history.body).some(row => row.action === 'Delete' && row.user === clinic.owner.name), 'who deleted it is listed')
  t.equal((await owner.get('/patients/2147483000/history')).statusCode, 404, 'an id that never existed is not found')
})

t.test('a free practice sees the last 7 days, and the page says so', async t => {
  const c = await makeClinic(ctx.em())
  const now = ctx.clock.now().getTime()
  const day = 86_400_000
  await addRecord(ctx.em(), c.owner, { at: new Date(now - 8 * day), description: 'Eight days ago' })
  await addRecord(ctx.em(), c.owner, { at: new Date(now - 7 * day - 60_000), description: 'Just outside the window' })
  await addRecord(ctx.em(), c.owner, { at: new Date(now - 7 * day + 60_000), description: 'Just inside the window' })
  await addRecord(ctx.em(), c.owner, { at: new Date(now - 1 * day), description: 'Yesterday-ish' })
  const page = await (await signedIn(c.owner)).get('/settings/users/history?action=view&pageName=Patients')
  t.equal(page.statusCode, 200)
  t.match(page.body, /Showing the last 7 days — <a href="\/settings\/add-ons(\/subscribe)?">subscribe to see more<\/a>\./)
  t.same(shownRows(page.body).map(r => r.description), ['Yesterday-ish', 'Just inside the window'])
  const asked = await (await signedIn(c.owner)).get('/settings/users/history?from=2026-11-01T00:00&pageName=Patients')
  t.same(shownRows(asked.body).map(r => r.description), ['Yesterday-ish', 'Just inside the window'], 'an earlier From does not reach past the window')
})

t.test('an update row expands in place to show each changed field, before and after', async t => {
  const owner = await signedIn(clinic.owner)
  await owner.get(`/appointments/${ours.appointment}/edit`)
  const saved = await owner.post(`/appointments/${ours.appointment}`, {
    patientId: String(ours.patient), practitionerId: String(clinic.practitioner.id), startsAt: '2026-11-25T10:30', durationMinutes: '30', status: 'Arrived', notes: ''
  })
  t.equal(saved.statusCode, 303)
  const body = (await owner.get(`/appointments/${ours.appointment}/history?action=update`)).body
  t.match(body, '<summary>Changes (2)</summary>')
  t.match(body, '<th scope="row">Start</th><td>25/11/2026 09:00</td><td>10:30</td>', 'in words, in the practice time zone')
  t.match(body, '<th scope="row">Status</th><td>Booked</td><td>Arrived</td>')
})
