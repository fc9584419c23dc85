import { defineEntity, p, type InferEntity } from '@mikro-orm/core'

export type CreditEntryKind = 'top_up' | 'purchase' | 'renewal' | 'refund'

export const CreditEntry = defineEntity({
  name: 'CreditEntry',
  tableName: 'credit_entries',
  properties: {
    id: p.bigint().primary().autoincrement(),
    practiceGroupId: p.integer(),
    occurredAt: p.datetime(),
    kind: p.string().$type<CreditEntryKind>(),
    amount: p.integer(),
    balanceAfter: p.integer(),
    subscriptionId: p.integer().nullable(),
    periodStart: p.datetime().nullable(),
    periodEnd: p.datetime().nullable(),
    description: p.string().length(500),
    provider: p.string().length(40).nullable(),
    providerReference: p.string().length(200).nullable(),
    idempotencyKey: p.string().length(100).nullable(),
    userId: p.integer().nullable()
  }
})

export type CreditEntry = InferEntity<typeof CreditEntry>
