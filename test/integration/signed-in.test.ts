import t from 'tap'
import { build } from '../helpers/app.js'
import { signedInAgent } from '../helpers/agent.js'
import { makeClinic } from '../helpers/clinic.js'
import { subscribeAt } from '../helpers/subscriptions.js'
import { makePracticeGroup, unique } from '../../src/seed/factories.js'
import { loadSignedIn, mapSignedIn } from '../../src/domain/users/signed-in.js'
import { systemUser } from '../../src/domain/users/system-user.js'
import { PracticeGroup } from '../../src/domain/practice-groups/practice-group.entity.js'
import { inPracticeScope } from '../../src/db/practice-scope.js'

const ctx = await build(t)
ctx.clock.set('2026-11-25T03:00:00Z')
const store = ctx.app.sessionStore

/** As a request that presents the session: it starts knowing no practice, and learns it from the session. */
const readSession = async (sid: string): Promise<unknown> => inPracticeScope(null, () =>
  new Promise((resolve, reject) => store.get(sid, (err, data) => err ? reject(err) : resolve(data))))
/** As the request that signed in: by then it works for the user's practice. */
const writeSession = async (sid: string, data: { userId: number, practiceGroupId: number }): Promise<void> => inPracticeScope(data.practiceGroupId, () =>
  new Promise((resolve, reject) => store.set(sid, data, err => err ? reject(err) : resolve())))

t.test('when someone is deactivated by another app server, straight in the database, then their next request finds them signed out', async t => {
  const c = await makeClinic(ctx.em())
  const practitioner = await signedInAgent(ctx.app, c.practitioner.email)
  t.equal((await practitioner.get('/patients')).statusCode, 200)
  await ctx.em().getConnection().execute('update users set active = false where id = ?', [c.practitioner.id])
  const next = await practitioner.get('/patients')
  t.equal(next.statusCode, 302)
  t.match(next.headers.location, /^\/login/)
  const [left] = await ctx.em().getConnection().execute('select count(*)::int as n from sessions where user_id = ?', [c.practitioner.id])
  t.equal(left.n, 0, 'the session row is gone')
})

t.test('when a subscription lapses between two requests, then the next history page already shows only the free 7 days', async t => {
  const c = await makeClinic(ctx.em(), { creditBalance: 500 })
  await subscribeAt(ctx.em(), c.owner, '2026-11-01T03:00:00Z')
  const owner = await signedInAgent(ctx.app, c.owner.email)
  t.match((await owner.get('/settings/users/history')).body, 'Showing everything since 02/10/2026 13:00')
  await ctx.em().getConnection().execute("update subscriptions set status = 'expired', expired_at = now() where practice_group_id = ?", [c.group.id])
  t.match((await owner.get('/settings/users/history')).body, /Showing the last 7 days — <a href="\/settings\/add-ons(\/subscribe)?">subscribe to see more<\/a>\./)
})

t.test('when a session is read, then its user, practice and active subscription come with it, handed out once and only for that user', async t => {
  const c = await makeClinic(ctx.em(), { creditBalance: 500 })
  await subscribeAt(ctx.em(), c.owner, '2026-11-20T03:00:00Z')
  const sid = unique('sid')
  await writeSession(sid, { userId: c.owner.id, practiceGroupId: c.group.id })
  t.match(await readSession(sid), { userId: c.owner.id, practiceGroupId: c.group.id })
  t.equal(store.takeSignedIn(sid, c.owner.id + 1, c.group.id), null, 'not for another user')
  await readSession(sid)
  const rows = store.takeSignedIn(sid, c.owner.id, c.group.id)
  t.match(rows, { user: { id: c.owner.id, email: c.owner.email }, practice: { id: c.group.id, name: c.group.name }, subscription: { practice_group_id: c.group.id, status: 'active' } })
  t.equal(store.takeSignedIn(sid, c.owner.id, c.group.id), null, 'handed out once')
})

t.test('when the signed-in rows are mapped, then they read like entities and a change made through them throws instead of being lost', async t => {
  const c = await makeClinic(ctx.em(), { creditBalance: 70 })
  const em = ctx.em()
  const signedIn = await loadSignedIn(em, c.owner.id, c.group.id)
  t.equal(signedIn?.user.name, c.owner.name)
  t.equal(signedIn?.user.accessLevel, 'Full Access', 'property names, not column names')
  t.equal(signedIn?.practice.creditBalance, 70)
  t.equal(signedIn?.subscription, null, 'no subscription yet')
  t.ok(signedIn?.user.createdAt instanceof Date, 'dates come back as dates')
  t.throws(() => { signedIn!.practice.creditBalance = 71 }, TypeError)
  await em.flush()
  t.equal((await ctx.em().findOneOrFail(PracticeGroup, c.group.id)).creditBalance, 70, 'nothing was saved')
})

t.test('when the claimed user is deactivated, a System user, or of another practice, then nobody is signed in', async t => {
  const c = await makeClinic(ctx.em())
  const other = await makePracticeGroup(ctx.em(), { name: unique('Elsewhere') })
  const system = await systemUser(ctx.em(), c.group.id)
  await ctx.em().getConnection().execute('update users set active = false where id = ?', [c.reception.id])
  t.equal(await loadSignedIn(ctx.em(), c.reception.id, c.group.id), null, 'deactivated')
  t.equal(await loadSignedIn(ctx.em(), system.id, c.group.id), null, 'System user')
  t.equal(await loadSignedIn(ctx.em(), c.owner.id, other.id), null, 'another practice')
  t.equal(mapSignedIn(ctx.em(), { user: null, practice: null, subscription: null }), null)
  t.ok(await loadSignedIn(ctx.em(), c.owner.id, c.group.id), 'the owner is')
})
