/**
 * A property test over every route of the app: random and hostile query
 * strings, addresses and form bodies, sent by every kind of user. Whatever
 * is sent, the app never fails (no 5xx), never shows one practice's data to
 * another, and never changes anything without recording it.
 *
 * The seed is printed; run again with HOSTILE_SEED=<seed> to repeat a run.
 */
import t from 'tap'
import type { LightMyRequestResponse } from 'fastify'
import { build } from '../helpers/app.js'
import { Agent, PASSWORD } from '../helpers/agent.js'
import { makePracticeGroup, makeUser } from '../../src/seed/factories.js'
import type { User } from '../../src/domain/users/user.entity.js'
import { FILTER_PARAMS } from '../../src/domain/history/history-params.js'
import { patientKind } from '../../src/domain/patients/patient.kind.js'
import { appointmentKind } from '../../src/domain/appointments/appointment.kind.js'
import { invoiceKind } from '../../src/domain/invoices/invoice.kind.js'

const REQUESTS_PER_ROUTE = Number(process.env.HOSTILE_REQUESTS ?? 6)
const seed = Number(process.env.HOSTILE_SEED ?? Math.floor(Math.random() * 2 ** 31))
t.comment(`hostile requests: seed ${seed} (repeat with HOSTILE_SEED=${seed})`)

/** mulberry32: small, fast and good enough to pick test values. */
function generator (start: number): () => number {
  let state = start >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let x = state
    x = Math.imul(x ^ (x >>> 15), x | 1)
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61)
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}
const random = generator(seed)
const chance = (p: number): boolean => random() < p
const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)]!
const between = (low: number, high: number): number => low + Math.floor(random() * (high - low + 1))

interface CollectedRoute { method: string, url: string, fields: string[] }
const routes: CollectedRoute[] = []
// With the metrics token set, so /metrics is among the routes and meets the same requests (none of which carries the token).
const ctx = await build(t, { METRICS_TOKEN: 'hostile-requests-metrics-token-0123456789' }, {
  beforeReady: app => app.addHook('onRoute', route => {
    const schema = (route.schema ?? {}) as Record<string, { properties?: Record<string, unknown> } | undefined>
    const fields = ['querystring', 'body'].flatMap(part => Object.keys(schema[part]?.properties ?? {}))
    for (const method of ([] as string[]).concat(route.method)) {
      if (method === 'GET' || method === 'POST') routes.push({ method, url: route.url, fields })
    }
  })
})
ctx.clock.set('2026-11-25T03:00:00Z')

// Each practice's names carry a marker no request ever sends, so any sight of it in the other practice's pages is a leak.
const marker = (letter: string): string => `Mk${letter}${seed.toString(36)}q${Math.floor(random() * 1e9).toString(36)}`
const MARKERS = { A: marker('A'), B: marker('B') }

interface Practice { owner: User, reception: User, ids: Record<string, number[]> }
async function makePractice (letter: 'A' | 'B'): Promise<Practice> {
  const em = ctx.em()
  const name = (role: string): string => `${role} ${MARKERS[letter]} ${Math.floor(random() * 1e9)}`
  const group = await makePracticeGroup(em, { name: name('Clinic'), creditBalance: 1000 })
  const owner = await makeUser(em, group, { name: name('Owner'), accessLevel: 'Full Access', canViewHistory: true })
  const reception = await makeUser(em, group, { name: name('Reception'), accessLevel: 'Reception' })
  const practitioner = await makeUser(em, group, { name: name('Practitioner'), accessLevel: 'Practitioner', canViewHistory: true })
  const agent = new Agent(ctx.app, `198.51.100.${letter === 'A' ? 1 : 2}`)
  await agent.signIn(owner.email, PASSWORD)
  const ids: Record<string, number[]> = { user: [owner.id, reception.id, practitioner.id], patient: [], appointment: [], invoice: [] }
  const create = async (path: string, form: Record<string, string>): Promise<number> => {
    await agent.get(`${path}/new`)
    const response = await agent.post(path, form)
    return Number(/\/(\d+)$/.exec(String(response.headers.location))![1])
  }
  for (let i = 0; i < 2; i++) {
    const patient = await create('/patients', { name: name('Patient'), notes: name('Notes') })
    ids.patient!.push(patient)
    ids.appointment!.push(await create('/appointments', {
      patientId: String(patient), practitionerId: String(practitioner.id), startsAt: '2026-11-26T09:00', durationMinutes: '30', status: 'Booked', notes: name('Visit')
    }))
    ids.invoice!.push(await create('/invoices', { patientId: String(patient), issueDate: '2026-11-24', description: name('Invoice'), amountCents: '120.50', status: 'Draft' }))
  }
  // One restricted patient, so the break-the-glass routes and the reason gate meet the same hostile requests.
  await agent.get(`/patients/${ids.patient[0]}/restriction`)
  await agent.post(`/patients/${ids.patient[0]}/restriction`, { restricted: 'on' })
  return { owner, reception, ids }
}
const A = await makePractice('A')
const B = await makePractice('B')
const everyId = [...Object.values(A.ids), ...Object.values(B.ids)].flat()

