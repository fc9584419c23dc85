import type { EntityManager } from '@mikro-orm/core'
import { Patient } from '../../domain/patients/patient.entity.js'
import { User } from '../../domain/users/user.entity.js'
import type { PracticeRecordKind } from '../../domain/practice-records/practice-record-kind.js'

export interface FormOptions {
  patients: { id: number, name: string }[]
  practitioners: { id: number, name: string }[]
}

/** Choices for a record's patient and practitioner fields, from the practice's own people. */
export async function formOptions (em: EntityManager, kind: PracticeRecordKind, practiceGroupId: number): Promise<FormOptions> {
  const needs = (type: string): boolean => kind.fields.some(f => f.type === type)
  return {
    patients: needs('patient') ? await em.find(Patient, { practiceGroupId }, { fields: ['id', 'name'], orderBy: { name: 'asc' }, limit: 2000 }) : [],
    practitioners: needs('practitioner')
      ? await em.find(User, { practiceGroupId, active: true, isSystem: false, accessLevel: { $in: ['Practitioner', 'Full Access'] } }, { fields: ['id', 'name'], orderBy: { name: 'asc' } })
      : []
  }
}
