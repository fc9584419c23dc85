import fp from 'fastify-plugin'
import type { FastifyRequest } from 'fastify'

import type { PracticeGroup } from '../../domain/practice-groups/practice-group.entity.js'
import type { Subscription } from '../../domain/subscriptions/subscription.entity.js'
import { isFullAccess, type User } from '../../domain/users/user.entity.js'
import { loadSignedIn, mapSignedIn } from '../../domain/users/signed-in.js'
import { ForbiddenError, UserFacingError } from '../../domain/errors.js'
import { SESSION_ABSOLUTE_HOURS } from '../external/session.js'
import { scopeToPractice } from '../../db/practice-scope.js'

declare module 'fastify' {
  interface FastifyRequest {
    currentUser: User | null
    practice: PracticeGroup | null
    /** The practice's active subscription when the request began, if it has one. */
    subscription: Subscription | null
  }
  interface FastifyInstance {
    requireUser: (request: FastifyRequest) => Promise<void>
    requireFullAccess: (request: FastifyRequest) => Promise<void>
  }
}

export class SignInRequiredError extends UserFacingError {
  constructor () {
    super(401, 'Please sign in to continue.')
  }
}

/**
 * Loads the signed-in user for each request. A session older than the
 * absolute limit, or whose user was deactivated, is ended on the spot.
 */
export default fp(async (app) => {
  app.decorateRequest('currentUser', null)
  app.decorateRequest('practice', null)
  app.decorateRequest('subscription', null)

  app.addHook('onRequest', async (request) => {
    const { userId, practiceGroupId, signedInAt } = request.session
    if (!userId || !practiceGroupId) return
    const ageHours = (app.clock.now().getTime() - new Date(signedInAt ?? 0).getTime()) / 3_600_000
    if (ageHours >= SESSION_ABSOLUTE_HOURS) {
      await request.session.destroy()
      return
    }
    const readWithSession = app.sessionStore.takeSignedIn(request.session.sessionId, userId, practiceGroupId)
    const signedIn = readWithSession ? mapSignedIn(request.em, readWithSession) : await loadSignedIn(request.em, userId, practiceGroupId)
    if (!signedIn) {
      await request.session.destroy()
      scopeToPractice(null)
      return
    }
    scopeToPractice(signedIn.user.practiceGroupId)
    request.currentUser = signedIn.user
    request.practice = signedIn.practice
    request.subscription = signedIn.subscription
  })

  // What a signed-in user was shown stays off the browser's disk: on a shared front-desk computer, Back after sign-out or after a reason lapses shows nothing.
  app.addHook('onSend', async (request, reply) => {
    if (request.currentUser) reply.header('cache-control', 'no-store')
  })

  app.decorate('requireUser', async (request: FastifyRequest) => {
    if (!request.currentUser) throw new SignInRequiredError()
  })

  app.decorate('requireFullAccess', async (request: FastifyRequest) => {
    if (!request.currentUser) throw new SignInRequiredError()
    if (!isFullAccess(request.currentUser)) throw new ForbiddenError('Only Full Access users can do this.')
  })
}, { name: 'auth', dependencies: ['orm', 'session', 'session-store', 'clock'] })
