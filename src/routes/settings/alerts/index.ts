import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { ValidationError, type FieldErrors } from '../../../domain/errors.js'
import { describeChanges } from '../../../domain/practice-records/fields.js'
import { acknowledgeAlert, countOpenAlerts, getAlert, listAlerts } from '../../../domain/alerts/alert-store.js'
import { loadAlertSettings, readAlertSettingsForm, saveAlertSettings } from '../../../domain/alerts/alert-settings.js'
import { arrivedSince, listReviews, markReviewed } from '../../../domain/alerts/access-reviews.js'
import { RULE_NAMES } from '../../../domain/alerts/rules.js'
import { formatDateTime, formatIsoDate, localIsoDate } from '../../../domain/time/zoned.js'
import { alertView, ruleChoices, settingsValues, weekdays } from './presenter.js'
import {
  alertIdParams, noteBody, reviewBody, settingsBody,
  type AlertIdParams, type NoteBody, type ReviewBody, type SettingsBody
} from './schemas.js'

const ALERTS_PAGE = 'Settings > Alerts'
const SETTINGS_PAGE = 'Settings > Alerts > Rules'

interface Problems {
  /** The alert whose acknowledgement failed, and why. */
  alert?: { id: number, errors: FieldErrors, note: string }
  review?: { errors: FieldErrors, values: ReviewBody }
}

async function showAlerts (request: FastifyRequest, reply: FastifyReply, problems: Problems = {}): Promise<string> {
  const practice = request.practice!
  const timeZone = practice.timeZone
  const alerts = await listAlerts(request.em, practice.id)
  const reviews = await listReviews(request.em, practice.id)
  const since = await arrivedSince(request.em, practice.id, reviews[0], timeZone)
  return reply.page('pages/settings/alerts', {
    title: 'Settings › Alerts',
    alerts: alerts.map(alert => alertView(alert, timeZone)),
    reviews: reviews.map(review => ({ ...review, upTo: formatIsoDate(review.reviewedUpTo), when: formatDateTime(review.createdAt, timeZone) })),
    since,
    problems,
    reviewValues: problems.review?.values ?? { reviewedUpTo: localIsoDate(request.server.clock.now(), timeZone), note: '' }
  })
}

async function showSettings (reply: FastifyReply, values: Record<string, string | undefined>, errors: FieldErrors = {}): Promise<string> {
  return reply.page('pages/settings/alert-settings', { title: 'Settings › Alerts › Rules', values, errors, ruleChoices, weekdays })
}

/**
 * Settings > Alerts, for Full Access users only: the alerts the keeper's
 * pass raised, their acknowledgement, access reviews, and the rules.
 */
export default async function alerts (app: FastifyInstance): Promise<void> {
  app.addHook('preHandler', app.requireFullAccess)

  app.get('/', { config: { recording: 'view' } }, async (request, reply) => {
    await request.record({ action: 'view', page: ALERTS_PAGE, description: 'Viewed the snooping alerts and access reviews' })
    return showAlerts(request, reply)
  })

  app.post<{ Params: AlertIdParams, Body: NoteBody }>('/:id/acknowledge', {
    config: { recording: 'change' }, schema: { params: alertIdParams, body: noteBody }
  }, async (request, reply) => {
    const practice = request.practice!
    const user = request.currentUser!
    const note = request.body.note ?? ''
    try {
      const alert = await request.em.transactional(async em => {
        const acknowledged = await acknowledgeAlert(em, practice.id, request.params.id, user, note, request.server.clock.now())
        await request.record({
          action: 'update', page: ALERTS_PAGE, recordType: 'alert', recordId: acknowledged.id,
          description: `Acknowledged the alert "${RULE_NAMES[acknowledged.rule]}" about ${acknowledged.userName ?? acknowledged.ip ?? 'unknown'}: ${acknowledged.acknowledgementNote}`
        }, { em })
        return acknowledged
      })
      if (!request.isHtmx) {
        request.session.flash = `The alert "${RULE_NAMES[alert.rule]}" is acknowledged.`
        return reply.redirect('/settings/alerts', 303)
      }
      const openAlerts = await countOpenAlerts(request.em, practice.id)
      return reply.page('partials/alerts/alert', { alert: alertView(alert, practice.timeZone), errors: {}, note: '', openAlerts, withBadge: true })
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err
      if (!request.isHtmx) {
        reply.status(422)
        return showAlerts(request, reply, { alert: { id: request.params.id, errors: err.fields, note } })
      }
      const alert = await getAlert(request.em, practice.id, request.params.id)
      reply.status(400)
      return reply.page('partials/alerts/alert', { alert: alertView(alert, practice.timeZone), errors: err.fields, note })
    }
  })

  app.post<{ Body: ReviewBody }>('/reviews', { config: { recording: 'change' }, schema: { body: reviewBody } }, async (request, reply) => {
    const practice = request.practice!
    const values = { reviewedUpTo: request.body.reviewedUpTo ?? '', note: request.body.note ?? '' }
    try {
      await request.em.transactional(async em => {
        const review = await markReviewed(em, practice.id, request.currentUser!, values, practice.timeZone, request.server.clock.now())
        await request.record({
          action: 'create', page: ALERTS_PAGE, recordType: 'access review', recordId: review.id,
          description: `Marked the history reviewed up to ${formatIsoDate(review.reviewedUpTo)}: ${review.note}`
        }, { em })
      })
      request.session.flash = `The history is marked reviewed up to ${formatIsoDate(values.reviewedUpTo.trim())}.`
      return reply.redirect('/settings/alerts', 303)
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err
      reply.status(422)
      return showAlerts(request, reply, { review: { errors: err.fields, values } })
    }
  })

  app.get('/rules', { config: { recording: 'view' } }, async (request, reply) => {
    const settings = await loadAlertSettings(request.em, request.practice!.id)
    await request.record({ action: 'view', page: SETTINGS_PAGE, description: 'Viewed the alert rules and opening hours' })
    return showSettings(reply, settingsValues(settings))
  })

  app.post<{ Body: SettingsBody }>('/rules', { config: { recording: 'change' }, schema: { body: settingsBody } }, async (request, reply) => {
    const practice = request.practice!
    try {
      const settings = readAlertSettingsForm(request.body)
      const changes = await request.em.transactional(async em => {
        const changed = await saveAlertSettings(em, practice.id, settings)
        if (changed.length > 0) {
          await request.record({
            action: 'update', page: SETTINGS_PAGE, recordType: 'alert settings', recordId: practice.id,
            description: `Changed the alert rules: ${describeChanges(changed)}`, changes: changed
          }, { em })
        }
        return changed
      })
      request.session.flash = changes.length > 0 ? 'The alert rules are saved.' : 'Nothing was changed.'
      return reply.redirect('/settings/alerts', 303)
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err
      reply.status(422)
      return showSettings(reply, request.body, err.fields)
    }
  })
}
