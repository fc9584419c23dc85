import type { EntityManager } from '@mikro-orm/core'
import type { PoolClient } from 'pg'
import { toPg } from '../../db/sql.js'
import { NotFoundError, ValidationError } from '../errors.js'
import type { AlertDraft } from './detect.js'
import type { Rule } from './rules.js'

/** An alert as the Alerts page lists it. */
export interface Alert {
  id: number
  rule: Rule
  raisedAt: Date
  userId: number | null
  userName: string | null
  patientId: number | null
  patientName: string | null
  ip: string | null
  summary: string
  evidenceFrom: Date
  evidenceTo: Date
  acknowledgedAt: Date | null
  acknowledgedByName: string | null
  acknowledgementNote: string | null
}

function alertFromRow (row: Record<string, unknown>): Alert {
  const date = (value: unknown): Date | null => value == null ? null : new Date(value as string)
  return {
    id: Number(row.id),
    rule: row.rule as Rule,
    raisedAt: date(row.raised_at)!,
    userId: row.user_id as number | null,
    userName: row.user_name as string | null,
    patientId: row.patient_id as number | null,
    patientName: row.patient_name as string | null,
    ip: row.ip as string | null,
    summary: String(row.summary),
    evidenceFrom: date(row.evidence_from)!,
    evidenceTo: date(row.evidence_to)!,
    acknowledgedAt: date(row.acknowledged_at),
    acknowledgedByName: row.acknowledged_by_name as string | null,
    acknowledgementNote: row.acknowledgement_note as string | null
  }
}

const ALERT_COLUMNS = `a.id, a.rule, a.raised_at, a.user_id, a.user_name, a.patient_id, p.name as patient_name, host(a.ip) as ip, a.summary,
  a.evidence_from, a.evidence_to, a.acknowledged_at, a.acknowledged_by_name, a.acknowledgement_note`
const WITH_PATIENT = 'alerts a left join patients p on p.id = a.patient_id and p.practice_group_id = a.practice_group_id'

/**
 * The open alert already raised for this finding, if one lies within the
 * rule's quiet minutes of it. An acknowledged alert takes no more evidence:
 * what happens after someone looked at it is a new alert.
 */
async function raisedRecently (client: PoolClient, draft: AlertDraft, quietMinutes: number): Promise<number | null> {
  const gap = quietMinutes * 60_000
  const { rows } = await client.query(
    'select id from alerts where practice_group_id = $1 and rule = $2 and subject_key = $3 and acknowledged_at is null and evidence_to >= $4 and evidence_from <= $5 order by id limit 1',
    [draft.practiceGroupId, draft.rule, draft.subjectKey, new Date(draft.evidenceFrom.getTime() - gap), new Date(draft.evidenceTo.getTime() + gap)])
  return rows.length > 0 ? Number(rows[0].id) : null
}

/** Stores the drafts that are not a finding already raised; returns how many were stored. */
export async function storeAlerts (client: PoolClient, drafts: AlertDraft[], now: Date, quietMinutes: (draft: AlertDraft) => number): Promise<number> {
  let stored = 0
  for (const draft of drafts.sort((a, b) => a.evidenceTo.getTime() - b.evidenceTo.getTime())) {
    const raised = await raisedRecently(client, draft, quietMinutes(draft))
    if (raised !== null) {
      // The finding goes on: its alert's evidence grows to cover it, as if one pass had read it all.
      await client.query('update alerts set evidence_from = least(evidence_from, $2), evidence_to = greatest(evidence_to, $3) where id = $1', [raised, draft.evidenceFrom, draft.evidenceTo])
      continue
    }
    await client.query(toPg(
      `insert into alerts (practice_group_id, rule, subject_key, raised_at, user_id, user_name, patient_id, ip, summary, evidence_from, evidence_to)
       values (?, ?, ?, ?, ?, ?, ?, ?::inet, ?, ?, ?)`),
    [draft.practiceGroupId, draft.rule, draft.subjectKey, now, draft.userId, draft.userName, draft.patientId, draft.ip, draft.summary, draft.evidenceFrom, draft.evidenceTo])
    stored++
  }
  return stored
}

export const ALERTS_PER_PAGE = 100

/** The practice's newest alerts first. */
export async function listAlerts (em: EntityManager, practiceGroupId: number, limit = ALERTS_PER_PAGE): Promise<Alert[]> {
  const rows = await em.getConnection().execute<Array<Record<string, unknown>>>(
    `select ${ALERT_COLUMNS} from ${WITH_PATIENT} where a.practice_group_id = ? order by a.raised_at desc, a.id desc limit ?`, [practiceGroupId, limit])
  return rows.map(alertFromRow)
}

export async function getAlert (em: EntityManager, practiceGroupId: number, id: number): Promise<Alert> {
  const [row] = await em.getConnection().execute<Array<Record<string, unknown>>>(
    `select ${ALERT_COLUMNS} from ${WITH_PATIENT} where a.practice_group_id = ? and a.id = ?`, [practiceGroupId, id], 'all', em.getTransactionContext())
  if (!row) throw new NotFoundError('alert')
  return alertFromRow(row)
}

/** Alerts nobody has acknowledged yet: the top bar's badge, one count on a small index. */
export async function countOpenAlerts (em: EntityManager, practiceGroupId: number): Promise<number> {
  const [row] = await em.getConnection().execute<Array<{ count: string }>>(
    'select count(*) as count from alerts where practice_group_id = ? and acknowledged_at is null', [practiceGroupId])
  return Number(row!.count)
}

/** Alerts about what happened since `since` (all of them without one). */
export async function countAlertsSince (em: EntityManager, practiceGroupId: number, since: Date | null): Promise<number> {
  const [row] = await em.getConnection().execute<Array<{ count: string }>>(
    'select count(*) as count from alerts where practice_group_id = ? and evidence_to >= ?', [practiceGroupId, since ?? new Date(0)])
  return Number(row!.count)
}

export const MAX_NOTE = 2000

/** Checks an acknowledgement's or review's note: something to say, not too long. */
export function checkNote (note: string): string {
  const trimmed = note.trim()
  if (trimmed === '') throw new ValidationError({ note: 'Write a note: what you found, or why no action is needed.' })
  if (trimmed.length > MAX_NOTE) throw new ValidationError({ note: `Keep the note under ${MAX_NOTE.toLocaleString('en-AU')} characters.` })
  return trimmed
}

/**
 * Marks an alert seen with a note, in the caller's transaction. An alert
 * already acknowledged keeps its first acknowledgement.
 */
export async function acknowledgeAlert (em: EntityManager, practiceGroupId: number, id: number, by: { id: number, name: string }, note: string, now: Date): Promise<Alert> {
  const text = checkNote(note)
  const alert = await getAlert(em, practiceGroupId, id)
  if (alert.acknowledgedAt) throw new ValidationError({ note: `${alert.acknowledgedByName ?? 'Someone'} has already acknowledged this alert.` })
  if (alert.userId === by.id) throw new ValidationError({ note: 'This alert is about your own actions: another Full Access user must acknowledge it.' })
  await em.getConnection().execute(
    `update alerts set acknowledged_at = ?, acknowledged_by = ?, acknowledged_by_name = ?, acknowledgement_note = ?
      where practice_group_id = ? and id = ? and acknowledged_at is null`,
    [now, by.id, by.name, text, practiceGroupId, id], 'run', em.getTransactionContext())
  return { ...alert, acknowledgedAt: now, acknowledgedByName: by.name, acknowledgementNote: text }
}
