import { defineEntity, p, type InferEntity } from '@mikro-orm/core'

export const INVOICE_STATUSES = ['Draft', 'Issued', 'Paid', 'Void'] as const

export const Invoice = defineEntity({
  name: 'Invoice',
  tableName: 'invoices',
  properties: {
    id: p.integer().primary().autoincrement(),
    practiceGroupId: p.integer(),
    patientId: p.integer(),
    issueDate: p.string().columnType('date'),
    description: p.string().length(500),
    amountCents: p.integer(),
    status: p.string().length(10),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p.datetime().onCreate(() => new Date()).onUpdate(() => new Date())
  }
})

export type Invoice = InferEntity<typeof Invoice>
