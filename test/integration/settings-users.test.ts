import t from 'tap'
import { build } from '../helpers/app.js'
import { Agent, signedInAgent } from '../helpers/agent.js'
import { makeClinic } from '../helpers/clinic.js'
import { auditRows } from '../helpers/audit.js'
import { User } from '../../src/domain/users/user.entity.js'

const ctx = await build(t)
const clinic = await makeClinic(ctx.em())
const otherClinic = await makeClinic(ctx.em())

const signedIn = (email: string, ip?: string): Promise<Agent> => signedInAgent(ctx.app, email, ip)

const reload = (id: number) => ctx.em().findOneOrFail(User, { id })

t.test('when each kind of user opens Settings > Users, then they see their practice and only Full Access sees edit icons', async t => {
  for (const user of [clinic.owner, clinic.practitioner, clinic.practitionerWithoutHistory, clinic.reception]) {
    const page = await (await signedIn(user.email)).get('/settings/users')
    t.equal(page.statusCode, 200, `${user.accessLevel} can open the list`)
    for (const colleague of [clinic.owner, clinic.practitioner, clinic.reception]) t.match(page.body, colleague.email)
    t.notMatch(page.body, otherClinic.owner.email, 'another practice stays hidden')
    const editLinks = page.body.includes(`aria-label="Edit ${clinic.reception.name}"`)
    t.equal(editLinks, user.accessLevel === 'Full Access', `${user.accessLevel} ${editLinks ? 'sees' : 'does not see'} edit links`)
  }
})

t.test('when Full Access ticks the User Action History box and saves, then the permission is on', async t => {
  const owner = await signedIn(clinic.owner.email)
  const form = await owner.get(`/settings/users/${clinic.practitionerWithoutHistory.id}/edit`)
  t.equal(form.statusCode, 200)
  t.match(form.body, 'User Action History')
  const saved = await owner.post(`/settings/users/${clinic.practitionerWithoutHistory.id}`, { accessLevel: 'Practitioner', active: 'on', canViewHistory: 'on' })
  t.equal(saved.statusCode, 303)
  t.equal((await reload(clinic.practitionerWithoutHistory.id)).canViewHistory, true)
  const list = await owner.get('/settings/users')
  t.match(list.body, `Access settings saved for ${clinic.practitionerWithoutHistory.name}`)
})

t.test('when a Practitioner posts an access edit, then it is refused with 403 and nothing changes', async t => {
  const practitioner = await signedIn(clinic.practitioner.email)
  await practitioner.get('/settings/users')
  const response = await practitioner.post(`/settings/users/${clinic.practitioner.id}`, { accessLevel: 'Full Access', active: 'on', canViewHistory: 'on' })
  t.equal(response.statusCode, 403)
  t.equal((await reload(clinic.practitioner.id)).accessLevel, 'Practitioner')
  t.equal((await practitioner.get(`/settings/users/${clinic.reception.id}/edit`)).statusCode, 403)
})

t.test("when Full Access opens or edits another practice's user, then the answer is 404", async t => {
  const owner = await signedIn(clinic.owner.email)
  t.equal((await owner.get(`/settings/users/${otherClinic.reception.id}/edit`)).statusCode, 404)
  await owner.get('/settings/users')
  const response = await owner.post(`/settings/users/${otherClinic.reception.id}`, { accessLevel: 'Full Access', active: 'on' })
  t.equal(response.statusCode, 404)
  t.equal((await reload(otherClinic.reception.id)).accessLevel, 'Reception')
})

t.test('when the id is not a number or does not exist, then a clear 404 is shown, never a 500', async t => {
  const owner = await signedIn(clinic.owner.email)
  for (const id of ['abc', '99999999999', '2147483000']) {
    const response = await owner.get(`/settings/users/${id}/edit`)
    t.equal(response.statusCode, 404, id)
    t.match(response.body, 'That user does not exist', `${id}: says so`)
  }
})

t.test('when Full Access adds a user, then the new user can sign in and has the permission off', async t => {
  const owner = await signedIn(clinic.owner.email)
  await owner.get('/settings/users/new')
  const email = `new-${Date.now()}@example.test`
  const created = await owner.post('/settings/users', { name: 'Nadia New', email, password: 'a long enough password', accessLevel: 'Full Access', canViewHistory: 'on' })
  t.equal(created.statusCode, 303)
  const user = await ctx.em().findOneOrFail(User, { email })
  t.equal(user.canViewHistory, false)
  t.equal(user.practiceGroupId, clinic.group.id)
  t.equal((await new Agent(ctx.app).signIn(email, 'a long enough password')).statusCode, 303)
})

