import { randomUUID } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { CREDITS_PAGE, PaymentDeclinedError, TOP_UP_AMOUNTS, creditLedger } from '../../../domain/credits/credits.service.js'
import { pendingTopUps, topUp, type TopUpResult } from '../../../domain/credits/top-up.service.js'
import { UserFacingError } from '../../../domain/errors.js'
import { creditsText } from '../../../domain/plan/plan-sentences.js'
import { formatDateTime } from '../../../domain/time/zoned.js'
import { plural } from '../../../plural.js'
import { topUpBody, type TopUpBody } from './schemas.js'

const KIND_LABELS = { top_up: 'Top-up', purchase: 'Subscription', renewal: 'Renewal', refund: 'Refund' }

async function showCredits (request: FastifyRequest, reply: FastifyReply, problem?: string): Promise<string> {
  const tz = request.practice!.timeZone
  const entries = (await creditLedger(request.em, request.practice!.id)).map(entry => ({
    ...entry,
    date: formatDateTime(entry.occurredAt, tz),
    kindLabel: KIND_LABELS[entry.kind],
    period: entry.periodStart && entry.periodEnd ? `${formatDateTime(entry.periodStart, tz)} – ${formatDateTime(entry.periodEnd, tz)}` : ''
  }))
  const pending = (await pendingTopUps(request.em, request.practice!.id)).map(topUp => ({ credits: creditsText(topUp.credits), since: formatDateTime(topUp.since, tz) }))
  return reply.page('pages/settings/credits', {
    title: 'Settings › Credits',
    balance: creditsText(request.practice!.creditBalance),
    entries,
    pending,
    amounts: TOP_UP_AMOUNTS.map(credits => ({ value: credits, label: creditsText(credits) })),
    idempotencyKey: randomUUID(),
    provider: request.server.paymentProvider,
    problem
  })
}

function topUpNotice (result: TopUpResult): string {
  return result.status === 'settled'
    ? `${creditsText(result.credits)} ${plural(result.credits, 'was', 'were')} added. Your balance is ${creditsText(result.balanceAfter)}.`
    : `The payment of ${creditsText(result.credits)} is not confirmed yet. It is listed as pending and will be credited once the payment provider confirms it.`
}

export default async function credits (app: FastifyInstance): Promise<void> {
  app.addHook('preHandler', app.requireUser)

  app.get('/', { config: { recording: 'view' } }, async (request, reply) => {
    await request.record({ action: 'view', page: CREDITS_PAGE, description: 'Viewed the credit balance and ledger' })
    return showCredits(request, reply)
  })

  app.post<{ Body: TopUpBody }>('/top-up', {
    config: { recording: 'change' }, preHandler: app.requireFullAccess, schema: { body: topUpBody }
  }, async (request, reply) => {
    if (!app.paymentProvider) throw new UserFacingError(503, 'Top-ups are not available: no payment provider is configured.')
    try {
      const result = await topUp(request.em, app.paymentProvider, request.actor(), Number(request.body.credits), request.body.idempotencyKey)
      if (result.status === 'pending' && result.problem) request.log.warn({ err: result.problem }, 'the payment provider gave no answer; the top-up stays pending')
      request.session.flash = topUpNotice(result)
      return reply.redirect('/settings/credits', 303)
    } catch (err) {
      if (!(err instanceof PaymentDeclinedError)) throw err
      reply.status(402)
      return showCredits(request, reply, err.message)
    }
  })
}
