import { defineEntity, p, type InferEntity } from '@mikro-orm/core'

export const Patient = defineEntity({
  name: 'Patient',
  tableName: 'patients',
  properties: {
    id: p.integer().primary().autoincrement(),
    practiceGroupId: p.integer(),
    name: p.string().length(200),
    dateOfBirth: p.string().columnType('date').nullable(),
    phone: p.string().length(40).nullable(),
    email: p.string().length(254).nullable(),
    notes: p.text().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p.datetime().onCreate(() => new Date()).onUpdate(() => new Date())
  }
})

export type Patient = InferEntity<typeof Patient>
