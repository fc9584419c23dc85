import type { PracticeRecordKind } from '../practice-records/practice-record-kind.js'
import { isFullAccess } from '../users/user.entity.js'
import { Patient } from './patient.entity.js'

export const patientKind: PracticeRecordKind = {
  type: 'patient',
  entity: Patient as never,
  basePath: '/patients',
  title: 'Patient',
  plural: 'Patients',
  page: 'Patient profile',
  fields: [
    { name: 'name', label: 'Name', type: 'text', required: true, maxLength: 200 },
    { name: 'dateOfBirth', label: 'Date of birth', type: 'date', notInFuture: true },
    { name: 'phone', label: 'Phone', type: 'phone', maxLength: 40 },
    { name: 'email', label: 'Email', type: 'email', maxLength: 254 },
    { name: 'notes', label: 'Notes', type: 'longtext' }
  ],
  listColumns: ['name', 'dateOfBirth', 'phone', 'email'],
  listOrder: { name: 'asc', id: 'asc' },
  patientOf: record => record.id == null ? null : Number(record.id),
  describe: (record) => String(record.name),
  defaults: () => ({}),
  mayChange: () => null,
  mayDelete: (user) => isFullAccess(user) ? null : 'Only Full Access users can delete a patient.'
}
