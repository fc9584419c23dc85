import t from 'tap'
import { build } from '../helpers/app.js'
import { Agent, PASSWORD } from '../helpers/agent.js'
import { makeClinic } from '../helpers/clinic.js'
import { Patient } from '../../src/domain/patients/patient.entity.js'

const ctx = await build(t)
const clinic = await makeClinic(ctx.em())
const agent = new Agent(ctx.app)
await agent.signIn(clinic.owner.email, PASSWORD)
await agent.get('/patients')

export const HOSTILE = [
  '<script>alert(1)</script>',
  '<img src=x onerror=alert(1)>',
  'javascript:alert(1)',
  '<a hx-get="/logout" hx-trigger="load">x</a>',
  '"><svg onload=alert(1)>',
  '=cmd|\' /C calc\'!A0',
  '@SUM(1+1)',
  'Line one\r\nLine two',
  'Zoë Ngā Māori 山田太郎 محمد',
  '{{7*7}} <%= 7*7 %>'
]

t.test('when free-text fields hold hostile text, then it is stored exactly and shown inert', async t => {
  for (const text of HOSTILE) {
    const response = await agent.post('/patients', { name: text.slice(0, 200), notes: text })
    t.equal(response.statusCode, 303, `accepted: ${JSON.stringify(text)}`)
    const id = Number(/\/patients\/(\d+)/.exec(String(response.headers.location))![1])
    const stored = await ctx.em().findOneOrFail(Patient, { id })
    t.equal(stored.notes, text, 'stored faithfully')
    const page = await agent.get(`/patients/${id}`)
    t.notOk(/<script>alert|<img src=x|<svg onload|hx-get="\/logout"/.test(page.body), 'no live markup on the page')
  }
})

t.test('when text is far too long, then the form says so and keeps nothing', async t => {
  const before = await ctx.em().count(Patient, { practiceGroupId: clinic.group.id })
  const response = await agent.post('/patients', { name: 'x'.repeat(10_000) })
  t.equal(response.statusCode, 422)
  t.match(response.body, 'Name can be at most 200 characters (this has 10,000)')
  const notes = await agent.post('/patients', { name: 'Long Notes', notes: 'y'.repeat(10_001) })
  t.equal(notes.statusCode, 422)
  t.equal(await ctx.em().count(Patient, { practiceGroupId: clinic.group.id }), before)
})

t.test('when a search, filter or form carries a NUL character, then it is refused with a clear 400 and nothing is kept', async t => {
  const patients = await ctx.em().count(Patient, { practiceGroupId: clinic.group.id })
  const refusedMessage = 'contains a NUL character'
  for (const url of ['/patients?q=Ann%00e', '/settings/users/history?description=a%00b', '/settings/users/history?url=%00', '/patients/1%00']) {
    const page = await agent.get(url)
    t.equal(page.statusCode, 400, url)
    t.match(page.body, refusedMessage, `${url} says why`)
  }
  const fragment = await agent.get('/settings/users/history?user=%00', { 'hx-request': 'true' })
  t.equal(fragment.statusCode, 400, 'an htmx filter request')
  t.match(fragment.body, refusedMessage)
  const saved = await agent.post('/patients', { name: 'Nul\u0000Name' })
  t.equal(saved.statusCode, 400)
  t.match(saved.body, refusedMessage)
  t.equal(await ctx.em().count(Patient, { practiceGroupId: clinic.group.id }), patients, 'no patient was saved')
  t.equal((await agent.get('/patients?q=Anne')).statusCode, 200, 'the same search without it works')
})
