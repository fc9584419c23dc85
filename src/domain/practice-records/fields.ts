import type { FieldErrors } from '../errors.js'
import type { FieldChangeRecord } from '../audit-records/record.js'
import { parseId, parseWholeNumber } from '../plain-numbers.js'
import { formatDateTime, formatIsoDate, formatTime, fromLocalInput, isRealIsoDate, localIsoDate, toLocalInput } from '../time/zoned.js'

export type FieldType = 'text' | 'longtext' | 'email' | 'phone' | 'date' | 'datetime' | 'minutes' | 'money' | 'choice' | 'patient' | 'practitioner'
export type FieldValue = string | number | null

export interface FieldSpec {
  name: string
  label: string
  type: FieldType
  required?: boolean
  maxLength?: number
  choices?: readonly string[]
  notInFuture?: boolean
}

/** Names behind the ids a record points at. */
export interface Lookups {
  patients: Map<number, string>
  practitioners: Map<number, string>
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/
const PHONE = /^[0-9+()\-\s.]{6,40}$/
const MONEY = /^(0|[1-9]\d{0,6})(\.\d{1,2})?$/
const LONGTEXT_LIMIT = 10_000

function parseOne (spec: FieldSpec, raw: string, timeZone: string, now: Date): { value?: FieldValue, error?: string } {
  const text = spec.type === 'longtext' ? raw : raw.trim()
  if (text === '') return spec.required ? { error: `Enter ${spec.label.toLowerCase()}.` } : { value: null }
  const limit = spec.maxLength ?? (spec.type === 'longtext' ? LONGTEXT_LIMIT : 200)
  if (text.length > limit) return { error: `${spec.label} can be at most ${limit.toLocaleString('en-AU')} characters (this has ${text.length.toLocaleString('en-AU')}).` }
  switch (spec.type) {
    case 'text':
    case 'longtext':
      return { value: text }
    case 'email':
      return EMAIL.test(text) ? { value: text } : { error: 'Enter an email address like name@example.com.' }
    case 'phone':
      return PHONE.test(text) ? { value: text } : { error: 'Enter a phone number using digits, spaces, +, ( ) or -.' }
    case 'date':
      if (!isRealIsoDate(text)) return { error: `${spec.label} must be a real date.` }
      if (spec.notInFuture && text > localIsoDate(now, timeZone)) return { error: `${spec.label} cannot be in the future.` }
      return { value: text }
    case 'datetime': {
      const instant = fromLocalInput(text, timeZone)
      return instant ? { value: instant.toISOString() } : { error: `${spec.label} must be a real date and time.` }
    }
    case 'minutes': {
      const minutes = parseWholeNumber(text, 5, 720)
      return minutes === null ? { error: `${spec.label} must be a whole number of minutes from 5 to 720.` } : { value: minutes }
    }
    case 'money':
      return MONEY.test(text) ? { value: Math.round(Number(text) * 100) } : { error: `${spec.label} must be an amount of 0 or more, like 120.50.` }
    case 'choice':
      return spec.choices?.includes(text) ? { value: text } : { error: `Choose one of: ${spec.choices?.join(', ')}.` }
    case 'patient':
    case 'practitioner': {
      const id = parseId(text)
      return id === null ? { error: `Choose a ${spec.type}.` } : { value: id }
    }
  }
}

/** Validates a submitted form; every field gets a value or a message. */
export function parseFields (specs: FieldSpec[], body: Record<string, unknown>, timeZone: string, now: Date): { values: Record<string, FieldValue>, errors: FieldErrors } {
  const values: Record<string, FieldValue> = {}
  const errors: FieldErrors = {}
  for (const spec of specs) {
    const raw = body[spec.name]
    const result = parseOne(spec, typeof raw === 'string' ? raw : '', timeZone, now)
    if (result.error) errors[spec.name] = result.error
    else values[spec.name] = result.value ?? null
  }
  return { values, errors }
}

const money = (cents: number): string => `$${(cents / 100).toLocaleString('en-AU', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`

/** How a value reads on a page and in the history. */
export function formatField (spec: FieldSpec, value: unknown, timeZone: string, lookups: Lookups): string {
  if (value === null || value === undefined || value === '') return '—'
  switch (spec.type) {
    case 'date': return formatIsoDate(String(value))
    case 'datetime': return formatDateTime(value as string | Date, timeZone)
    case 'minutes': return `${String(value)} min`
    case 'money': return money(Number(value))
    case 'patient': return lookups.patients.get(Number(value)) ?? `Patient #${String(value)}`
    case 'practitioner': return lookups.practitioners.get(Number(value)) ?? `User #${String(value)}`
    default: return String(value)
  }
}

/** What a form field shows for a stored value. */
export function inputValue (spec: FieldSpec, value: unknown, timeZone: string): string {
  if (value === null || value === undefined) return ''
  if (spec.type === 'datetime') return toLocalInput(value as string | Date, timeZone)
  if (spec.type === 'money') return (Number(value) / 100).toFixed(2)
  return String(value)
}

function comparable (spec: FieldSpec, value: unknown): FieldValue {
  if (value === null || value === undefined || value === '') return null
  if (spec.type === 'datetime') return new Date(value as string).toISOString()
  return typeof value === 'number' ? value : String(value)
}

/** Field-by-field differences, in the practice's time zone and with names rather than ids. */
export function diffFields (specs: FieldSpec[], before: Record<string, unknown>, after: Record<string, unknown>, timeZone: string, lookups: Lookups): FieldChangeRecord[] {
  const changes: FieldChangeRecord[] = []
  for (const spec of specs) {
    const old = comparable(spec, before[spec.name])
    const next = comparable(spec, after[spec.name])
    if (old === next) continue
    const beforeText = formatField(spec, old, timeZone, lookups)
    let afterText = formatField(spec, next, timeZone, lookups)
    if (spec.type === 'datetime' && old && next && beforeText.slice(0, 10) === afterText.slice(0, 10)) afterText = formatTime(next as string, timeZone)
    changes.push({ field: spec.name, label: spec.label, before: old, after: next, beforeText, afterText })
  }
  return changes
}

/** "Start: 25/11/2026 10:00 → 11:00; Status: Booked → Arrived" */
export function describeChanges (changes: FieldChangeRecord[]): string {
  return changes.map(c => `${c.label}: ${c.beforeText} → ${c.afterText}`).join('; ')
}
