import { defineEntity, p, type InferEntity } from '@mikro-orm/core'

export const Subscription = defineEntity({
  name: 'Subscription',
  tableName: 'subscriptions',
  properties: {
    id: p.integer().primary().autoincrement(),
    practiceGroupId: p.integer(),
    startedAt: p.datetime(),
    windowStart: p.datetime(),
    periodsPaid: p.integer(),
    currentPeriodEnd: p.datetime(),
    autoRenew: p.boolean(),
    status: p.string().$type<'active' | 'expired'>(),
    expiredAt: p.datetime().nullable(),
    /** Records older than this were deleted when the subscription expired. */
    deletedBefore: p.datetime().nullable(),
    createdAt: p.datetime().onCreate(() => new Date())
  }
})

export type Subscription = InferEntity<typeof Subscription>