const HISTORY_PARAMS = [...FILTER_PARAMS, 'sort', 'dir', 'page', 'size']
const FORM_FIELDS = [patientKind, appointmentKind, invoiceKind].flatMap(kind => kind.fields.map(f => f.name))
const KNOWN_NAMES = [...new Set([...routes.flatMap(r => r.fields), ...HISTORY_PARAMS, ...FORM_FIELDS, 'active', 'canViewHistory', 'q', 'next'])]
const HOSTILE_NAMES = ['__proto__', 'constructor', 'prototype', '__proto__[polluted]', 'constructor[prototype][polluted]', 'toString', 'hasOwnProperty', 'a[b]', 'q[]', '', '_csrf', 'hx-request']

/** A piece of a URL or form: `text` is encoded, `raw` is sent as it is (for malformed percent-encodings). */
type Piece = { text: string } | { raw: string }

const ODD_NUMBERS = ['0', '-1', '-0', '1e2', '1E2', '0x10', '0X1f', '0b1', '0o7', ' 1', '1 ', '+1', '1.0', '1.', '.5', '01', '007', '١', '１', '²', 'Infinity', '-Infinity', 'NaN',
  '2147483647', '2147483648', '4294967296', '9999999999', '99999999999999999999', '1e308', '1_000', '1,000', '120.50', '0.001', '9999999.99', '10000000', '5', '720', '721', '30']
const ODD_DATES = ['2026-11-25', '2026-11-25T09:30', '0000-01-01', '0000-01-01T00:00', '0001-01-01T00:00', '9999-12-31', '9999-12-31T23:59', '10000-01-01', '+275760-09-13T00:00',
  '-000001-01-01T00:00', '2026-02-30', '2026-02-29', '2026-13-01', '2026-11-25T25:61', '2026-11-25T24:00', '1900-01-01', '1-1-1', '2026-11-25T09:30:00Z', '2026-11-25T09:30:00+99:00',
  '1970-01-01T00:00', '2026-11-25T09:30:00.123456789', '2026-W48-3', '25/11/2026']
const ODD_IPS = ['::ffff:01.2.3.4', '::ffff:1.2.3.04', '::1.2.3.004', '::ffff:1.2.3', 'fe80::1%eth0', '1.2.3.4/33', '10.0.0.0/8', '10.0.0.0/08', '::1', '::1/0128', '1.2.3', '01.2.3.4', '1.2.3.4.', '0x01020304', '[::1]', '::/0', '1::2::3']
const WORDS = ['', ' ', '\t\n', 'csv', 'ndjson', 'fhir.ndjson', 'xlsx', 'asc', 'desc', 'date', 'ip', 'view', 'update', 'today', 'custom', 'last-7-days', 'last', 'on', 'off', 'true', 'null', 'undefined',
  'Full Access', 'Reception', 'Practitioner', 'Booked', 'Draft', 'Void', 'Patient profile', 'Settings > Users', '25', '50', '100', 'a@b.c', '/patients', '//evil.example', '/\\evil.example',
  'https://evil.example/', 'javascript:alert(1)', '<script>alert(1)</script>', '"><svg onload=alert(1)>', "' or 1=1 --", '%', '_', '\\', '"', '{{7*7}}', '${7*7}', '<%= 7*7 %>', '[object Object]',
  '__proto__', 'a'.repeat(64), 'g'.repeat(64), '\u202eevil', 'Zoë 山田 محمد', '👩‍⚕️', 'e\u0301', '\u200b', '\ufeff', 'a\u0000b', '\u0000']

const HUGE = ['x'.repeat(100_000), '9'.repeat(5000), 'é'.repeat(20_000), '<'.repeat(3000)]
const LONE_SURROGATES = ['\ud800', 'a\udfffb', '\udc00\ud800', 'view\ud83d']
const BAD_PERCENT_ENCODINGS = ['%', '%G1', '%E0%A4%A', '%C0%AF', '%FF', '%ED%A0%80', '%%', '%2', 'a%ZZb', '%F0%9F%98']

