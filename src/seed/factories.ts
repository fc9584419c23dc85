import type { EntityManager } from '@mikro-orm/core'
import { PracticeGroup } from '../domain/practice-groups/practice-group.entity.js'
import { User, type AccessLevel } from '../domain/users/user.entity.js'
import { hashPassword } from '../domain/users/passwords.js'

let sequence = 0
/** A value no other test in this run has used. */
export function unique (prefix: string): string {
  sequence += 1
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${sequence}`
}

export async function makePracticeGroup (em: EntityManager, values: Partial<Pick<PracticeGroup, 'name' | 'timeZone' | 'creditBalance'>> = {}): Promise<PracticeGroup> {
  const group = em.create(PracticeGroup, {
    name: values.name ?? unique('Practice'),
    timeZone: values.timeZone ?? 'Australia/Sydney',
    creditBalance: values.creditBalance ?? 0
  })
  await em.persistAndFlush(group)
  return group
}

const hashes = new Map<string, Promise<string>>()
/** Hashing is deliberately slow, so factories reuse one hash per distinct password. */
function cachedHash (password: string): Promise<string> {
  let hash = hashes.get(password)
  if (!hash) {
    hash = hashPassword(password)
    hashes.set(password, hash)
  }
  return hash
}

export interface UserValues {
  name?: string
  email?: string
  password?: string
  accessLevel?: AccessLevel
  canViewHistory?: boolean
  active?: boolean
  isSystem?: boolean
}

export async function makeUser (em: EntityManager, group: PracticeGroup, values: UserValues = {}): Promise<User> {
  const user = em.create(User, {
    practiceGroupId: group.id,
    name: values.name ?? unique('User'),
    email: (values.email ?? `${unique('user')}@example.test`).toLowerCase(),
    passwordHash: await cachedHash(values.password ?? 'correct horse battery staple'),
    accessLevel: values.accessLevel ?? 'Practitioner',
    canViewHistory: values.canViewHistory ?? false,
    active: values.active ?? true,
    isSystem: values.isSystem ?? false
  })
  await em.persistAndFlush(user)
  return user
}
