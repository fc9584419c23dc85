import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { ValidationError, type FieldErrors } from '../../domain/errors.js'
import { patientKind } from '../../domain/patients/patient.kind.js'
import { getRecord } from '../../domain/practice-records/practice-records.service.js'
import { parseId } from '../../domain/plain-numbers.js'
import { REASONS, REASON_DETAILS_MAX, giveReason, mustGiveReason, parseReason } from '../../domain/restricted-patients/break-glass.js'
import {
  RESTRICTION_PAGE, defaultOpenerIds, findRestriction, openerChoices, saveRestriction, type Person
} from '../../domain/restricted-patients/restriction.js'
import { safeNext } from '../auth/next-address.js'
import {
  patientIdParams, reasonBody, reasonQuery, restrictionBody,
  type PatientIdParams, type ReasonBody, type ReasonQuery, type RestrictionBody
} from './schemas.js'

/** The page recorded when someone is asked for a reason; giving one is recorded under its own page, which alerts watch. */
const ASKED_PAGE = 'Restricted patient'

async function patientOf (request: FastifyRequest<{ Params: PatientIdParams }>): Promise<Person> {
  const record = await getRecord(request.em, patientKind, request.practice!.id, request.params.id)
  return { id: record.id, name: String(record.name) }
}

/** Ticked users, as ids; anything that is not an id is a problem shown beside the list. */
function tickedIds (openers: string | string[] | undefined): number[] {
  const ids = [openers ?? []].flat().map(parseId)
  if (ids.some(id => id === null)) throw new ValidationError({ openers: 'Choose active users of this practice.' })
  return ids as number[]
}

/**
 * Break-the-glass at `/patients/:id/break-glass`: the page asking why, and
 * the reason given, which opens the patient for this session for 30
 * minutes. Marking a patient Restricted, and naming who may open them
 * without a reason, at `/patients/:id/restriction` (Full Access only).
 */
export default async function restrictedPatients (app: FastifyInstance): Promise<void> {
  app.addHook('preHandler', app.requireUser)

  async function showReasonForm (reply: FastifyReply, patient: Person, next: string, values: ReasonBody, errors: FieldErrors): Promise<string> {
    // Never kept by the browser, so going back to it asks the server again, which opens the record while the reason lasts.
    reply.header('Cache-Control', 'no-store')
    return reply.page('pages/restricted-patients/reason', {
      title: 'Restricted patient', patient, next, values, errors, reasons: REASONS, detailsMax: REASON_DETAILS_MAX
    })
  }

  const needsReason = async (request: FastifyRequest, patient: Person): Promise<boolean> =>
    mustGiveReason(request.em, request.currentUser!, patient.id, app.clock.now(), request.session.breakGlass ?? {})

  app.get<{ Params: PatientIdParams, Querystring: ReasonQuery }>('/:id/break-glass', {
    config: { recording: 'view' }, schema: { params: patientIdParams, querystring: reasonQuery }
  }, async (request, reply) => {
    const patient = await patientOf(request)
    const next = safeNext(request.query.next || `/patients/${patient.id}`)
    if (!await needsReason(request, patient)) return reply.redirect(next, 303)
    await request.record({ action: 'view', page: ASKED_PAGE, recordType: 'patient', recordId: patient.id, patientId: patient.id, description: `Was asked for a reason to open patient ${patient.name}` })
    return showReasonForm(reply, patient, next, {}, {})
  })

  app.post<{ Params: PatientIdParams, Body: ReasonBody }>('/:id/break-glass', {
    config: { recording: 'view' }, schema: { params: patientIdParams, body: reasonBody }
  }, async (request, reply) => {
    const patient = await patientOf(request)
    const next = safeNext(request.body.next || `/patients/${patient.id}`)
    // Only a patient restricted for this user takes a reason, so no reason (and no alert) is recorded for anyone else.
    if (!await mustGiveReason(request.em, request.currentUser!, patient.id, app.clock.now(), {})) return reply.redirect(next, 303)
    let reason: string
    try {
      reason = parseReason(request.body.reason, request.body.details)
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err
      reply.status(422)
      return showReasonForm(reply, patient, next, request.body, err.fields)
    }
    await giveReason(request.em, request.actor(), patient, reason)
    request.grantPatient(patient.id)
    return reply.redirect(next, 303)
  })

  async function showRestriction (request: FastifyRequest<{ Params: PatientIdParams }>, reply: FastifyReply, patient: Person, restricted: boolean, openerIds: number[], errors: FieldErrors): Promise<string> {
    const people = await openerChoices(request.em, request.practice!.id)
    return reply.page('pages/restricted-patients/restriction', { title: `Restriction: ${patient.name}`, patient, restricted, openerIds, people, errors })
  }

  app.get<{ Params: PatientIdParams }>('/:id/restriction', {
    config: { recording: 'view' }, schema: { params: patientIdParams }, preHandler: app.requireFullAccess
  }, async (request, reply) => {
    const patient = await patientOf(request)
    const restriction = await findRestriction(request.em, request.practice!.id, patient.id)
    const openerIds = restriction?.openerIds ?? await defaultOpenerIds(request.em, request.practice!.id, patient.id)
    await request.record({ action: 'view', page: RESTRICTION_PAGE, recordType: 'patient', recordId: patient.id, patientId: patient.id, description: `Viewed the restriction of patient ${patient.name}` })
    return showRestriction(request, reply, patient, restriction !== null, openerIds, {})
  })

  app.post<{ Params: PatientIdParams, Body: RestrictionBody }>('/:id/restriction', {
    config: { recording: 'change' }, schema: { params: patientIdParams, body: restrictionBody }, preHandler: app.requireFullAccess
  }, async (request, reply) => {
    const patient = await patientOf(request)
    const restricted = request.body.restricted === 'on'
    try {
      const openerIds = tickedIds(request.body.openers)
      await request.em.transactional(em => saveRestriction(em, request.actor(), patient, restricted ? openerIds : null))
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err
      reply.status(422)
      return showRestriction(request, reply, patient, restricted, [], err.fields)
    }
    request.session.flash = restricted ? `${patient.name} is restricted.` : `${patient.name} is no longer restricted.`
    return reply.redirect(`/patients/${patient.id}/restriction`, 303)
  })
}
