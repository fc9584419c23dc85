import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { UserFacingError } from '../../../domain/errors.js'
import { creditsText } from '../../../domain/plan/plan-sentences.js'
import { ADD_ONS_PAGE, purchaseSubscription, setAutoRenew } from '../../../domain/subscriptions/subscription.service.js'
import { plural } from '../../../plural.js'
import { addOnState, type AddOnState } from './add-on-state.js'
import { ADD_ONS_PATH } from './links.js'
import { autoRenewBody, purchaseBody, type AutoRenewBody, type PurchaseBody } from './schemas.js'

async function stateFor (request: FastifyRequest): Promise<AddOnState> {
  return addOnState(request.em, request.server.plan, request.practice!, request.currentUser!, request.server.clock.now())
}

async function showAddOns (request: FastifyRequest, reply: FastifyReply, problem?: string): Promise<string> {
  return reply.page('pages/settings/add-ons', { title: 'Settings › Add-ons', addOn: await stateFor(request), problem })
}

/** The purchase dialog as a page of its own: without JavaScript, and when a purchase must be confirmed again. */
async function showPurchase (reply: FastifyReply, addOn: AddOnState, problem?: string): Promise<string> {
  return reply.page('pages/settings/subscribe', { title: 'Settings › Add-ons › Subscribe', addOn, problem })
}

export default async function addOns (app: FastifyInstance): Promise<void> {
  app.addHook('preHandler', app.requireUser)

  app.get('/', { config: { recording: 'view' } }, async (request, reply) => {
    await request.record({ action: 'view', page: ADD_ONS_PAGE, description: 'Viewed the add-ons and the User Action History subscription' })
    return showAddOns(request, reply)
  })

  app.get('/subscribe', { config: { recording: 'view' }, preHandler: app.requireFullAccess }, async (request, reply) => {
    const addOn = await stateFor(request)
    if (addOn.state === 'active') return reply.redirect(ADD_ONS_PATH, 303)
    await request.record({ action: 'view', page: ADD_ONS_PAGE, description: 'Opened the purchase of the User Action History subscription' })
    return showPurchase(reply, addOn)
  })

  app.post<{ Body: PurchaseBody }>('/subscribe', {
    config: { recording: 'change' }, preHandler: app.requireFullAccess, schema: { body: purchaseBody }
  }, async (request, reply) => {
    try {
      const result = await purchaseSubscription(request.em, request.server.plan, request.actor(), request.body.idempotencyKey, request.body.expectedPrice)
      request.session.flash = `User Action History is active. ${creditsText(result.price)} ${plural(result.price, 'was', 'were')} charged; your balance is ${creditsText(result.balanceAfter)}. Now turn on its permission for the people who should see the history.`
      return reply.redirect(ADD_ONS_PATH, 303)
    } catch (err) {
      if (!(err instanceof UserFacingError) || err.statusCode !== 409) throw err
      reply.status(409)
      const addOn = await stateFor(request)
      return addOn.state === 'active' ? showAddOns(request, reply, err.message) : showPurchase(reply, addOn, err.message)
    }
  })

  app.post<{ Body: AutoRenewBody }>('/auto-renew', {
    config: { recording: 'change' }, preHandler: app.requireFullAccess, schema: { body: autoRenewBody }
  }, async (request, reply) => {
    const on = request.body.autoRenew === 'on'
    await setAutoRenew(request.em, request.actor(), on)
    request.session.flash = on ? 'Auto-renew is on.' : 'Auto-renew is off. The subscription ends with the current period unless you turn it back on.'
    return reply.redirect(ADD_ONS_PATH, 303)
  })
}
