import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { UserFacingError } from '../../../domain/errors.js'
import { creditsText } from '../../../domain/plan/plan-sentences.js'
import { ADD_ONS_PAGE, purchaseSubscription, setAutoRenew } from '../../../domain/subscriptions/subscription.service.js'
import { plural } from '../../../plural.js'
import { addOnState } from './add-on-state.js'
import { autoRenewBody, purchaseBody, type AutoRenewBody, type PurchaseBody } from './schemas.js'

async function showAddOns (request: FastifyRequest, reply: FastifyReply, problem?: string): Promise<string> {
  const addOn = await addOnState(request.em, request.server.plan, request.practice!, request.currentUser!, request.server.clock.now())
  return reply.page('pages/settings/add-ons', { title: 'Settings › Add-ons', addOn, problem })
}

export default async function addOns (app: FastifyInstance): Promise<void> {
  app.addHook('preHandler', app.requireUser)

  app.get('/', { config: { recording: 'view' } }, async (request, reply) => {
    await request.record({ action: 'view', page: ADD_ONS_PAGE, description: 'Viewed the add-ons and the User Action History subscription' })
    return showAddOns(request, reply)
  })

  app.post<{ Body: PurchaseBody }>('/subscribe', {
    config: { recording: 'change' }, preHandler: app.requireFullAccess, schema: { body: purchaseBody }
  }, async (request, reply) => {
    try {
      const result = await purchaseSubscription(request.em, request.server.plan, request.actor(), request.body.idempotencyKey, request.body.expectedPrice)
      request.session.flash = `User Action History is active. ${creditsText(result.price)} ${plural(result.price, 'was', 'were')} charged; your balance is ${creditsText(result.balanceAfter)}.`
      return reply.redirect('/settings/add-ons', 303)
    } catch (err) {
      if (!(err instanceof UserFacingError) || err.statusCode !== 409) throw err
      reply.status(409)
      return showAddOns(request, reply, err.message)
    }
  })

  app.post<{ Body: AutoRenewBody }>('/auto-renew', {
    config: { recording: 'change' }, preHandler: app.requireFullAccess, schema: { body: autoRenewBody }
  }, async (request, reply) => {
    const on = request.body.autoRenew === 'on'
    await setAutoRenew(request.em, request.actor(), on)
    request.session.flash = on ? 'Auto-renew is on.' : 'Auto-renew is off. The subscription ends with the current period unless you turn it back on.'
    return reply.redirect('/settings/add-ons', 303)
  })
}
