import t from 'tap'
import pg from 'pg'
import { build } from '../helpers/app.js'
import { makeClinic } from '../helpers/clinic.js'
import { signedInAgent } from '../helpers/agent.js'
import { auditRows } from '../helpers/audit.js'
import { addedEndpoint } from '../helpers/integrations.js'
import { checkEndpointUrl } from '../../src/domain/integrations/endpoint-form.js'
import { MAX_ENDPOINTS } from '../../src/domain/integrations/endpoints.js'

const ctx = await build(t)
const clinic = await makeClinic(ctx.em())
const other = await makeClinic(ctx.em())
const owner = await signedInAgent(ctx.app, clinic.owner.email)

const PAGE = 'Settings > Integrations'
const lastRecord = async (userId: number) => (await auditRows(ctx.em(), clinic.group.id, 'user_id = ?', [userId])).at(-1)!

t.test('when a Full Access user adds an endpoint, then its secret is shown once, never again, and the addition is recorded', async t => {
  const { id, secret } = await addedEndpoint(owner, 'Security monitoring', 'http://127.0.0.1:9/hook')
  t.match(secret, /^pa_whsec_[A-Za-z0-9_-]{43}$/)
  t.match(await lastRecord(clinic.owner.id), {
    action: 'create', page: PAGE, record_type: 'integration endpoint', record_id: String(id),
    description: 'Added the endpoint "Security monitoring" sending the history to http://127.0.0.1:9/hook'
  })
  const page = await owner.get('/settings/integrations')
  t.equal(page.statusCode, 200)
  t.match(page.body, 'Security monitoring')
  t.match(page.body, /Last success<\/dt><dd class="endpoint-last-success">Never/)
  t.notMatch(page.body, secret, 'the list never shows the secret')
  t.equal((await lastRecord(clinic.owner.id)).action, 'view', 'opening the page is recorded')
  const everywhere = await ctx.em().getConnection().execute<{ n: string }[]>('select count(*) as n from audit_records where description like ? or url like ?', [`%${secret}%`, `%${secret}%`])
  t.equal(Number(everywhere[0]!.n), 0, 'the history never holds the secret')
})

t.test('when an endpoint is changed, re-keyed and removed, then each change is recorded with what changed', async t => {
  const { id, secret } = await addedEndpoint(owner, 'Webhook', 'http://localhost:9/a')
  const changed = await owner.post(`/settings/integrations/${id}`, { name: 'Webhook (new)', url: 'http://localhost:9/b' })
  t.equal(changed.statusCode, 303)
  const update = await lastRecord(clinic.owner.id)
  t.match(update, { action: 'update', record_id: String(id), description: 'Changed the endpoint "Webhook (new)": Name: Webhook → Webhook (new); Address: http://localhost:9/a → http://localhost:9/b' })
  t.same(update.changes!.map(c => c.field), ['name', 'url'])

  const before = (await auditRows(ctx.em(), clinic.group.id)).length
  await owner.get('/settings/integrations')
  const unchanged = await owner.post(`/settings/integrations/${id}`, { name: 'Webhook (new)', url: 'http://localhost:9/b' })
  t.equal(unchanged.statusCode, 303)
  t.equal((await auditRows(ctx.em(), clinic.group.id)).length, before + 1, 'saving without a change records nothing but the page view')

  const rekeyed = await owner.post(`/settings/integrations/${id}/secret`)
  t.equal(rekeyed.statusCode, 200)
  const fresh = /id="secret"[^>]*value="([^"]+)"/.exec(rekeyed.body)?.[1]
  t.ok(fresh && fresh !== secret, 'a new secret is shown once')
  t.match(await lastRecord(clinic.owner.id), { action: 'update', description: 'Replaced the shared secret of the endpoint "Webhook (new)"' })

  await owner.get('/settings/integrations')
  const removed = await owner.post(`/settings/integrations/${id}/delete`)
  t.equal(removed.statusCode, 303)
  t.match(await lastRecord(clinic.owner.id), { action: 'delete', description: 'Removed the endpoint "Webhook (new)", which sent the history to http://localhost:9/b' })
  t.notMatch((await owner.get('/settings/integrations')).body, `data-endpoint-id="${id}"`)
})

t.test('when someone without Full Access, or of another practice, tries, then they are refused and nothing changes', async t => {
  const { id } = await addedEndpoint(owner, 'Kept', 'http://127.0.0.1:9/kept')
  const reception = await signedInAgent(ctx.app, clinic.reception.email)
  t.notMatch((await reception.get('/settings/users')).body, 'href="/settings/integrations"', 'no Integrations tab')
  t.equal((await reception.get('/settings/integrations')).statusCode, 403)
  t.equal((await reception.post('/settings/integrations', { name: 'Mine', url: 'http://127.0.0.1:9/mine' })).statusCode, 403)
  t.equal((await reception.post(`/settings/integrations/${id}/delete`)).statusCode, 403)
  t.equal((await lastRecord(clinic.reception.id)).action, 'denied', 'the refusal is recorded')
  const stranger = await signedInAgent(ctx.app, other.owner.email)
  t.equal((await stranger.post(`/settings/integrations/${id}`, { name: 'Taken', url: 'http://127.0.0.1:9/taken' })).statusCode, 404)
  t.equal((await stranger.post(`/settings/integrations/${id}/secret`)).statusCode, 404)
  t.equal((await stranger.post(`/settings/integrations/${id}/delete`)).statusCode, 404)
  t.notMatch((await stranger.get('/settings/integrations')).body, 'Kept', 'another practice never sees it')
  t.match((await owner.get('/settings/integrations')).body, `data-endpoint-id="${id}"`)
})

