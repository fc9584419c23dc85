import { recordIdParams } from '../../plain-numbers.js'
import { RULES, WEEKDAYS } from '../../../domain/alerts/rules.js'
import { FORM_FIELDS } from '../../../domain/alerts/alert-settings.js'

export const alertIdParams = recordIdParams('alert')

export interface AlertIdParams { id: number }

const text = { type: 'string', maxLength: 5000 } as const
const short = { type: 'string', maxLength: 20 } as const

export const noteBody = {
  type: 'object',
  properties: { note: text }
} as const

export interface NoteBody { note?: string }

export const reviewBody = {
  type: 'object',
  properties: { reviewedUpTo: short, note: text }
} as const

export interface ReviewBody { reviewedUpTo?: string, note?: string }

/** Every field of the settings form; unticked rules are simply absent. */
export const settingsBody = {
  type: 'object',
  properties: Object.fromEntries([
    ...RULES.map(rule => FORM_FIELDS.rule(rule)),
    'manyPatientsCount', 'manyPatientsMinutes', 'largeExportCount', 'deniedAttemptsCount', 'deniedAttemptsMinutes',
    ...WEEKDAYS.flatMap(day => [FORM_FIELDS.opens(day), FORM_FIELDS.closes(day)])
  ].map(name => [name, short]))
} as const

export type SettingsBody = Record<string, string | undefined>
