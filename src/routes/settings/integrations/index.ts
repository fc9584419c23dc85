import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { ValidationError, type FieldErrors } from '../../../domain/errors.js'
import { describeChanges } from '../../../domain/practice-records/fields.js'
import { readEndpointForm, NAME_MAX, URL_MAX } from '../../../domain/integrations/endpoint-form.js'
import { windowFor } from '../../../domain/history/access.js'
import { addEndpoint, changeEndpoint, listEndpoints, removeEndpoint, replaceSecret, type Endpoint } from '../../../domain/integrations/endpoints.js'
import { REPLAY_WINDOW_SECONDS, SIGNATURE_HEADER, TIMESTAMP_HEADER } from '../../../domain/integrations/delivery-signature.js'
import { endpointView } from './presenter.js'
import { endpointBody, endpointIdParams, type EndpointBody, type EndpointIdParams } from './schemas.js'

const PAGE = 'Settings > Integrations'
const RECORD_TYPE = 'integration endpoint'

/** A form that failed: the add form (no id) or one endpoint's change form, with what was typed. */
interface Problem { id: number | null, errors: FieldErrors, values: EndpointBody }

const terms = { nameMax: NAME_MAX, urlMax: URL_MAX, replayMinutes: REPLAY_WINDOW_SECONDS / 60, timestampHeader: TIMESTAMP_HEADER, signatureHeader: SIGNATURE_HEADER }

async function showEndpoints (request: FastifyRequest, reply: FastifyReply, problem: Problem | null = null): Promise<string> {
  const practice = request.practice!
  const now = request.server.clock.now()
  const endpoints = await listEndpoints(request.em, practice.id)
  return reply.page('pages/settings/integrations', {
    title: 'Settings › Integrations',
    endpoints: endpoints.map(endpoint => endpointView(endpoint, now, practice.timeZone)),
    problem,
    terms
  })
}

/** The new secret, shown this once. */
async function showSecret (reply: FastifyReply, endpoint: Endpoint, secret: string, replaced: boolean): Promise<string> {
  reply.status(replaced ? 200 : 201)
  return reply.page('pages/settings/integration-secret', { title: 'Settings › Integrations › Secret', endpoint, secret, replaced, terms })
}

/**
 * Settings > Integrations, for Full Access users only: the receivers the
 * practice streams its sealed history to, their health, and adding,
 * changing, re-keying and removing them, each change recorded.
 */
export default async function integrations (app: FastifyInstance): Promise<void> {
  app.addHook('preHandler', app.requireFullAccess)
  const allowLocal = app.config.NODE_ENV !== 'production'

  app.get('/', { config: { recording: 'view' } }, async (request, reply) => {
    await request.record({ action: 'view', page: PAGE, description: 'Viewed the integrations and their delivery health' })
    return showEndpoints(request, reply)
  })

  app.post<{ Body: EndpointBody }>('/', { config: { recording: 'change' }, schema: { body: endpointBody } }, async (request, reply) => {
    try {
      const values = readEndpointForm(request.body ?? {}, allowLocal)
      const { endpoint, secret } = await request.em.transactional(async em => {
        const now = app.clock.now()
        const added = await addEndpoint(em, request.practice!.id, values, now, windowFor(app.plan, request.practice!, request.subscription, now).since)
        await request.record({
          action: 'create', page: PAGE, recordType: RECORD_TYPE, recordId: added.endpoint.id,
          description: `Added the endpoint "${values.name}" sending the history to ${values.url}`
        }, { em })
        return added
      })
      return await showSecret(reply, endpoint, secret, false)
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err
      reply.status(422)
      return showEndpoints(request, reply, { id: null, errors: err.fields, values: request.body ?? {} })
    }
  })

  app.post<{ Params: EndpointIdParams, Body: EndpointBody }>('/:id', {
    config: { recording: 'change' }, schema: { params: endpointIdParams, body: endpointBody }
  }, async (request, reply) => {
    try {
      const values = readEndpointForm(request.body ?? {}, allowLocal)
      const changes = await request.em.transactional(async em => {
        const changed = await changeEndpoint(em, request.practice!.id, request.params.id, values, app.clock.now())
        if (changed.changes.length > 0) {
          await request.record({
            action: 'update', page: PAGE, recordType: RECORD_TYPE, recordId: request.params.id,
            description: `Changed the endpoint "${changed.endpoint.name}": ${describeChanges(changed.changes)}`, changes: changed.changes
          }, { em })
        }
        return changed.changes
      })
      request.session.flash = changes.length > 0 ? `The endpoint "${values.name}" is saved.` : 'Nothing was changed.'
      return reply.redirect('/settings/integrations', 303)
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err
      reply.status(422)
      return showEndpoints(request, reply, { id: request.params.id, errors: err.fields, values: request.body ?? {} })
    }
  })

  app.post<{ Params: EndpointIdParams }>('/:id/secret', { config: { recording: 'change' }, schema: { params: endpointIdParams } }, async (request, reply) => {
    const { endpoint, secret } = await request.em.transactional(async em => {
      const replaced = await replaceSecret(em, request.practice!.id, request.params.id, app.clock.now())
      await request.record({
        action: 'update', page: PAGE, recordType: RECORD_TYPE, recordId: request.params.id,
        description: `Replaced the shared secret of the endpoint "${replaced.endpoint.name}"`
      }, { em })
      return replaced
    })
    return showSecret(reply, endpoint, secret, true)
  })

  app.post<{ Params: EndpointIdParams }>('/:id/delete', { config: { recording: 'change' }, schema: { params: endpointIdParams } }, async (request, reply) => {
    const removed = await request.em.transactional(async em => {
      const endpoint = await removeEndpoint(em, request.practice!.id, request.params.id)
      await request.record({
        action: 'delete', page: PAGE, recordType: RECORD_TYPE, recordId: endpoint.id,
        description: `Removed the endpoint "${endpoint.name}", which sent the history to ${endpoint.url}`
      }, { em })
      return endpoint
    })
    request.session.flash = `The endpoint "${removed.name}" is removed; nothing more is sent to it.`
    return reply.redirect('/settings/integrations', 303)
  })
}
