import type { FastifyReply, FastifyRequest } from 'fastify'
import { verifyPracticeChain } from '../../domain/chain/chain.service.js'
import { describeVerification } from '../../domain/chain/describe-verification.js'
import { counted } from '../../plural.js'
import { integrityView } from './integrity-presenter.js'
import type { VerifyBody } from './schemas.js'

const HEAD = /^[0-9a-f]{64}$/

/**
 * Checks the practice's whole history against its hash chain and its
 * newest signed heads, for someone
 * the guard let verify, and records that it was done and what it found.
 */
export async function verifyIntegrity (request: FastifyRequest<{ Body: VerifyBody }>, reply: FastifyReply): Promise<string> {
  const { spec } = request.history!
  const practice = request.practice!
  const knownHead = (request.body?.knownHead ?? '').trim().toLowerCase()
  const { key, filesOf } = request.server.chainSigning
  const render = async (state: Parameters<typeof integrityView>[2]): Promise<string> =>
    reply.pageOrFragment('pages/integrity', 'partials/history/integrity', {
      title: 'Verify integrity', back: { href: spec.basePath, label: '‹ User Action History' }, integrity: integrityView(spec.basePath, key, state)
    })
  if (knownHead && !HEAD.test(knownHead)) {
    reply.status(400)
    return render({ knownHead, result: null, error: 'A chain head is the 64 letters and digits (0–9, a–f) shown after "Chain head" in an earlier verification. Nothing was verified.' })
  }
  const result = await verifyPracticeChain(request.em, request.server.plan, practice.id, {
    knownHead: knownHead ? Buffer.from(knownHead, 'hex') : null, signing: { key, files: filesOf(practice.id) }
  })
  await request.record({
    action: 'view', page: spec.recordedPage,
    description: `Verified the integrity of the User Action History: ${result.intact ? `intact, ${counted(result.verified, 'record', 'records')}` : `broken (${result.firstProblem!.message})`}`
  })
  return render({ knownHead, error: null, result: describeVerification(result, practice.timeZone) })
}
