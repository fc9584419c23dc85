import { recordIdParams } from '../../plain-numbers.js'

export const userIdParams = recordIdParams('user')

export interface UserIdParams { id: number }

const text = { type: 'string', maxLength: 5000 } as const

export const newUserBody = {
  type: 'object',
  properties: { name: text, email: text, password: text, accessLevel: text, dateOfBirth: text }
} as const

export interface NewUserBody {
  name?: string
  email?: string
  password?: string
  accessLevel?: string
  dateOfBirth?: string
}

/** Unticked checkboxes are simply absent from the form. */
export const accessSettingsBody = {
  type: 'object',
  properties: { accessLevel: text, active: text, canViewHistory: text, dateOfBirth: text }
} as const

export interface AccessSettingsBody {
  accessLevel?: string
  active?: string
  canViewHistory?: string
  dateOfBirth?: string
}
