import type { FastifyReply, FastifyRequest } from 'fastify'
import { verifyPracticeChain } from '../../domain/chain/chain.service.js'
import { describeVerification, type VerificationInWords } from '../../domain/chain/describe-verification.js'
import { assertMayViewHistory } from '../../domain/history/history-scope.js'

export interface IntegrityView {
  action: string
  result: VerificationInWords | null
}

/**
 * Checks the practice's whole history against its hash chain, for a Full
 * Access user, and records that it was done and what it found.
 */
export async function verifyIntegrity (request: FastifyRequest, reply: FastifyReply, action: string, back: { href: string, label: string }): Promise<string> {
  assertMayViewHistory(request.currentUser!)
  const practice = request.practice!
  const result = await verifyPracticeChain(request.em, practice.id)
  const view: IntegrityView = { action, result: describeVerification(result, practice.timeZone) }
  await request.record({
    action: 'view', page: 'Settings > Users > History',
    description: `Verified the integrity of the User Action History: ${result.intact ? `intact, ${result.verified} records` : `broken (${result.firstProblem!.message})`}`
  })
  return reply.pageOrFragment('pages/integrity', 'partials/history/integrity', { title: 'Verify integrity', back, integrity: view })
}
