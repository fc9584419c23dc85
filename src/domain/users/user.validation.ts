import type { FieldErrors } from '../errors.js'
import { ACCESS_LEVELS, type AccessLevel } from './user.entity.js'
import { MIN_PASSWORD_LENGTH } from './passwords.js'

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/

export function checkName (name: string, errors: FieldErrors): void {
  if (name.trim().length === 0) errors.name = 'Enter a name.'
  else if (name.length > 200) errors.name = 'A name can be at most 200 characters.'
}

/** The System users' addresses live under this domain, so nobody can claim one first. */
export const SYSTEM_EMAIL_DOMAIN = '@practice-audit.invalid'

export function checkEmail (email: string, errors: FieldErrors): void {
  if (email.length > 254 || !EMAIL.test(email)) errors.email = 'Enter an email address like name@example.com.'
  else if (email.toLowerCase().endsWith(SYSTEM_EMAIL_DOMAIN)) errors.email = 'This address is reserved for the app itself.'
}

export function checkPassword (password: string, errors: FieldErrors): void {
  if (password.length < MIN_PASSWORD_LENGTH) errors.password = `A password needs at least ${MIN_PASSWORD_LENGTH} characters.`
  else if (password.length > 1000) errors.password = 'A password can be at most 1,000 characters.'
}

export function checkAccessLevel (value: string, errors: FieldErrors): value is AccessLevel {
  if ((ACCESS_LEVELS as readonly string[]).includes(value)) return true
  errors.accessLevel = `Choose one of: ${ACCESS_LEVELS.join(', ')}.`
  return false
}
