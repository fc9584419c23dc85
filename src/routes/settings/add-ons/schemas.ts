export const purchaseBody = {
  type: 'object',
  required: ['idempotencyKey'],
  properties: { idempotencyKey: { type: 'string', minLength: 8, maxLength: 100, pattern: '^[A-Za-z0-9-]+$' } }
} as const

export interface PurchaseBody { idempotencyKey: string }

export const autoRenewBody = {
  type: 'object',
  required: ['autoRenew'],
  properties: { autoRenew: { type: 'string', enum: ['on', 'off'] } }
} as const

export interface AutoRenewBody { autoRenew: 'on' | 'off' }