/** Values that a parameter of this name is most likely to mishandle, tried more often than the rest. */
function likelyTrouble (name: string): string[] | null {
  if (name === 'ip') return ODD_IPS
  if (/^(from|to|startsAt|issueDate|dateOfBirth|range)$/.test(name)) return ODD_DATES
  if (/^(id|user|page|size|credits|expectedPrice|durationMinutes|amountCents|patientId|practitionerId)$/.test(name)) return [...ODD_NUMBERS, ...everyId.map(String)]
  return null
}

function hostileText (allowHuge = true, name = ''): string {
  if (allowHuge && chance(0.1)) return pick(HUGE)
  const likely = likelyTrouble(name)
  if (likely && chance(0.5)) return pick(likely)
  switch (between(0, 8)) {
    case 0: return String(pick(everyId))
    case 1: return pick(ODD_NUMBERS)
    case 2: return pick(ODD_DATES)
    case 3: return pick(ODD_IPS)
    case 4: return pick(LONE_SURROGATES)
    default: return pick(WORDS)
  }
}

function hostileValue (allowHuge = true, name = ''): Piece {
  return chance(0.08) ? { raw: pick(BAD_PERCENT_ENCODINGS) } : { text: hostileText(allowHuge, name) }
}

/** Percent-encodes every UTF-16 unit, lone surrogates included (as a browser that did not check would). */
function encode (text: string): string {
  let out = ''
  for (const char of text) {
    if (/^[A-Za-z0-9\-_.~]$/.test(char)) out += char
    else if (char.length === 1 && char.charCodeAt(0) >= 0xd800 && char.charCodeAt(0) <= 0xdfff) {
      const code = char.charCodeAt(0)
      out += [0xe0 | (code >> 12), 0x80 | ((code >> 6) & 0x3f), 0x80 | (code & 0x3f)].map(b => `%${b.toString(16).toUpperCase()}`).join('')
    } else out += encodeURIComponent(char)
  }
  return out
}
const piece = (p: Piece): string => 'raw' in p ? p.raw : encode(p.text)

function hostilePairs (names: string[]): [Piece, Piece][] {
  const pairs: [Piece, Piece][] = []
  const many = chance(0.03)
  const count = many ? 300 : between(0, 7)
  for (let i = 0; i < count; i++) {
    const name: Piece = chance(0.6) && names.length ? { text: pick(names) } : chance(0.5) ? { text: pick(HOSTILE_NAMES) } : chance(0.9) ? { text: pick(KNOWN_NAMES) } : hostileValue()
    const repeats = chance(0.15) ? between(2, 3) : 1
    for (let r = 0; r < repeats; r++) pairs.push([name, hostileValue(!many, 'text' in name ? name.text : '')])
  }
  return pairs
}
const encodePairs = (pairs: [Piece, Piece][]): string => pairs.map(([name, value]) => `${piece(name)}=${piece(value)}`).join('&')

function hostilePath (url: string): string {
  return url.replace(/:(\w+)/g, (_whole, param: string) => {
    if (param === 'format') return chance(0.7) ? pick(['csv', 'ndjson', 'fhir.ndjson']) : piece(hostileValue())
    return chance(0.6) ? String(pick(everyId)) : piece(hostileValue(true, param))
  })
}

interface Visitor {
  name: string
  agent: Agent
  /** The user this visitor signs in as, or none. */
  user: User | null
  /** Text that must never appear in what this visitor is shown. */
  forbidden: string[]
}

/** Puts back the access a hostile (but recorded) settings change may have taken away, so every route is tried with the access it was meant for. */
async function restoreUsers (): Promise<void> {
  const connection = ctx.em().getConnection()
  for (const user of [A.owner, A.reception, B.owner, B.reception]) {
    await connection.execute('update users set active = ?, access_level = ?, can_view_history = ? where id = ?', [user.active, user.accessLevel, user.canViewHistory, user.id])
  }
}

async function signIn (visitor: Visitor): Promise<void> {
  visitor.agent.cookies.clear()
  if (visitor.user) await visitor.agent.signIn(visitor.user.email, PASSWORD)
  await visitor.agent.get(visitor.user ? '/patients' : '/login')
}

interface State { fingerprint: string, users: string, changesRecorded: number }
async function state (): Promise<State> {
  const aggregate = (table: string): string => `(select string_agg(t::text, ',' order by t.id) from ${table} t)`
  // Whether a user keeps the history's chart folded away is their display preference, not practice data, and is not recorded.
  const users = "(select string_agg((to_jsonb(t) - 'history_chart_collapsed')::text, ',' order by t.id) from users t)"
  const others = ['patients', 'appointments', 'invoices', 'subscriptions', 'credit_entries', 'practice_groups', 'restricted_patients', 'restricted_patient_openers', 'integration_endpoints']
  const [row] = await ctx.em().getConnection().execute<{ fingerprint: string, users: string, recorded: string }[]>(`
    select md5(concat_ws('|', ${others.map(aggregate).join(', ')})) as fingerprint, md5(${users}) as users,
           (select count(*) from audit_records where action not in ('view', 'export')) as recorded`)
  return { fingerprint: row!.fingerprint, users: row!.users, changesRecorded: Number(row!.recorded) }
}

