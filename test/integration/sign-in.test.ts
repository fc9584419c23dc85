import t from 'tap'
import { build } from '../helpers/app.js'
import { buildApp } from '../../src/app.js'
import { Agent, PASSWORD } from '../helpers/agent.js'
import { makeClinic } from '../helpers/clinic.js'
import { makeUser } from '../../src/seed/factories.js'

const ctx = await build(t)
const clinic = await makeClinic(ctx.em())

t.test('when a user signs in with the right password, then they reach their practice', async t => {
  const agent = new Agent(ctx.app)
  const response = await agent.signIn(clinic.owner.email, PASSWORD)
  t.equal(response.statusCode, 303)
  const page = await agent.get('/settings/users')
  t.equal(page.statusCode, 200)
  t.match(page.body, clinic.owner.name)
  t.match(page.body, clinic.group.name)
})

t.test('when the email is typed in capitals with spaces, then sign-in still works', async t => {
  const agent = new Agent(ctx.app)
  const response = await agent.signIn(`  ${clinic.reception.email.toUpperCase()} `, PASSWORD)
  t.equal(response.statusCode, 303)
})

t.test('when the password is wrong, then one generic message is shown and no session starts', async t => {
  const agent = new Agent(ctx.app)
  const wrongPassword = await agent.signIn(clinic.practitioner.email, 'not the password')
  const unknownEmail = await agent.signIn('nobody-here@example.test', 'not the password')
  t.equal(wrongPassword.statusCode, 401)
  t.equal(unknownEmail.statusCode, 401)
  t.match(wrongPassword.body, 'The email or password is incorrect.')
  t.match(unknownEmail.body, 'The email or password is incorrect.')
  const page = await agent.get('/settings/users')
  t.equal(page.statusCode, 302)
  t.match(page.headers.location, /^\/login/)
})

t.test('when an account fails ten times, then its sign-in is locked even with the right password', async t => {
  const victim = await makeUser(ctx.em(), clinic.group, { accessLevel: 'Reception' })
  const attacker = new Agent(ctx.app, '198.51.100.7')
  for (let i = 0; i < 10; i++) await attacker.signIn(victim.email, `guess ${i}`)
  const owner = new Agent(ctx.app, '203.0.113.99')
  const locked = await owner.signIn(victim.email, PASSWORD)
  t.equal(locked.statusCode, 429)
  t.match(locked.body, /locked for 15 minutes/)

  ctx.clock.advance(16 * 60_000)
  const later = await owner.signIn(victim.email, PASSWORD)
  t.equal(later.statusCode, 303, 'the lock lifts after 15 minutes')
})

t.test('when 50 wrong passwords for one account arrive at once, then at most the allowed number are checked', async t => {
  const victim = await makeUser(ctx.em(), clinic.group, { accessLevel: 'Reception' })
  const attacker = new Agent(ctx.app, '198.18.0.1')
  await attacker.get('/login')
  const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => attacker.post('/login', { email: victim.email, password: `concurrent guess ${i}` })))
  const statuses = answers.map(answer => answer.statusCode)
  t.equal(statuses.filter(status => status === 401).length, ctx.config.SIGN_IN_MAX_FAILURES, 'only the allowed guesses were checked')
  t.equal(statuses.filter(status => status === 429).length, 50 - ctx.config.SIGN_IN_MAX_FAILURES, 'every other guess was refused unchecked')
  const [failures] = await ctx.em().getConnection().execute<{ count: string }[]>('select count(*) from sign_in_failures where email = ?', [victim.email])
  t.equal(Number(failures!.count), ctx.config.SIGN_IN_MAX_FAILURES)
})

t.test('when one address fails many times across accounts, then that address is locked', async t => {
  const agent = new Agent(ctx.app, '192.0.2.200')
  for (let i = 0; i < ctx.config.SIGN_IN_MAX_FAILURES_PER_IP; i++) await agent.signIn(`someone-${i}@example.test`, 'guess')
  const response = await agent.signIn(clinic.owner.email, PASSWORD)
  t.equal(response.statusCode, 429)
})

t.test('when a user signs in, then the session cookie changes and the old one no longer works', async t => {
  const agent = new Agent(ctx.app)
  await agent.get('/login')
  const before = agent.cookies.get('pa_session')
  t.ok(before, 'the sign-in form starts a session for its CSRF token')
  await agent.post('/login', { email: clinic.owner.email, password: PASSWORD })
  const after = agent.cookies.get('pa_session')
  t.not(after, before)

  const replay = await ctx.app.inject({ method: 'GET', url: '/settings/users', headers: { cookie: `pa_session=${before}` } })
  t.equal(replay.statusCode, 302, 'the pre-sign-in cookie is not signed in')
})

t.test('when the session cookie is set, then it is HttpOnly and SameSite=Lax', async t => {
  const agent = new Agent(ctx.app)
  const response = await agent.signIn(clinic.owner.email, PASSWORD)
  const header = String(response.headers['set-cookie'])
  t.match(header, /HttpOnly/)
  t.match(header, /SameSite=Lax/)
  t.notMatch(header, /Secure/, 'not Secure over plain HTTP')
})

