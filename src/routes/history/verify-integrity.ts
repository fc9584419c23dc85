import type { FastifyReply, FastifyRequest } from 'fastify'
import { verifyPracticeChain } from '../../domain/chain/chain.service.js'
import { describeVerification, type VerificationInWords } from '../../domain/chain/describe-verification.js'
import { assertMayVerify } from '../../domain/history/access.js'

export interface IntegrityView {
  action: string
  /** The head the user typed in, shown back to them. */
  knownHead: string
  error: string | null
  result: VerificationInWords | null
}

export const verifyBody = {
  type: 'object',
  properties: { knownHead: { type: 'string', maxLength: 500 } }
} as const

export interface VerifyBody { knownHead?: string }

const HEAD = /^[0-9a-f]{64}$/

/**
 * Checks the practice's whole history against its hash chain, for a Full
 * Access user, and records that it was done and what it found.
 */
export async function verifyIntegrity (
  request: FastifyRequest<{ Body: VerifyBody }>, reply: FastifyReply, action: string, back: { href: string, label: string }
): Promise<string> {
  assertMayVerify(request.currentUser!)
  const practice = request.practice!
  const knownHead = (request.body?.knownHead ?? '').trim().toLowerCase()
  const render = async (view: IntegrityView): Promise<string> =>
    reply.pageOrFragment('pages/integrity', 'partials/history/integrity', { title: 'Verify integrity', back, integrity: view })
  if (knownHead && !HEAD.test(knownHead)) {
    reply.status(400)
    return render({ action, knownHead, result: null, error: 'A chain head is the 64 letters and digits (0–9, a–f) shown after "Chain head" in an earlier verification. Nothing was verified.' })
  }
  const result = await verifyPracticeChain(request.em, request.server.plan, practice.id, knownHead ? Buffer.from(knownHead, 'hex') : null)
  const view: IntegrityView = { action, knownHead, error: null, result: describeVerification(result, practice.timeZone) }
  await request.record({
    action: 'view', page: 'Settings > Users > History',
    description: `Verified the integrity of the User Action History: ${result.intact ? `intact, ${result.verified} records` : `broken (${result.firstProblem!.message})`}`
  })
  return render(view)
}