t.test('when an address is unsafe or malformed, then the form says why beside the field and nothing is added', async t => {
  const cases: Array<[string, RegExp]> = [
    ['', /Enter the receiver(&#39;|')s address/],
    ['not an address', /Enter a full address/],
    ['ftp://files.example.org/audit', /must start with https:\/\/; other kinds/],
    ['javascript:alert(1)', /must start with https:\/\/; other kinds/],
    ['file:///etc/passwd', /must start with https:\/\/; other kinds/],
    ['http://siem.example.org/hook', /never sent unencrypted/],
    ['https://user:secret@siem.example.org/', /Leave user names and passwords out/],
    ['https://siem.example.org/hook#part', /Leave out the part after #/],
    [`https://siem.example.org/${'a'.repeat(2000)}`, /at most 2,000 characters/],
    ['https://[::1', /Enter a full address/],
    ['https://exa mple.org/', /Enter a full address/],
    ['https://\ud800.example.org/', /Enter a full address/]
  ]
  const before = await ctx.em().getConnection().execute<{ n: string }[]>('select count(*) as n from integration_endpoints')
  for (const [url, message] of cases) {
    await owner.get('/settings/integrations')
    const response = await owner.post('/settings/integrations', { name: 'Probe', url })
    t.equal(response.statusCode, 422, JSON.stringify(url.slice(0, 60)))
    t.match(response.body, message)
    t.match(response.body, /id="url"[^>]*aria-invalid="true"/)
  }
  await owner.get('/settings/integrations')
  t.match((await owner.post('/settings/integrations', { name: ' ', url: 'http://127.0.0.1:9/x' })).body, /Give the endpoint a name/)
  t.equal((await owner.post('/settings/integrations', { name: 'Huge', url: 'x'.repeat(20_000) })).statusCode, 400, 'far too long is refused before it is read')
  const after = await ctx.em().getConnection().execute<{ n: string }[]>('select count(*) as n from integration_endpoints')
  t.equal(after[0]!.n, before[0]!.n)
})

t.test('when the app runs in production, then only https addresses on the internet are accepted', async t => {
  for (const url of ['http://127.0.0.1:8080/', 'http://localhost/', 'https://localhost/', 'https://127.0.0.1/', 'https://[::1]/', 'https://10.1.2.3/', 'https://192.168.0.5/',
    'https://172.20.0.1/', 'https://169.254.169.254/latest', 'https://[fd00::1]/', 'https://[::ffff:127.0.0.1]/', 'https://0x7f000001/', 'https://siem.localhost/']) {
    t.ok('problem' in checkEndpointUrl(url, false), `${url} is refused`)
  }
  t.same(checkEndpointUrl(' https://SIEM.example.org:8443/in?practice=1 ', false), { url: 'https://siem.example.org:8443/in?practice=1' })
  t.same(checkEndpointUrl('http://127.0.0.1:8080/hook', true), { url: 'http://127.0.0.1:8080/hook' }, 'outside production a local receiver may use http')
})

t.test(`when a practice has ${MAX_ENDPOINTS} endpoints, then it cannot add another`, async t => {
  const busy = await makeClinic(ctx.em())
  const agent = await signedInAgent(ctx.app, busy.owner.email)
  for (let i = 0; i < MAX_ENDPOINTS; i++) await addedEndpoint(agent, `Receiver ${i}`, `http://127.0.0.1:9/${i}`)
  await agent.get('/settings/integrations')
  const refused = await agent.post('/settings/integrations', { name: 'One more', url: 'http://127.0.0.1:9/more' })
  t.equal(refused.statusCode, 422)
  t.match(refused.body, `at most ${MAX_ENDPOINTS} endpoints`)
})

t.test('when the app role reads or writes endpoints directly, then it never sees a secret, never moves a position, and sees its own practice only', async t => {
  const { id } = await addedEndpoint(owner, 'Guarded', 'http://127.0.0.1:9/guarded')
  const app = new pg.Client({ connectionString: ctx.roles.app })
  await app.connect()
  t.teardown(() => app.end())
  await app.query("select set_config('app.practice_id', $1, false)", [String(clinic.group.id)])
  await t.rejects(app.query('select secret from integration_endpoints where id = $1', [id]), /permission denied/)
  await t.rejects(app.query('select * from integration_endpoints'), /permission denied/)
  await t.rejects(app.query('update integration_endpoints set position_seq = 99 where id = $1', [id]), /permission denied/)
  await t.rejects(app.query('update integration_endpoints set failures = 0, last_error = null where id = $1', [id]), /permission denied/)
  t.equal((await app.query('select id from integration_endpoints where id = $1', [id])).rowCount, 1)
  await app.query("select set_config('app.practice_id', $1, false)", [String(other.group.id)])
  t.equal((await app.query('select id from integration_endpoints where id = $1', [id])).rowCount, 0, 'another practice\'s scope sees none of it')
  t.equal((await app.query('delete from integration_endpoints where id = $1', [id])).rowCount, 0)

  const keeper = new pg.Client({ connectionString: ctx.roles.keeper })
  await keeper.connect()
  t.teardown(() => keeper.end())
  t.equal((await keeper.query('select secret from integration_endpoints where id = $1', [id])).rowCount, 1, 'the keeper reads the secret to sign')
  await t.rejects(keeper.query("update integration_endpoints set url = 'https://elsewhere.example.org/' where id = $1", [id]), /permission denied/)
})
