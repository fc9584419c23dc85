import { defineEntity, p, type InferEntity } from '@mikro-orm/core'

export const PracticeGroup = defineEntity({
  name: 'PracticeGroup',
  tableName: 'practice_groups',
  properties: {
    id: p.integer().primary().autoincrement(),
    name: p.string().length(200),
    timeZone: p.string().length(64).default('Australia/Sydney'),
    creditBalance: p.integer().default(0),
    createdAt: p.datetime().onCreate(() => new Date())
  }
})

export type PracticeGroup = InferEntity<typeof PracticeGroup>
