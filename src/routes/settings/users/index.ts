import { localIsoDate } from '../../../domain/time/zoned.js'
import type { FastifyInstance } from 'fastify'
import { ACCESS_LEVELS } from '../../../domain/users/user.entity.js'
import { ValidationError } from '../../../domain/errors.js'
import { describeChanges } from '../../../domain/practice-records/fields.js'
import { mayViewHistory } from '../../../domain/history/access.js'
import { createUser, getUser, listUsers, updateAccessSettings } from '../../../domain/users/user.service.js'
import {
  accessSettingsBody, newUserBody, userIdParams,
  type AccessSettingsBody, type NewUserBody, type UserIdParams
} from './schemas.js'

const LIST_PAGE = 'Settings > Users'

const EDIT_PAGE = 'Settings > Users > Access settings'

export default async function users (app: FastifyInstance): Promise<void> {
  app.addHook('preHandler', app.requireUser)

  app.get('/', { config: { recording: 'view' } }, async (request, reply) => {
    const users = await listUsers(request.em, request.practice!.id)
    await request.record({ action: 'view', page: LIST_PAGE, description: 'Viewed the list of users' })
    return reply.page('pages/settings/users', { title: 'Settings › Users', users, mayViewHistory: mayViewHistory(request.currentUser!) })
  })

  app.get('/new', { config: { recording: 'exempt' }, preHandler: app.requireFullAccess }, async (_request, reply) =>
    reply.page('pages/settings/user-new', { title: 'Add a user', values: { accessLevel: 'Practitioner' }, errors: {}, accessLevels: ACCESS_LEVELS }))

  app.post<{ Body: NewUserBody }>('/', { config: { recording: 'change' }, preHandler: app.requireFullAccess, schema: { body: newUserBody } }, async (request, reply) => {
    const values = { name: '', email: '', password: '', accessLevel: '', dateOfBirth: '', ...request.body }
    const today = localIsoDate(app.clock.now(), request.practice!.timeZone)
    try {
      const user = await request.em.transactional(async em => {
        const created = await createUser(em, request.practice!.id, values, today)
        await em.flush()
        await request.record({
          action: 'create', page: LIST_PAGE, recordType: 'user', recordId: created.id,
          description: `Added user ${created.name} (${created.email}) with ${created.accessLevel}`
        }, { em })
        return created
      })
      request.session.flash = `${user.name} was added. Their User Action History permission is off until you turn it on.`
      return reply.redirect('/settings/users', 303)
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err
      reply.status(422)
      return reply.page('pages/settings/user-new', { title: 'Add a user', values: { ...values, password: '' }, errors: err.fields, accessLevels: ACCESS_LEVELS })
    }
  })

  app.get<{ Params: UserIdParams }>('/:id/edit', { config: { recording: 'view' }, preHandler: app.requireFullAccess, schema: { params: userIdParams } }, async (request, reply) => {
    const user = await getUser(request.em, request.practice!.id, request.params.id)
    await request.record({ action: 'view', page: EDIT_PAGE, recordType: 'user', recordId: user.id, description: `Viewed access settings of ${user.name}` })
    return reply.page('pages/settings/user-edit', { title: `Edit ${user.name}`, target: user, values: user, errors: {}, accessLevels: ACCESS_LEVELS })
  })

  app.post<{ Params: UserIdParams, Body: AccessSettingsBody }>('/:id', {
    config: { recording: 'change' },
    preHandler: app.requireFullAccess,
    schema: { params: userIdParams, body: accessSettingsBody }
  }, async (request, reply) => {
    const input = {
      accessLevel: request.body.accessLevel ?? '',
      active: request.body.active === 'on',
      canViewHistory: request.body.canViewHistory === 'on',
      dateOfBirth: request.body.dateOfBirth ?? ''
    }
    const today = localIsoDate(app.clock.now(), request.practice!.timeZone)
    try {
      const target = await request.em.transactional(async em => {
        const user = await getUser(em, request.practice!.id, request.params.id)
        const changes = await updateAccessSettings(em, user, input, today)
        if (changes.length === 0) return user
        await em.flush()
        await request.record({
          action: 'update', page: EDIT_PAGE, recordType: 'user', recordId: user.id,
          description: `Changed access settings of ${user.name}: ${describeChanges(changes)}`, changes
        }, { em })
        return user
      })
      if (!target.active) await app.sessionStore.endSessionsOf(target.id)
      request.session.flash = `Access settings saved for ${target.name}.`
      return reply.redirect('/settings/users', 303)
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err
      const target = await getUser(request.em, request.practice!.id, request.params.id)
      reply.status(422)
      return reply.page('pages/settings/user-edit', { title: `Edit ${target.name}`, target, values: input, errors: err.fields, accessLevels: ACCESS_LEVELS })
    }
  })
}
