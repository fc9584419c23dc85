import { recordIdParams } from '../plain-numbers.js'

export const patientIdParams = recordIdParams('patient')

export interface PatientIdParams { id: number }

export const reasonQuery = {
  type: 'object',
  properties: { next: { type: 'string', maxLength: 2000, default: '' } }
} as const

export interface ReasonQuery { next: string }

/** The choice and its text are judged by the domain, so each message can sit beside its field. */
export const reasonBody = {
  type: 'object',
  properties: {
    reason: { type: 'string', maxLength: 40 },
    details: { type: 'string', maxLength: 5000 },
    next: { type: 'string', maxLength: 2000 }
  }
} as const

export interface ReasonBody { reason?: string, details?: string, next?: string }

/** Ticked users arrive as one value or several; an unticked box is simply absent. */
export const restrictionBody = {
  type: 'object',
  properties: {
    restricted: { type: 'string', maxLength: 10 },
    openers: {
      anyOf: [
        { type: 'string', maxLength: 12 },
        { type: 'array', maxItems: 1000, items: { type: 'string', maxLength: 12 } }
      ]
    }
  }
} as const

export interface RestrictionBody { restricted?: string, openers?: string | string[] }
