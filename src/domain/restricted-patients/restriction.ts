import type { EntityManager } from '@mikro-orm/core'
import { sqlIn } from '../../db/sql.js'
import type { Actor, FieldChangeRecord } from '../audit-records/record.js'
import { ValidationError } from '../errors.js'
import { recordEvent } from '../recorder/recorder.js'

/** A restricted patient and the users who may open them without giving a reason. */
export interface Restriction {
  patientId: number
  openerIds: number[]
}

export interface Person { id: number, name: string }

/** The page under which marking, unmarking and changing a restriction are recorded. */
export const RESTRICTION_PAGE = 'Patient restriction'

export async function findRestriction (em: EntityManager, practiceGroupId: number, patientId: number): Promise<Restriction | null> {
  const rows = await sqlIn(em)<{ user_id: number | null }>(
    `select o.user_id from restricted_patients r left join restricted_patient_openers o on o.patient_id = r.patient_id
      where r.practice_group_id = ? and r.patient_id = ? order by o.user_id`, [practiceGroupId, patientId])
  if (rows.length === 0) return null
  return { patientId, openerIds: rows.flatMap(r => r.user_id === null ? [] : [r.user_id]) }
}

/** Every restricted patient of a practice: whose records a receiver, which can give no reason, gets without their details. */
export async function restrictedPatientIds (em: EntityManager, practiceGroupId: number): Promise<number[]> {
  const rows = await sqlIn(em)<{ patient_id: number }>('select patient_id from restricted_patients where practice_group_id = ? order by patient_id', [practiceGroupId])
  return rows.map(r => r.patient_id)
}

/** Everyone who could be named: the practice's active people. */
export async function openerChoices (em: EntityManager, practiceGroupId: number): Promise<Person[]> {
  return sqlIn(em)<Person>('select id, name from users where practice_group_id = ? and active and not is_system order by name, id', [practiceGroupId])
}

/** Who may open a newly restricted patient unless the Full Access user says otherwise: the practitioners with an appointment for them. */
export async function defaultOpenerIds (em: EntityManager, practiceGroupId: number, patientId: number): Promise<number[]> {
  const rows = await sqlIn(em)<{ id: number }>(
    `select distinct u.id from appointments a join users u on u.id = a.practitioner_id
      where a.practice_group_id = ? and a.patient_id = ? and u.active and not u.is_system order by u.id`, [practiceGroupId, patientId])
  return rows.map(r => r.id)
}

const names = (ids: number[], people: Map<number, string>): string => ids.length ? ids.map(id => people.get(id) ?? `user #${id}`).join(', ') : 'nobody'

function describe (patientName: string, before: Restriction | null, after: Restriction | null, people: Map<number, string>): string {
  if (!before) return `Marked patient ${patientName} Restricted; may open without a reason: ${names(after!.openerIds, people)}`
  if (!after) return `Lifted the restriction on patient ${patientName}`
  const added = after.openerIds.filter(id => !before.openerIds.includes(id))
  const removed = before.openerIds.filter(id => !after.openerIds.includes(id))
  const parts = [added.length ? `added ${names(added, people)}` : '', removed.length ? `removed ${names(removed, people)}` : ''].filter(Boolean)
  return `Changed who may open restricted patient ${patientName} without a reason: ${parts.join('; ')}`
}

function changesBetween (before: Restriction | null, after: Restriction | null, people: Map<number, string>): FieldChangeRecord[] {
  const changes: FieldChangeRecord[] = []
  if (Boolean(before) !== Boolean(after)) {
    changes.push({ field: 'restricted', label: 'Restricted', before: Boolean(before), after: Boolean(after), beforeText: before ? 'Yes' : 'No', afterText: after ? 'Yes' : 'No' })
  }
  const beforeIds = before?.openerIds ?? []
  const afterIds = after?.openerIds ?? []
  if (beforeIds.join(',') !== afterIds.join(',')) {
    changes.push({
      field: 'openers', label: 'May open without a reason', before: beforeIds.join(',') || null, after: afterIds.join(',') || null,
      beforeText: beforeIds.length ? names(beforeIds, people) : '', afterText: afterIds.length ? names(afterIds, people) : ''
    })
  }
  return changes
}

/**
 * Marks a patient Restricted with these openers, changes who may open them,
 * or lifts the restriction (`openerIds` null), and records what changed as
 * an update of the patient. Saving what is already there records nothing.
 * Run inside a transaction, so the change and its record are kept together.
 */
export async function saveRestriction (em: EntityManager, actor: Actor, patient: Person, openerIds: number[] | null): Promise<void> {
  const sql = sqlIn(em)
  const people = new Map((await openerChoices(em, actor.practiceGroupId)).map(p => [p.id, p.name]))
  const unknown = (openerIds ?? []).filter(id => !people.has(id))
  if (unknown.length) throw new ValidationError({ openers: 'Choose active users of this practice.' })
  const before = await findRestriction(em, actor.practiceGroupId, patient.id)
  const after = openerIds === null ? null : { patientId: patient.id, openerIds: [...new Set(openerIds)].sort((a, b) => a - b) }
  const changes = changesBetween(before, after, people)
  if (changes.length === 0) return
  if (!after) {
    await sql('delete from restricted_patients where practice_group_id = ? and patient_id = ?', [actor.practiceGroupId, patient.id])
  } else {
    if (!before) {
      await sql('insert into restricted_patients (practice_group_id, patient_id, restricted_by, restricted_at) values (?, ?, ?, ?)',
        [actor.practiceGroupId, patient.id, actor.userId, actor.occurredAt])
    }
    await sql('delete from restricted_patient_openers where practice_group_id = ? and patient_id = ?', [actor.practiceGroupId, patient.id])
    for (const userId of after.openerIds) {
      await sql('insert into restricted_patient_openers (practice_group_id, patient_id, user_id) values (?, ?, ?)', [actor.practiceGroupId, patient.id, userId])
    }
  }
  await recordEvent(em, actor, {
    action: 'update', page: RESTRICTION_PAGE, recordType: 'patient', recordId: patient.id, patientId: patient.id,
    description: describe(patient.name, before, after, people), changes
  })
}
