import type { EntityManager } from '@mikro-orm/core'
import { NotFoundError, ValidationError, type FieldErrors } from '../errors.js'
import type { FieldChangeRecord } from '../audit-records/record.js'
import { User, isFullAccess, type AccessLevel } from './user.entity.js'
import { hashPassword } from './passwords.js'
import { checkAccessLevel, checkDateOfBirth, checkEmail, checkName, checkPassword } from './user.validation.js'

export interface NewUserInput {
  name: string
  email: string
  password: string
  accessLevel: string
  /** YYYY-MM-DD, or empty. */
  dateOfBirth: string
}

export interface AccessSettingsInput {
  accessLevel: string
  active: boolean
  canViewHistory: boolean
  /** YYYY-MM-DD, or empty. */
  dateOfBirth: string
}


export function listUsers (em: EntityManager, practiceGroupId: number): Promise<User[]> {
  return em.find(User, { practiceGroupId, isSystem: false }, { orderBy: { name: 'asc', id: 'asc' } })
}

export async function getUser (em: EntityManager, practiceGroupId: number, id: number): Promise<User> {
  const user = await em.findOne(User, { id, practiceGroupId, isSystem: false })
  if (!user) throw new NotFoundError('user')
  return user
}

/** Every write stores emails in lower case, so a lookup is one exact match on the unique index. */
export function findUserByEmail (em: EntityManager, email: string): Promise<User | null> {
  return em.findOne(User, { email: email.trim().toLowerCase() })
}

/**
 * The practice whose account signs in with this email, looked up in every
 * practice: a request knows no practice's rows before it knows its own, so
 * a database function answers this one question.
 */
export async function practiceOfEmail (em: EntityManager, email: string): Promise<number | null> {
  const [row] = await em.getConnection().execute<{ practice: number | null }[]>('select practice_of_email(?) as practice', [email], 'all', em.getTransactionContext())
  return row?.practice ?? null
}

/** A new user never starts with the User Action History permission; a Full Access user grants it later. */
export async function createUser (em: EntityManager, practiceGroupId: number, input: NewUserInput, today: string): Promise<User> {
  const errors: FieldErrors = {}
  const dateOfBirth = checkDateOfBirth(input.dateOfBirth, today, errors)
  const email = input.email.trim().toLowerCase()
  checkName(input.name, errors)
  checkEmail(email, errors)
  checkPassword(input.password, errors)
  const accessLevelValid = checkAccessLevel(input.accessLevel, errors)
  if (!errors.email && await practiceOfEmail(em, email) !== null) errors.email = 'A user with this email already exists.'
  if (Object.keys(errors).length > 0 || !accessLevelValid) throw new ValidationError(errors)

  const user = em.create(User, {
    practiceGroupId,
    name: input.name.trim(),
    email,
    dateOfBirth,
    passwordHash: await hashPassword(input.password),
    accessLevel: input.accessLevel as AccessLevel,
    active: true,
    canViewHistory: false,
    isSystem: false
  })
  em.persist(user)
  return user
}

async function countOtherActiveFullAccess (em: EntityManager, user: User): Promise<number> {
  return em.count(User, {
    practiceGroupId: user.practiceGroupId,
    accessLevel: 'Full Access',
    active: true,
    isSystem: false,
    id: { $ne: user.id }
  })
}

/**
 * Applies an access-settings edit and returns what changed. A practice must
 * keep one active Full Access user, or nobody could manage it any more.
 */
export async function updateAccessSettings (em: EntityManager, user: User, input: AccessSettingsInput, today: string): Promise<FieldChangeRecord[]> {
  const errors: FieldErrors = {}
  const dateOfBirth = checkDateOfBirth(input.dateOfBirth, today, errors)
  if (!checkAccessLevel(input.accessLevel, errors) || Object.keys(errors).length > 0) throw new ValidationError(errors)
  const accessLevel = input.accessLevel

  const losesFullAccess = isFullAccess(user) && user.active && (accessLevel !== 'Full Access' || !input.active)
  if (losesFullAccess && await countOtherActiveFullAccess(em, user) === 0) {
    const field = input.active ? 'accessLevel' : 'active'
    throw new ValidationError({
      [field]: `${user.name} is the only active Full Access user. Give someone else Full Access first, so the practice can still be managed.`
    })
  }

  const changes: FieldChangeRecord[] = []
  const words = (value: string | boolean | null | undefined): string => typeof value === 'boolean' ? (value ? 'On' : 'Off') : value ?? ''
  const record = <K extends 'accessLevel' | 'active' | 'canViewHistory' | 'dateOfBirth'>(field: K, label: string, after: User[K]): void => {
    if (user[field] === after) return
    changes.push({ field, label, before: user[field] ?? null, after: after ?? null, beforeText: words(user[field]), afterText: words(after) })
    user[field] = after
  }
  record('accessLevel', 'Access level', accessLevel)
  record('active', 'Active', input.active)
  record('canViewHistory', 'User Action History', input.canViewHistory)
  record('dateOfBirth', 'Date of birth', dateOfBirth)
  return changes
}
