import { wholeNumber } from '../../plain-numbers.js'

export const purchaseBody = {
  type: 'object',
  required: ['idempotencyKey', 'expectedPrice'],
  properties: {
    idempotencyKey: { type: 'string', minLength: 8, maxLength: 100, pattern: '^[A-Za-z0-9-]+$' },
    expectedPrice: wholeNumber(0, 999_999)
  }
} as const

/** The price the dialog showed comes back with the form, so a changed price is confirmed again rather than charged. */
export interface PurchaseBody { idempotencyKey: string, expectedPrice: number }

export const autoRenewBody = {
  type: 'object',
  required: ['autoRenew'],
  properties: { autoRenew: { type: 'string', enum: ['on', 'off'] } }
} as const

export interface AutoRenewBody { autoRenew: 'on' | 'off' }
