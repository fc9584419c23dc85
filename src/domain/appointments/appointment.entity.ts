import { defineEntity, p, type InferEntity } from '@mikro-orm/core'

export const APPOINTMENT_STATUSES = ['Booked', 'Arrived', 'Completed', 'Cancelled', 'No-show'] as const

export const Appointment = defineEntity({
  name: 'Appointment',
  tableName: 'appointments',
  properties: {
    id: p.integer().primary().autoincrement(),
    practiceGroupId: p.integer(),
    patientId: p.integer(),
    practitionerId: p.integer(),
    startsAt: p.datetime(),
    durationMinutes: p.integer(),
    status: p.string().length(20),
    notes: p.text().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p.datetime().onCreate(() => new Date()).onUpdate(() => new Date())
  }
})

export type Appointment = InferEntity<typeof Appointment>
