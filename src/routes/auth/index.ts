import type { FastifyInstance } from 'fastify'
import { attemptSignIn } from '../../domain/auth/sign-in.service.js'
import { UserFacingError } from '../../domain/errors.js'
import { counted } from '../../plural.js'
import { loginBody, loginQuery, type LoginBody } from './schemas.js'
import { safeNext } from './next-address.js'

/** For each way a sign-in fails: the status, the reason kept in the history, and what the person is told. */
const FAILURES = {
  invalid: { status: 401, reason: 'wrong password', message: () => 'The email or password is incorrect.' },
  deactivated: {
    status: 403, reason: 'account deactivated',
    message: () => 'This account has been deactivated. Ask a Full Access user in your practice to reactivate it.'
  },
  locked: {
    status: 429, reason: 'sign-in locked after repeated failures',
    message: (minutes: number) => `Too many failed sign-in attempts. Sign-in is locked for ${counted(minutes, 'minute', 'minutes')}; try again later or ask a Full Access user to help.`
  }
} as const
const PAGE = 'Sign in'

export default async function auth (app: FastifyInstance): Promise<void> {
  const limits = {
    maxFailuresPerAccount: app.config.SIGN_IN_MAX_FAILURES,
    maxFailuresPerIp: app.config.SIGN_IN_MAX_FAILURES_PER_IP,
    lockMinutes: app.config.SIGN_IN_LOCK_MINUTES
  }

  app.get<{ Querystring: { next?: string } }>('/login', { config: { recording: 'exempt' }, schema: { querystring: loginQuery } }, async (request, reply) => {
    if (request.currentUser) return reply.redirect(safeNext(request.query.next))
    return reply.page('pages/auth/login', { title: 'Sign in', next: safeNext(request.query.next), email: '' })
  })

  // Before any password is checked, so a flood from one address costs no hashing.
  const attemptsPerAddress = {
    max: app.config.SIGN_IN_ATTEMPTS_PER_MINUTE,
    timeWindow: 60_000,
    errorResponseBuilder: (_request: unknown, context: { after: string }) =>
      new UserFacingError(429, `Too many sign-in attempts from your network address. Wait ${context.after} and try again.`)
  }

  app.post<{ Body: LoginBody }>('/login', { config: { recording: 'sign-in', rateLimit: attemptsPerAddress }, schema: { body: loginBody } }, async (request, reply) => {
    const { email, password } = request.body
    const next = safeNext(request.body.next)
    const result = await attemptSignIn(request.em, app.clock, limits, { email, password, ip: request.ip })

    if (result.outcome === 'signed-in') {
      const { user } = result
      await request.record({ action: 'login', page: PAGE, recordType: 'user', recordId: user.id, description: `${user.name} signed in` }, { as: user })
      await request.session.regenerate()
      request.session.userId = user.id
      request.session.practiceGroupId = user.practiceGroupId
      request.session.signedInAt = app.clock.now().toISOString()
      return reply.redirect(next, 303)
    }

    const account = result.outcome === 'deactivated' ? result.user : result.knownUser
    if (account) {
      await request.record({
        action: 'login_failed', page: PAGE, recordType: 'user', recordId: account.id,
        description: `Failed sign-in to ${account.email}: ${FAILURES[result.outcome].reason}`
      }, { as: account })
    }
    const failure = FAILURES[result.outcome]
    reply.status(failure.status)
    return reply.page('pages/auth/login', { title: 'Sign in', next, email, error: failure.message(limits.lockMinutes) })
  })

  app.post('/logout', { config: { recording: 'sign-in' } }, async (request, reply) => {
    const user = request.currentUser
    if (user) {
      await request.record({ action: 'logout', page: PAGE, recordType: 'user', recordId: user.id, description: `${user.name} signed out` })
      await request.session.destroy()
    }
    return reply.redirect('/login', 303)
  })
}
