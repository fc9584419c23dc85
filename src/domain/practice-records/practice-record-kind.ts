import type { EntityName } from '@mikro-orm/core'
import type { User } from '../users/user.entity.js'
import type { FieldSpec, Lookups } from './fields.js'

export type RecordType = 'patient' | 'appointment' | 'invoice'

export interface PracticeRecord {
  id: number
  practiceGroupId: number
  [field: string]: unknown
}

/**
 * Everything that differs between patients, appointments and invoices:
 * their fields, how one is named in the history, and who may change it.
 * Listing, validation, recording and pages are shared.
 */
export interface PracticeRecordKind {
  type: RecordType
  entity: EntityName<PracticeRecord>
  basePath: string
  /** Singular and plural, for headings: "Patient", "Patients". */
  title: string
  plural: string
  /** The page name recorded in the history for the record's own page. */
  page: string
  fields: FieldSpec[]
  listColumns: string[]
  /** Ordering of the list, newest or alphabetical first. */
  listOrder: Record<string, 'asc' | 'desc'>
  describe: (record: Record<string, unknown>, lookups: Lookups, timeZone: string) => string
  /** The patient a record of this kind concerns, which its history records name. */
  patientOf: (record: Record<string, unknown>) => number | null
  defaults: (now: Date, timeZone: string) => Record<string, unknown>
  /** A reason the user may not make this change, or null. */
  mayChange: (user: User, before: Record<string, unknown> | null, after: Record<string, unknown>) => string | null
  mayDelete: (user: User, record: Record<string, unknown>) => string | null
}
