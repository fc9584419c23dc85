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

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/

/** An optional date of birth as a form sends it: empty, or a real calendar date between 1900 and today. */
export function checkDateOfBirth (value: string, today: string, errors: FieldErrors): string | null {
  const trimmed = value.trim()
  if (trimmed === '') return null
  const parts = ISO_DATE.exec(trimmed)
  const date = parts ? new Date(Date.UTC(Number(parts[1]), Number(parts[2]) - 1, Number(parts[3]))) : null
  if (!date || date.toISOString().slice(0, 10) !== trimmed) errors.dateOfBirth = 'Enter a date of birth as a calendar date, or leave it empty.'
  else if (trimmed < '1900-01-01' || trimmed > today) errors.dateOfBirth = 'A date of birth lies between 1900 and today.'
  return trimmed
}

export function checkAccessLevel (value: string, errors: FieldErrors): value is AccessLevel {
  if ((ACCESS_LEVELS as readonly string[]).includes(value)) return true
  errors.accessLevel = `Choose one of: ${ACCESS_LEVELS.join(', ')}.`
  return false
}
