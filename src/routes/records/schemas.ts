export const listQuery = {
  type: 'object',
  properties: {
    q: { type: 'string', maxLength: 200, default: '' },
    page: { type: 'integer', minimum: 1, maximum: 1000000, default: 1 }
  }
} as const

export interface ListQuery { q: string, page: number }

export const idParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'integer', minimum: 1, maximum: 2147483647 } }
} as const

export interface IdParams { id: number }

/** Form fields are checked by the record's own rules, so each message can sit beside its field. */
export const recordBody = {
  type: 'object',
  additionalProperties: { type: 'string', maxLength: 100000 }
} as const

export type RecordBody = Record<string, string>
