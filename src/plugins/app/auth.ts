import fp from 'fastify-plugin'
import type { FastifyRequest } from 'fastify'

import { PracticeGroup } from '../../domain/practice-groups/practice-group.entity.js'
import { User, isFullAccess } from '../../domain/users/user.entity.js'
import { ForbiddenError, UserFacingError } from '../../domain/errors.js'
import { SESSION_ABSOLUTE_HOURS } from '../external/session.js'

declare module 'fastify' {
  interface FastifyRequest {
    currentUser: User | null
    practice: PracticeGroup | null
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

  app.addHook('onRequest', async (request) => {
    const { userId, practiceGroupId, signedInAt } = request.session
    if (!userId || !practiceGroupId) return
    const ageHours = (app.clock.now().getTime() - new Date(signedInAt ?? 0).getTime()) / 3_600_000
    if (ageHours >= SESSION_ABSOLUTE_HOURS) {
      await request.session.destroy()
      return
    }
    // Both lookups go out together: every signed-in request waits for them.
    const [user, practice] = await Promise.all([
      request.em.findOne(User, { id: userId, practiceGroupId, active: true, isSystem: false }),
      request.em.findOne(PracticeGroup, { id: practiceGroupId })
    ])
    if (!user || !practice) {
      await request.session.destroy()
      return
    }
    request.currentUser = user
    request.practice = practice
  })

  app.decorate('requireUser', async (request: FastifyRequest) => {
    if (!request.currentUser) throw new SignInRequiredError()
  })

  app.decorate('requireFullAccess', async (request: FastifyRequest) => {
    if (!request.currentUser) throw new SignInRequiredError()
    if (!isFullAccess(request.currentUser)) throw new ForbiddenError('Only Full Access users can do this.')
  })
}, { name: 'auth', dependencies: ['orm', 'session', 'clock'] })
