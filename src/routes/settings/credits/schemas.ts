import { TOP_UP_AMOUNTS } from '../../../domain/credits/credits.service.js'

export const topUpBody = {
  type: 'object',
  required: ['credits', 'idempotencyKey'],
  properties: {
    credits: { type: 'string', enum: TOP_UP_AMOUNTS.map(String) },
    idempotencyKey: { type: 'string', minLength: 8, maxLength: 100, pattern: '^[A-Za-z0-9-]+$' }
  }
} as const

export interface TopUpBody { credits: string, idempotencyKey: string }