t.test('when a user signs out, then the session ends and its cookie is useless', async t => {
  const agent = new Agent(ctx.app)
  await agent.signIn(clinic.owner.email, PASSWORD)
  await agent.get('/settings/users')
  const cookie = agent.cookieHeader
  const response = await agent.post('/logout')
  t.equal(response.statusCode, 303)
  const replay = await ctx.app.inject({ method: 'GET', url: '/settings/users', headers: { cookie } })
  t.equal(replay.statusCode, 302)
})

t.test('when a form is posted without its CSRF token, then it is refused with 403', async t => {
  const agent = new Agent(ctx.app)
  await agent.signIn(clinic.owner.email, PASSWORD)
  const response = await agent.post(`/settings/users/${clinic.reception.id}`, { accessLevel: 'Full Access', active: 'on' }, { csrf: false })
  t.equal(response.statusCode, 403)
  t.match(response.body, /expired or did not come from this site/)
  const forged = await agent.post('/login', { email: clinic.owner.email, password: PASSWORD }, { csrf: false })
  t.equal(forged.statusCode, 403)
})

t.test('when an htmx request sends the token in its header, then it is accepted', async t => {
  const agent = new Agent(ctx.app)
  await agent.signIn(clinic.owner.email, PASSWORD)
  await agent.get('/settings/users')
  const response = await agent.post('/logout', {}, { csrf: false, headers: { 'x-csrf-token': agent.csrfToken, 'hx-request': 'true' } })
  t.equal(response.statusCode, 303)
})

t.test('when a deactivated user signs in, then they are refused', async t => {
  const former = await makeUser(ctx.em(), clinic.group, { active: false })
  const response = await new Agent(ctx.app).signIn(former.email, PASSWORD)
  t.equal(response.statusCode, 403)
  t.match(response.body, /deactivated/)
})

t.test('when a session is idle for more than 30 minutes, then the user must sign in again', async t => {
  const agent = new Agent(ctx.app)
  await agent.signIn(clinic.owner.email, PASSWORD)
  ctx.clock.advance(29 * 60_000)
  t.equal((await agent.get('/settings/users')).statusCode, 200)
  ctx.clock.advance(31 * 60_000)
  t.equal((await agent.get('/settings/users')).statusCode, 302)
})

t.test('when a session is 12 hours old, then it ends even if it was used all along', async t => {
  const agent = new Agent(ctx.app)
  await agent.signIn(clinic.owner.email, PASSWORD)
  for (let hour = 0; hour < 12; hour++) {
    ctx.clock.advance(25 * 60_000)
    await agent.get('/settings/users')
    ctx.clock.advance(25 * 60_000)
    await agent.get('/settings/users')
    ctx.clock.advance(10 * 60_000)
  }
  t.equal((await agent.get('/settings/users')).statusCode, 302)
})

t.test('when sessions expire, then pruning removes their rows', async t => {
  const agent = new Agent(ctx.app)
  await agent.signIn(clinic.owner.email, PASSWORD)
  ctx.clock.advance(31 * 60_000)
  const removed = await ctx.app.sessionStore.pruneExpired()
  t.ok(removed >= 1)
})

t.test('when sign-in is followed by a next address, then only addresses on this site are used', async t => {
  const agent = new Agent(ctx.app)
  await agent.get('/login')
  const offsite = await agent.post('/login', { email: clinic.owner.email, password: PASSWORD, next: '//evil.example/' })
  t.equal(offsite.headers.location, '/')
})

t.test('when a signed-in browser fetches the stylesheet and htmx, then its session is neither read nor renewed', async t => {
  const agent = new Agent(ctx.app)
  await agent.signIn(clinic.owner.email, PASSWORD)
  for (const asset of ['/public/app.css', '/vendor/htmx/htmx.min.js']) {
    const response = await agent.get(asset)
    t.equal(response.statusCode, 200, asset)
    t.equal(response.headers['set-cookie'], undefined, `${asset} sets no cookie`)
  }
})

t.test('when one address posts the sign-in form more often than allowed in a minute, then it is told to wait, and other addresses are not', async t => {
  const limited = buildApp({ config: { ...ctx.config, SIGN_IN_ATTEMPTS_PER_MINUTE: 3, TRUST_PROXY: '203.0.113.10' }, orm: ctx.orm, keeperOrm: ctx.keeper, clock: ctx.clock })
  await limited.ready()
  t.teardown(() => limited.close())
  const { owner } = await makeClinic(ctx.em())
  const agent = new Agent(limited, '203.0.113.10')
  const fromClient = (client: string) => ({ headers: { 'x-forwarded-for': client } })
  await agent.get('/login')
  for (let i = 0; i < 3; i++) {
    t.equal((await agent.post('/login', { email: owner.email, password: `guess ${i}` }, fromClient('192.0.2.41'))).statusCode, 401)
  }
  const refused = await agent.post('/login', { email: owner.email, password: PASSWORD }, fromClient('192.0.2.41'))
  t.equal(refused.statusCode, 429)
  t.match(refused.headers['content-type'], 'text/html')
  t.match(refused.body, /Too many sign-in attempts from your network address\. Wait (\d+ seconds|1 minute) and try again\./)
  t.ok(Number(refused.headers['retry-after']) > 0, 'says when to come back')

  const colleague = await agent.post('/login', { email: owner.email, password: PASSWORD }, fromClient('192.0.2.42'))
  t.equal(colleague.statusCode, 303, 'another client behind the trusted proxy is counted apart')
})