t.test('when the new-user form is wrong, then it comes back with each message by its field', async t => {
  const owner = await signedIn(clinic.owner.email)
  await owner.get('/settings/users/new')
  const response = await owner.post('/settings/users', { name: '', email: 'not-an-email', password: 'short', accessLevel: 'Owner' })
  t.equal(response.statusCode, 422)
  t.match(response.body, 'Enter a name.')
  t.match(response.body, 'Enter an email address like name@example.com.')
  t.match(response.body, 'at least 12 characters')
  t.match(response.body, 'Choose one of: Full Access, Practitioner, Reception.')
  t.match(response.body, 'value="not-an-email"', 'what was typed is kept')

  const duplicate = await owner.post('/settings/users', { name: 'Copy', email: clinic.reception.email, password: 'a long enough password', accessLevel: 'Reception' })
  t.equal(duplicate.statusCode, 422)
  t.match(duplicate.body, 'A user with this email already exists.')
})

t.test('when a non-Full-Access user tries to add a user, then it is refused', async t => {
  const reception = await signedIn(clinic.reception.email)
  t.equal((await reception.get('/settings/users/new')).statusCode, 403)
  await reception.get('/settings/users')
  t.equal((await reception.post('/settings/users', { name: 'X', email: 'x@example.test', password: 'a long enough password', accessLevel: 'Full Access' })).statusCode, 403)
})

t.test('when the last Full Access user removes their own Full Access or deactivates themselves, then it is refused', async t => {
  const solo = await makeClinic(ctx.em())
  const owner = await signedIn(solo.owner.email)
  await owner.get(`/settings/users/${solo.owner.id}/edit`)
  const demote = await owner.post(`/settings/users/${solo.owner.id}`, { accessLevel: 'Reception', active: 'on', canViewHistory: 'on' })
  t.equal(demote.statusCode, 422)
  t.match(demote.body, 'is the only active Full Access user')
  const deactivate = await owner.post(`/settings/users/${solo.owner.id}`, { accessLevel: 'Full Access', canViewHistory: 'on' })
  t.equal(deactivate.statusCode, 422)
  const after = await reload(solo.owner.id)
  t.equal(after.accessLevel, 'Full Access')
  t.equal(after.active, true)

  await owner.post(`/settings/users/${solo.reception.id}`, { accessLevel: 'Full Access', active: 'on' })
  const nowAllowed = await owner.post(`/settings/users/${solo.owner.id}`, { accessLevel: 'Practitioner', active: 'on', canViewHistory: 'on' })
  t.equal(nowAllowed.statusCode, 303, 'with a second Full Access user, stepping down is fine')
})

t.test('when a user is deactivated, then their open session ends at once', async t => {
  const target = await makeClinic(ctx.em())
  const victim = await signedIn(target.reception.email)
  t.equal((await victim.get('/settings/users')).statusCode, 200)
  const owner = await signedIn(target.owner.email)
  await owner.get('/settings/users')
  await owner.post(`/settings/users/${target.reception.id}`, { accessLevel: 'Reception' })
  t.equal((await victim.get('/settings/users')).statusCode, 302)
})

t.test('when a page does not exist, then a 404 page is shown inside the shell', async t => {
  const owner = await signedIn(clinic.owner.email)
  const response = await owner.get('/no/such/page')
  t.equal(response.statusCode, 404)
  t.match(response.body, 'There is no page at this address.')
  t.match(response.body, 'Sign out')
})

t.test('when any page is served, then the security headers are strict', async t => {
  const response = await new Agent(ctx.app).get('/login')
  const csp = String(response.headers['content-security-policy'])
  t.match(csp, "script-src 'self'")
  t.match(csp, "object-src 'none'")
  t.match(csp, "base-uri 'none'")
  t.match(csp, "frame-ancestors 'none'")
  t.notMatch(csp, 'unsafe-inline')
})

t.test('when a Full Access user gives a user a date of birth, then it is saved and recorded; an impossible or future date is refused in place', async t => {
  const owner = await signedInAgent(ctx.app, clinic.owner.email)
  const target = clinic.practitionerWithoutHistory
  const form = { accessLevel: target.accessLevel, active: 'on' }
  for (const [dateOfBirth, message] of [['1985-02-30', 'Enter a date of birth as a calendar date'], ['2999-01-01', 'A date of birth lies between 1900 and today.']] as const) {
    await owner.get(`/settings/users/${target.id}/edit`)
    const refused = await owner.post(`/settings/users/${target.id}`, { ...form, dateOfBirth })
    t.equal(refused.statusCode, 422, dateOfBirth)
    t.match(refused.body, message)
  }
  await owner.get(`/settings/users/${target.id}/edit`)
  const saved = await owner.post(`/settings/users/${target.id}`, { ...form, dateOfBirth: '1985-02-03' })
  t.equal(saved.statusCode, 303)
  const [row] = await ctx.em().getConnection().execute<{ date_of_birth: string }[]>('select date_of_birth::text as date_of_birth from users where id = ?', [target.id])
  t.equal(row!.date_of_birth, '1985-02-03')
  const [change] = await auditRows(ctx.em(), clinic.group.id, "action = 'update' and record_type = 'user' and record_id = ? and description like '%Date of birth%'", [String(target.id)])
  t.match(change!.description, 'Date of birth:  → 1985-02-03')
})
