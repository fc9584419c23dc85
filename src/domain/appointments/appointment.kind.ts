import type { PracticeRecordKind } from '../practice-records/practice-record-kind.js'
import { formatDateTime } from '../time/zoned.js'
import { isFullAccess } from '../users/user.entity.js'
import { Appointment, APPOINTMENT_STATUSES } from './appointment.entity.js'

export const appointmentKind: PracticeRecordKind = {
  type: 'appointment',
  entity: Appointment as never,
  basePath: '/appointments',
  title: 'Appointment',
  plural: 'Appointments',
  page: 'Appointment',
  fields: [
    { name: 'patientId', label: 'Patient', type: 'patient', required: true },
    { name: 'practitionerId', label: 'Practitioner', type: 'practitioner', required: true },
    { name: 'startsAt', label: 'Start', type: 'datetime', required: true },
    { name: 'durationMinutes', label: 'Duration', type: 'minutes', required: true },
    { name: 'status', label: 'Status', type: 'choice', required: true, choices: APPOINTMENT_STATUSES },
    { name: 'notes', label: 'Notes', type: 'longtext' }
  ],
  listColumns: ['startsAt', 'patientId', 'practitionerId', 'durationMinutes', 'status'],
  listOrder: { startsAt: 'desc', id: 'desc' },
  patientOf: record => record.patientId == null ? null : Number(record.patientId),
  describe: (record, lookups, timeZone) =>
    `${lookups.patients.get(Number(record.patientId)) ?? 'patient'} with ${lookups.practitioners.get(Number(record.practitionerId)) ?? 'practitioner'} at ${formatDateTime(record.startsAt as Date, timeZone)}`,
  defaults: () => ({ durationMinutes: 30, status: 'Booked' }),
  mayChange: () => null,
  mayDelete: (user) => isFullAccess(user) ? null : 'Only Full Access users can delete an appointment; cancel it instead.'
}
