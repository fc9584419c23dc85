import t from 'tap'
import type { Test } from 'tap'
import { connect } from 'node:net'
import type { AddressInfo } from 'node:net'
import { build } from '../helpers/app.js'
import { PASSWORD, signedInAgent } from '../helpers/agent.js'
import { makeClinic } from '../helpers/clinic.js'
import { watchForCrash } from '../helpers/crash-watch.js'
import { hostileStrings, quoted } from '../helpers/hostile-strings.js'

/** How a browser on the app's real origin reads a Location header. */
const BROWSER_ORIGIN = 'https://clinic.example'

const ctx = await build(t)
const clinic = await makeClinic(ctx.em())

interface Answer { status: number, location: string | undefined }

function checkAnswer (t: Test, answer: Answer, input: string, seed: number): void {
  const label = `${quoted(input)} (HOSTILE_SEED=${seed})`
  t.not(answer.status, 500, `no error page for ${label}`)
  if (answer.location === undefined) return
  const target = new URL(answer.location, BROWSER_ORIGIN)
  t.equal(target.origin, BROWSER_ORIGIN, `Location ${quoted(answer.location)} stays on this site for ${label}`)
}

t.test('when a signed-in user signs in again with any hostile next, then the server answers, never with an error, and only within this site', async t => {
  const { seed, values } = hostileStrings(16)
  const { survives } = watchForCrash(t)
  const agent = await signedInAgent(ctx.app, clinic.owner.email)
  for (const next of values) {
    const response = await survives(agent.post('/login', { email: clinic.owner.email, password: PASSWORD, next }))
    t.equal(response.statusCode, 303, `signed in for ${quoted(next)} (HOSTILE_SEED=${seed})`)
    checkAnswer(t, { status: response.statusCode, location: response.headers.location }, next, seed)
    // A JSON body could carry lone surrogates as they are (a form only carries them replaced); pages take forms only.
    const asJson = await survives(ctx.app.inject({
      method: 'POST',
      url: '/login',
      headers: { cookie: agent.cookieHeader, 'content-type': 'application/json' },
      payload: JSON.stringify({ _csrf: agent.csrfToken, email: clinic.owner.email, password: PASSWORD, next })
    }))
    t.equal(asJson.statusCode, 415, `a JSON body is refused for ${quoted(next)} (HOSTILE_SEED=${seed})`)
    t.equal(asJson.headers.location, undefined)
    await agent.get('/settings/users')
  }
})

t.test('when a signed-in user follows sign-in links with any hostile next, a minute apart, then the server answers only within this site', async t => {
  const { seed, values } = hostileStrings(300, Number(process.env.HOSTILE_SEED ?? 20261203))
  const { survives } = watchForCrash(t)
  const agent = await signedInAgent(ctx.app, clinic.practitioner.email)
  for (const [i, next] of values.entries()) {
    ctx.clock.advance(61_000)
    const url = i % 2 === 0 ? `/login?${new URLSearchParams({ next })}` : `/login?next=${next}`
    const response = await survives(agent.get(url))
    checkAnswer(t, { status: response.statusCode, location: response.headers.location }, next, seed)
  }
  t.equal((await agent.get('/settings/users')).statusCode, 200, 'still signed in: every answer kept the session')
})

/** Sends a request line exactly as given, as no HTTP client library would, and reads the answer until the server closes. */
async function rawGet (port: number, target: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    const chunks: Buffer[] = []
    socket.on('data', chunk => chunks.push(chunk))
    socket.on('error', reject)
    socket.setTimeout(10_000, () => socket.destroy(new Error(`no answer to ${quoted(target)}`)))
    socket.on('end', () => {
      const head = Buffer.concat(chunks).toString('latin1').split('\r\n\r\n')[0]!
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0)
      const location = /^location: (.*)$/im.exec(head)?.[1]
      resolve({ status, location })
    })
    socket.write(`GET ${target} HTTP/1.1\r\nHost: clinic.example\r\nConnection: close\r\n\r\n`)
  })
}

t.test('when a signed-out person opens any hostile address, then the way to sign-in and back stays on this site', async t => {
  const { seed, values } = hostileStrings(300, Number(process.env.HOSTILE_SEED ?? 20261204))
  const { survives } = watchForCrash(t)
  await ctx.app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = ctx.app.server.address() as AddressInfo
  const agent = await signedInAgent(ctx.app, clinic.reception.email)
  for (const [i, text] of values.entries()) {
    const path = i % 2 === 0 ? `/patients${text}` : `/patients?search=${text}`
    const answer = await survives(rawGet(port, path))
    t.ok(answer.status > 0, `answered ${quoted(path)} (HOSTILE_SEED=${seed})`)
    checkAnswer(t, answer, path, seed)
    if (answer.status !== 302 || !answer.location) continue
    const back = await survives(agent.get(answer.location))
    checkAnswer(t, { status: back.statusCode, location: back.headers.location }, path, seed)
  }
})
