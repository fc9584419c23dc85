import { wholeNumber } from '../plain-numbers.js'

export const listQuery = {
  type: 'object',
  properties: {
    q: { type: 'string', maxLength: 200, default: '' },
    page: { ...wholeNumber(1, 1_000_000), default: '1' }
  }
} as const

export interface ListQuery { q: string, page: number }

export interface IdParams { id: number }

/** Form fields are checked by the record's own rules, so each message can sit beside its field. */
export const recordBody = {
  type: 'object',
  additionalProperties: { type: 'string', maxLength: 100000 }
} as const

export type RecordBody = Record<string, string>
