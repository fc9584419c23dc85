import type { FastifyReply, FastifyRequest } from 'fastify'
import { UserFacingError } from '../../domain/errors.js'
import { openExpiryArchive } from '../../domain/history/expiry-archive.js'
import { historyAccess } from '../../domain/history/access.js'
import { deletionAtExpiry } from '../../domain/retention/retention.js'
import { formatDateTime, localIsoDate } from '../../domain/time/zoned.js'

/**
 * Everything the end of the current subscription period would delete, as
 * far as this viewer may see it, in one zip. Offered by the expiry banner;
 * recorded as an export before the first byte leaves.
 */
export async function downloadExpiryArchive (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const now = request.server.clock.now()
  const practice = request.practice!
  const subscription = request.subscription
  const plan = request.server.plan
  const { scope, may } = historyAccess(plan, request.currentUser!, practice, subscription, now)
  if (!subscription || !may.archive) throw new UserFacingError(409, 'There is no active subscription whose end would delete records, so there is nothing to archive.')
  const expiresAt = subscription.currentPeriodEnd
  const { cutoff, count } = await deletionAtExpiry(request.em, plan, practice.id, expiresAt)
  if (count === 0) throw new UserFacingError(409, 'No records are old enough to be deleted when this subscription period ends, so there is nothing to archive.')
  const tz = practice.timeZone
  const stream = await openExpiryArchive(request.em, scope, { practiceName: practice.name, timeZone: tz, expiresAt, cutoff, now }, async records => {
    await request.record({
      action: 'export', page: 'Settings > Users > History',
      description: `Archived ${records} records from before ${formatDateTime(cutoff, tz)}, which the end of the subscription on ${formatDateTime(expiresAt, tz)} would delete (zip: CSV, NDJSON, SHA-256 manifest)`
    })
  })
  reply.header('content-disposition', `attachment; filename="user-action-history-before-${localIsoDate(cutoff, tz)}.zip"`)
  reply.type('application/zip')
  return reply.send(stream)
}
