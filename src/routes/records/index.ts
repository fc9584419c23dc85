import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { ValidationError } from '../../domain/errors.js'
import { mayViewHistory } from '../../domain/history/access.js'
import { formatField, inputValue } from '../../domain/practice-records/fields.js'
import type { PracticeRecordKind } from '../../domain/practice-records/practice-record-kind.js'
import { isFullAccess } from '../../domain/users/user.entity.js'
import {
  createRecord, deleteRecord, getRecord, listRecords, openDeletion, patientOfRecord, recordView, updateRecord
} from '../../domain/practice-records/practice-records.service.js'
import { formOptions } from './form-options.js'
import { recordIdParams } from '../plain-numbers.js'
import { listQuery, recordBody, type IdParams, type ListQuery, type RecordBody } from './schemas.js'

/** The list, profile, form and delete routes of one kind of practice record. */
export function recordRoutes (kind: PracticeRecordKind) {
  const noun = kind.title.toLowerCase()
  const idParams = recordIdParams(noun)

  /** Form inputs for stored values; a submitted form is shown again exactly as typed. */
  function inputsFor (request: FastifyRequest, values: Record<string, unknown>): Record<string, string> {
    return Object.fromEntries(kind.fields.map(f => [f.name, inputValue(f, values[f.name], request.practice!.timeZone)]))
  }

  async function showForm (request: FastifyRequest, reply: FastifyReply, inputs: Record<string, unknown>, errors: Record<string, string>, id?: number): Promise<string> {
    const options = await formOptions(request.em, kind, request.practice!.id)
    return reply.page('pages/records/form', { title: id ? `Edit ${noun}` : `New ${noun}`, kind, id, inputs, errors, options })
  }

  /** What the delete confirmation asks, as a dialog on the record's page or as a page of its own. */
  const deletionQuestion = (heading: string): string => `Delete ${noun} ${heading}?`

  /** Whether the patient a request opened is restricted, as the reason gate found when it let the request through. */
  const openedRestricted = new WeakMap<FastifyRequest, boolean>()

  /** On a patient's profile: whether they are restricted, and whether this user may change that. */
  function restrictionShown (request: FastifyRequest): { restricted: boolean, mayChange: boolean } | null {
    if (kind.type !== 'patient') return null
    return { restricted: openedRestricted.get(request) === true, mayChange: isFullAccess(request.currentUser!) }
  }

  return async function routes (app: FastifyInstance): Promise<void> {
    app.addHook('preHandler', app.requireUser)
    // Every route of one record (its page, form, save and delete) opens its patient, so a restricted patient asks for a reason first.
    app.addHook('preHandler', async (request) => {
      const { id } = (request.params ?? {}) as Partial<IdParams>
      if (typeof id !== 'number') return
      const { restricted } = await request.assertMayOpenPatient(await patientOfRecord(request.em, kind, request.practice!.id, id))
      openedRestricted.set(request, restricted)
      // Saving a record onto another patient adds to that patient's records: a restricted one asks for a reason too.
      const moveTo = kind.patientOf({ ...(request.body as Record<string, unknown> | undefined), id })
      if (request.method === 'POST' && kind.type !== 'patient' && Number.isInteger(moveTo)) await request.assertMayOpenPatient(moveTo)
    })

    app.get<{ Querystring: ListQuery }>('/', { config: { recording: 'view' }, schema: { querystring: listQuery } }, async (request, reply) => {
      const list = await listRecords(request.em, kind, request.practice!.id, request.query.q, request.query.page)
      const search = request.query.q.trim() ? `, searching for "${request.query.q.trim()}"` : ''
      const restricted = await request.patientsNeedingReason(list.rows.map(row => kind.patientOf(row) ?? 0))
      const withheld = new Set(list.rows.filter(row => restricted.has(kind.patientOf(row) ?? 0)).map(row => row.id))
      await request.record({ action: 'view', page: kind.plural, description: `Viewed the ${noun} list, page ${list.page}${search}` })
      return reply.page('pages/records/list', { title: kind.plural, kind, list, withheld, q: request.query.q, formatField })
    })

    app.get('/new', { config: { recording: 'view' } }, async (request, reply) => {
      await request.record({ action: 'view', page: kind.page, recordType: kind.type, description: `Opened the form for a new ${noun}` })
      return showForm(request, reply, inputsFor(request, kind.defaults(app.clock.now(), request.practice!.timeZone)), {})
    })

    app.post<{ Body: RecordBody }>('/', { config: { recording: 'change' }, schema: { body: recordBody } }, async (request, reply) => {
      try {
        const record = await request.em.transactional(em => createRecord(em, kind, request.actor(), request.currentUser!, request.body))
        request.session.flash = `${kind.title} saved.`
        return reply.redirect(`${kind.basePath}/${record.id}`, 303)
      } catch (err) {
        if (!(err instanceof ValidationError)) throw err
        reply.status(422)
        return showForm(request, reply, request.body, err.fields)
      }
    })

    app.get<{ Params: IdParams }>('/:id', { config: { recording: 'view' }, schema: { params: idParams } }, async (request, reply) => {
      const record = await getRecord(request.em, kind, request.practice!.id, request.params.id)
      const lookups = await recordView(request.em, kind, request.actor(), record)
      request.recorded = true
      const tz = request.practice!.timeZone
      const heading = kind.describe(record, lookups, tz)
      const shown = kind.fields.map(f => ({ label: f.label, value: formatField(f, record[f.name], tz, lookups), long: f.type === 'longtext' }))
      return reply.page('pages/records/show', {
        title: `${kind.title}: ${heading}`, kind, record, heading, shown,
        deletion: kind.mayDelete(request.currentUser!, record) === null ? { question: deletionQuestion(heading) } : null,
        mayViewHistory: mayViewHistory(request.currentUser!),
        restriction: restrictionShown(request)
      })
    })

    app.get<{ Params: IdParams }>('/:id/edit', { config: { recording: 'view' }, schema: { params: idParams } }, async (request, reply) => {
      const record = await getRecord(request.em, kind, request.practice!.id, request.params.id)
      await recordView(request.em, kind, request.actor(), record, 'Opened the edit form of')
      request.recorded = true
      return showForm(request, reply, inputsFor(request, record), {}, record.id)
    })

    app.post<{ Params: IdParams, Body: RecordBody }>('/:id', { config: { recording: 'change' }, schema: { params: idParams, body: recordBody } }, async (request, reply) => {
      try {
        await request.em.transactional(em => updateRecord(em, kind, request.actor(), request.currentUser!, request.params.id, request.body))
        request.session.flash = `${kind.title} saved.`
        return reply.redirect(`${kind.basePath}/${request.params.id}`, 303)
      } catch (err) {
        if (!(err instanceof ValidationError)) throw err
        await getRecord(request.em, kind, request.practice!.id, request.params.id)
        reply.status(422)
        return showForm(request, reply, request.body, err.fields, request.params.id)
      }
    })

    // Asks first and deletes nothing: only the form it shows, posted with the session's CSRF token, deletes.
    app.get<{ Params: IdParams }>('/:id/delete', { config: { recording: 'view' }, schema: { params: idParams } }, async (request, reply) => {
      const { record, heading } = await openDeletion(request.em, kind, request.actor(), request.currentUser!, request.params.id)
      request.recorded = true
      return reply.page('pages/records/delete', { title: `Delete ${noun}`, kind, record, question: deletionQuestion(heading) })
    })

    app.post<{ Params: IdParams }>('/:id/delete', { config: { recording: 'change' }, schema: { params: idParams } }, async (request, reply) => {
      await request.em.transactional(em => deleteRecord(em, kind, request.actor(), request.currentUser!, request.params.id))
      request.session.flash = `${kind.title} deleted.`
      return reply.redirect(kind.basePath, 303)
    })
  }
}
