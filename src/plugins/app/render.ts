import fp from 'fastify-plugin'
import type { FastifyRequest } from 'fastify'
import { countOpenAlerts } from '../../domain/alerts/alert-store.js'
import { isFullAccess } from '../../domain/users/user.entity.js'

declare module 'fastify' {
  interface FastifyReply {
    page: (template: string, data?: Record<string, unknown>) => Promise<string>
    pageOrFragment: (page: string, fragment: string, data?: Record<string, unknown>) => Promise<string>
  }
  interface FastifyRequest {
    isHtmx: boolean
  }
  interface Session {
    flash?: string
  }
}

/**
 * The top bar's count of unacknowledged alerts, for Full Access users on a
 * whole page (fragments have no top bar). A page is still shown if the
 * count cannot be read.
 */
async function openAlertsFor (request: FastifyRequest, template: string): Promise<number | null> {
  const user = request.currentUser
  if (!user || !isFullAccess(user) || !template.startsWith('pages/')) return null
  try {
    return await countOpenAlerts(request.em, user.practiceGroupId)
  } catch (err) {
    request.log.error({ err }, 'the count of open alerts could not be read')
    return null
  }
}

/**
 * Renders templates with what every page needs (the signed-in user, the
 * practice, a CSRF token, a one-time notice). One URL serves the full page
 * or, for an htmx request, just the fragment the page itself includes.
 */
export default fp(async (app) => {
  app.decorateRequest('isHtmx', {
    getter () {
      return this.headers['hx-request'] === 'true' && this.headers['hx-history-restore-request'] !== 'true'
    }
  })

  app.decorateReply('page', async function (template: string, data: Record<string, unknown> = {}) {
    const request = this.request
    const flash = request.session.flash
    if (flash) request.session.flash = undefined
    this.type('text/html; charset=utf-8')
    return this.viewAsync(template, {
      user: request.currentUser,
      practice: request.practice,
      csrfToken: this.generateCsrf(),
      path: request.url,
      flash,
      openAlerts: await openAlertsFor(request, template),
      ...data
    })
  })

  app.decorateReply('pageOrFragment', async function (page: string, fragment: string, data: Record<string, unknown> = {}) {
    this.header('Vary', 'HX-Request')
    return this.page(this.request.isHtmx ? fragment : page, data)
  })
}, { name: 'render', dependencies: ['view', 'csrf', 'auth'] })
