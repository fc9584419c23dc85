import { defineEntity, p, type InferEntity } from '@mikro-orm/core'

export const ACCESS_LEVELS = ['Full Access', 'Practitioner', 'Reception'] as const
export type AccessLevel = typeof ACCESS_LEVELS[number]

export const User = defineEntity({
  name: 'User',
  tableName: 'users',
  properties: {
    id: p.integer().primary().autoincrement(),
    practiceGroupId: p.integer(),
    name: p.string().length(200),
    email: p.string().length(254),
    /** Optional: lets the own-record alert recognise a staff member who is also a patient. */
    dateOfBirth: p.string().columnType('date').nullable(),
    passwordHash: p.string().hidden(),
    active: p.boolean().default(true),
    accessLevel: p.string().$type<AccessLevel>(),
    canViewHistory: p.boolean().default(false),
    isSystem: p.boolean().default(false),
    /** Their own display preference: the activity chart above history tables is folded away. */
    historyChartCollapsed: p.boolean().default(false),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p.datetime().onCreate(() => new Date()).onUpdate(() => new Date())
  }
})

export type User = InferEntity<typeof User>

export const isFullAccess = (user: Pick<User, 'accessLevel'>): boolean => user.accessLevel === 'Full Access'
