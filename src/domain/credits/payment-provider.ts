import { randomUUID } from 'node:crypto'

export interface PaymentRequest {
  practiceGroupId: number
  credits: number
  /** The same key must never be charged twice; real providers take it as their idempotency key. */
  idempotencyKey: string
}

export type PaymentOutcome =
  | { approved: true, reference: string }
  | { approved: false, message: string }

/**
 * Where top-ups are paid. A real provider charges the practice's card for
 * `credits` and answers with its own reference; it must treat a repeated
 * idempotency key as the same payment.
 */
export interface PaymentProvider {
  readonly name: string
  /** Shown beside the top-up form, so nobody mistakes a test payment for a real one. */
  readonly label: string
  charge: (request: PaymentRequest) => Promise<PaymentOutcome>
}

/** Approves every top-up at once without moving money: for development, the demo and tests. */
export class TestPaymentProvider implements PaymentProvider {
  readonly name = 'test'
  readonly label = 'Test payment provider: top-ups are approved at once and no money moves.'

  async charge (_request: PaymentRequest): Promise<PaymentOutcome> {
    return { approved: true, reference: `test-${randomUUID()}` }
  }
}
