import type { EntityManager } from '@mikro-orm/core'
import { sqlIn } from '../../db/sql.js'
import type { Actor } from '../audit-records/record.js'
import { RefusalError, ValidationError } from '../errors.js'
import { recordEvent } from '../recorder/recorder.js'
import type { User } from '../users/user.entity.js'
import type { Person } from './restriction.js'

/** The reasons offered for opening a restricted patient, by the value the form sends. */
export const REASONS = {
  emergency: 'Emergency care',
  covering: 'Covering for a colleague',
  billing: 'Billing query',
  other: 'Other'
} as const

export type ReasonChoice = keyof typeof REASONS

export const REASON_DETAILS_MAX = 200

/** How long a given reason opens the patient, in this session. */
export const GRANT_MS = 30 * 60_000

/** The page under which a given reason is recorded, and the words its description starts with; alerts look for both. */
export const BREAK_GLASS_PAGE = 'Break the glass'
export const REASON_GIVEN = 'Gave a reason to open'

/** When this session gave a reason to open each restricted patient (ms since the epoch), by patient id. */
export type Grants = Record<string, number>

/** The viewer asked for a restricted patient's records without a current reason. */
/** Recorded as a denied attempt when it is answered with a refusal rather than the reason page. */
export class ReasonRequiredError extends RefusalError {
  constructor (readonly patientId: number) {
    super(403, 'This patient is restricted: give a reason for opening their records first.')
    this.about({ recordType: 'patient', recordId: patientId, patientId })
  }
}

const current = (grants: Grants, patientId: number, now: Date): boolean => {
  const givenAt = grants[String(patientId)]
  return givenAt !== undefined && givenAt <= now.getTime() && now.getTime() - givenAt < GRANT_MS
}

/** The session's grants with one for this patient from `now`, and without those that have run out. */
export function withGrant (grants: Grants, patientId: number, now: Date): Grants {
  const kept = Object.entries(grants).filter(([id]) => current(grants, Number(id), now))
  return Object.fromEntries([...kept, [String(patientId), now.getTime()]])
}

/**
 * Of these patients, the restricted ones `viewer` may not open yet: they
 * are not named on the patient's restriction and this session has given
 * no reason for the patient in the last 30 minutes. Full Access users are
 * no exception unless they are named.
 */
export async function patientsNeedingReason (em: EntityManager, viewer: User, patientIds: number[], now: Date, grants: Grants): Promise<Set<number>> {
  const asked = [...new Set(patientIds)].filter(id => Number.isInteger(id) && !current(grants, id, now))
  if (asked.length === 0) return new Set()
  const rows = await sqlIn(em)<{ patient_id: number }>(
    `select r.patient_id from restricted_patients r
      where r.practice_group_id = ? and r.patient_id in (${asked.map(() => '?').join(', ')})
        and not exists (select 1 from restricted_patient_openers o where o.patient_id = r.patient_id and o.user_id = ?)`,
    [viewer.practiceGroupId, ...asked, viewer.id])
  return new Set(rows.map(r => r.patient_id))
}

/**
 * Every restricted patient of the viewer's practice whose records' details
 * the viewer may not see now: the histories show those records without
 * their details, and text searches pass over them.
 */
export async function withheldPatients (em: EntityManager, viewer: User, now: Date, grants: Grants): Promise<number[]> {
  const rows = await sqlIn(em)<{ patient_id: number }>(
    `select r.patient_id from restricted_patients r
      where r.practice_group_id = ?
        and not exists (select 1 from restricted_patient_openers o where o.patient_id = r.patient_id and o.user_id = ?)`,
    [viewer.practiceGroupId, viewer.id])
  return rows.map(r => r.patient_id).filter(id => !current(grants, id, now))
}

/** The reason gate, against a list `withheldPatients` already gave: no second look-up. */
export function assertNotWithheld (withheld: readonly number[], patientId: number | null): void {
  if (patientId !== null && withheld.includes(patientId)) throw new ReasonRequiredError(patientId)
}

export async function mustGiveReason (em: EntityManager, viewer: User, patientId: number | null, now: Date, grants: Grants): Promise<boolean> {
  if (patientId === null) return false
  return (await patientsNeedingReason(em, viewer, [patientId], now, grants)).has(patientId)
}

/**
 * Refuses (ReasonRequiredError) unless `viewer` may open the patient now,
 * and says whether the patient is restricted: the profile shows it, and one
 * look-up answers both.
 */
export async function assertMayOpenPatient (em: EntityManager, viewer: User, patientId: number | null, now: Date, grants: Grants): Promise<{ restricted: boolean }> {
  if (patientId === null) return { restricted: false }
  const [row] = await sqlIn(em)<{ named: boolean }>(
    `select exists (select 1 from restricted_patient_openers o where o.patient_id = r.patient_id and o.user_id = ?) as named
       from restricted_patients r where r.practice_group_id = ? and r.patient_id = ?`,
    [viewer.id, viewer.practiceGroupId, patientId])
  if (!row) return { restricted: false }
  if (!row.named && !current(grants, patientId, now)) throw new ReasonRequiredError(patientId)
  return { restricted: true }
}

/** The reason as recorded ("Emergency care", "Other: …"), or the form's problems. */
export function parseReason (choice: string | undefined, details: string | undefined): string {
  if (!choice || !Object.hasOwn(REASONS, choice)) throw new ValidationError({ reason: 'Choose a reason.' })
  const label = REASONS[choice as ReasonChoice]
  if (choice !== 'other') return label
  const text = (details ?? '').trim().replace(/\s+/g, ' ')
  if (!text) throw new ValidationError({ details: 'Say why you need to open this patient.' })
  if (text.length > REASON_DETAILS_MAX) throw new ValidationError({ details: `Keep the reason to ${REASON_DETAILS_MAX} characters or fewer.` })
  return `${label}: ${text}`
}

/** Records the reason with the opening it allows; the caller then adds the grant to the session. */
export async function giveReason (em: EntityManager, actor: Actor, patient: Person, reason: string): Promise<void> {
  await recordEvent(em, actor, {
    action: 'view', page: BREAK_GLASS_PAGE, recordType: 'patient', recordId: patient.id, patientId: patient.id,
    description: `${REASON_GIVEN} patient ${patient.name}: ${reason}`
  })
}