async function send (visitor: Visitor, route: CollectedRoute): Promise<{ description: string, response: LightMyRequestResponse }> {
  const query = chance(0.7) ? encodePairs(hostilePairs(route.fields.length ? route.fields : HISTORY_PARAMS)) : ''
  const url = `${hostilePath(route.url)}${query ? `?${query}` : ''}`
  const headers: Record<string, string> = { cookie: visitor.agent.cookieHeader }
  if (chance(0.3)) headers['hx-request'] = 'true'
  if (chance(0.1)) headers['hx-history-restore-request'] = 'true'
  if (route.method === 'GET') {
    const response = await ctx.app.inject({ method: 'GET', url, headers, remoteAddress: '203.0.113.50' })
    return { description: `GET ${url.slice(0, 300)}`, response }
  }
  const fields = route.fields.length ? route.fields : FORM_FIELDS
  let pairs = hostilePairs(fields)
  if (chance(0.8)) pairs = [[{ text: '_csrf' }, { text: chance(0.9) ? visitor.agent.csrfToken : hostileText() }], ...pairs]
  let payload = encodePairs(pairs)
  let contentType: string | undefined = 'application/x-www-form-urlencoded'
  if (chance(0.1)) contentType = pick(['application/x-www-form-urlencoded; charset=utf-16', 'application/x-www-form-urlencoded; charset=UTF-8', 'text/plain', 'multipart/form-data; boundary=x', 'application/octet-stream', undefined])
  if (chance(0.07)) {
    contentType = 'application/json'
    const json = Object.create(null) as Record<string, unknown>
    for (const [name, value] of pairs) json['text' in name ? name.text : 'x'] = chance(0.5) ? ('text' in value ? value.text : value.raw) : pick([1e2, -1, null, true, [1, 2], { a: 1 }])
    payload = chance(0.9) ? JSON.stringify(json) : '{"__proto__": {"polluted": 1}, "a": '
  }
  if (contentType) headers['content-type'] = contentType
  const response = await ctx.app.inject({ method: 'POST', url, headers, payload, remoteAddress: '203.0.113.50' })
  return { description: `POST ${url.slice(0, 300)} [${contentType ?? 'no content type'}] ${payload.slice(0, 300)}`, response }
}

const visitors: Visitor[] = [
  { name: 'a signed-out visitor', agent: new Agent(ctx.app, '198.51.100.10'), user: null, forbidden: [MARKERS.A, MARKERS.B] },
  { name: 'a user of another practice', agent: new Agent(ctx.app, '198.51.100.11'), user: B.owner, forbidden: [MARKERS.A] },
  { name: 'a Reception user without the history permission', agent: new Agent(ctx.app, '198.51.100.12'), user: A.reception, forbidden: [MARKERS.B] },
  { name: 'a Full Access user with the history permission', agent: new Agent(ctx.app, '198.51.100.13'), user: A.owner, forbidden: [MARKERS.B] }
]

for (const visitor of visitors) {
  t.test(`when ${visitor.name} sends hostile requests to every route, then none fails, leaks or changes anything unrecorded`, async t => {
    await signIn(visitor)
    let before = await state()
    for (const route of routes) {
      await ctx.em().getConnection().execute('delete from sign_in_failures')
      const problems: string[] = []
      for (let i = 0; i < REQUESTS_PER_ROUTE; i++) {
        const { description, response } = await send(visitor, route)
        const after = await state()
        if (response.statusCode >= 500) problems.push(`${response.statusCode} for ${description}: ${response.body.slice(0, 300)}`)
        const leaked = visitor.forbidden.find(text => response.body.includes(text))
        if (leaked) problems.push(`another practice's data (${leaked}) shown for ${description}`)
        const changed = after.fingerprint !== before.fingerprint || after.users !== before.users
        if (changed && after.changesRecorded === before.changesRecorded) problems.push(`a change without its record for ${description}`)
        const signedOut = visitor.user && (response.statusCode === 401 || /^\/login/.test(String(response.headers.location ?? '')))
        if (after.users !== before.users) await restoreUsers()
        if (signedOut || after.users !== before.users) {
          await signIn(visitor)
          before = await state()
        } else before = after
      }
      t.same(problems, [], `${route.method} ${route.url} (seed ${seed})`)
    }
  })
}
