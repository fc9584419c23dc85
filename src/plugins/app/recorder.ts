import fp from 'fastify-plugin'
import type { FastifyRequest } from 'fastify'
import type { RefusalError } from '../../domain/errors.js'
import type { EntityManager } from '@mikro-orm/core'
import { recordEvent } from '../../domain/recorder/recorder.js'
import { type RecordedEvent, type Actor } from '../../domain/audit-records/record.js'
import type { User } from '../../domain/users/user.entity.js'

/**
 * How a route relates to the User Action History: `view` routes must record
 * a view before their page is sent, `change` routes record each change in its
 * own transaction, `sign-in` routes record sign-in events, and `exempt`
 * routes show no practice data (assets, health check, blank forms).
 */
export type RouteRecording = 'view' | 'change' | 'sign-in' | 'exempt'

declare module 'fastify' {
  interface FastifyContextConfig {
    recording?: RouteRecording
  }
  interface FastifyRequest {
    actor: (as?: User) => Actor
    record: (event: RecordedEvent, options?: { em?: EntityManager, as?: User }) => Promise<void>
    recorded: boolean
  }
  interface FastifyInstance {
    routeRecordings: { method: string, url: string, recording: RouteRecording }[]
  }
}

const STATIC_PREFIXES = ['/public/', '/vendor/']

export default fp(async (app) => {
  const routes: { method: string, url: string, recording: RouteRecording }[] = []
  app.decorate('routeRecordings', routes)

  app.addHook('onRoute', (route) => {
    const methods = ([] as string[]).concat(route.method)
    const declared = route.config?.recording
    const recording = declared ?? (STATIC_PREFIXES.some(prefix => route.url.startsWith(prefix)) ? 'exempt' : undefined)
    if (!recording) throw new Error(`Route ${methods.join(',')} ${route.url} must declare config.recording (view, change, sign-in or exempt)`)
    for (const method of methods) routes.push({ method, url: route.url, recording })
  })

  app.decorateRequest('recorded', false)

  app.decorateRequest('actor', function (as?: User): Actor {
    const user = as ?? this.currentUser
    if (!user) throw new Error('No user to record an event for')
    return {
      practiceGroupId: user.practiceGroupId,
      userId: user.id,
      userName: user.name,
      url: this.url,
      ip: this.ip,
      timeZone: this.practice?.timeZone ?? 'Australia/Sydney',
      occurredAt: app.clock.now()
    }
  })

  app.decorateRequest('record', async function (event: RecordedEvent, options: { em?: EntityManager, as?: User } = {}): Promise<void> {
    await recordEvent(options.em ?? this.em, this.actor(options.as), event)
    this.recorded = true
  })

  // Fail closed: a page declared as a view is never sent unless its view was recorded.
  app.addHook('onSend', async (request, reply, payload) => {
    if (request.routeOptions.config?.recording !== 'view' || reply.statusCode !== 200 || request.recorded) return payload
    request.log.error({ url: request.url }, 'a view route answered without recording the view')
    reply.status(503).type('text/plain; charset=utf-8')
    return 'This page could not be recorded in the User Action History, so it is not shown.'
  })
}, { name: 'recorder', dependencies: ['clock'] })

/** The page name under which refused attempts are recorded. */
export const REFUSED_PAGE = 'Access check'

/**
 * Records a refused attempt by a signed-in user (no permission, an access
 * level that does not allow it, a record id that is not in their practice)
 * as a `denied` record. It goes through group commit like a view, so a burst
 * of refusals costs one insert per batch. The refusal is answered either
 * way: nothing was shown or changed.
 */
export async function recordRefusal (request: FastifyRequest, refusal: RefusalError): Promise<void> {
  const concerning = refusal.concerning
  try {
    await request.record({
      action: 'denied', page: REFUSED_PAGE,
      recordType: concerning?.recordType ?? null, recordId: concerning?.recordId ?? null, patientId: concerning?.patientId ?? null,
      description: `Refused ${request.method} ${request.url.split('?')[0]}: ${refusal.message}`
    })
  } catch (err) {
    request.log.error({ err }, 'a refused attempt could not be recorded')
  }
}
