import type { FastifyReply, FastifyRequest } from 'fastify'
import { readPeriod } from '../../domain/access-report/period.js'
import { UserFacingError } from '../../domain/errors.js'
import { sqlIn } from '../../db/sql.js'
import { buildReceipt } from '../../domain/signed-heads/receipt.js'
import { formatDateTime, localIsoDate } from '../../domain/time/zoned.js'
import type { ReceiptQuery } from './schemas.js'

/** The public half of the key that signs the chain's heads, to check them or a receipt with. */
export async function downloadSigningKey (request: FastifyRequest, reply: FastifyReply): Promise<string> {
  await request.record({ action: 'view', page: request.history!.spec.recordedPage, description: 'Downloaded the public key that signs the chain heads' })
  reply.header('content-disposition', 'attachment; filename="practice-audit-chain-signing-key.pub.pem"')
  reply.type('application/x-pem-file')
  return request.server.chainSigning.key.publicKeyPem
}

/**
 * A receipt for a period: the signed heads that vouch for it, with the
 * public key, as JSON to keep or hand to an auditor. Recorded as an export.
 */
export async function downloadReceipt (request: FastifyRequest<{ Querystring: ReceiptQuery }>, reply: FastifyReply): Promise<string> {
  const { now, access, spec } = request.history!
  const practice = request.practice!
  const tz = practice.timeZone
  const { period, problems } = readPeriod({ from: request.query.from ?? '', to: request.query.to ?? '' }, access.scope.window, now, tz)
  if (problems.length) throw new UserFacingError(400, `No receipt was made: ${problems.map(p => p.message).join(' ')}`)
  const until = period.until && period.until < now ? period.until : now
  const receipt = await buildReceipt(sqlIn(request.em), request.server.chainSigning.key, practice, period.since, until)
  await request.record({
    action: 'export', page: spec.recordedPage,
    description: `Downloaded a receipt of ${receipt.heads.length} signed chain heads for ${formatDateTime(period.since, tz)} to ${formatDateTime(until, tz)}`
  })
  reply.header('content-disposition', `attachment; filename="chain-receipt-${localIsoDate(period.since, tz)}-to-${localIsoDate(until, tz)}.json"`)
  reply.type('application/json; charset=utf-8')
  return JSON.stringify(receipt, null, 2)
}
