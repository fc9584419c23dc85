export interface PaymentRequest {
  practiceGroupId: number
  credits: number
  /** Names the payment: every request with this key is the same payment (see PaymentProvider). */
  idempotencyKey: string
}

export type PaymentOutcome =
  | { approved: true, reference: string }
  | { approved: false, message: string }

/**
 * Where top-ups are paid. A real provider charges the practice's card for
 * `credits` and answers with its own reference.
 *
 * The contract that keeps money and credits together: a top-up is recorded
 * as pending before `charge` is called, and whenever its answer is lost (the
 * provider threw, the app stopped, the database failed before the credits
 * were written) the same request is sent again, with the same idempotency
 * key, at start-up and by the scheduled job. So the provider must treat a
 * repeated key as the same payment: charge it at most once, and answer every
 * repetition with the first outcome (the same reference, or the same
 * decline). `charge` throws only when the outcome is unknown (unreachable,
 * timed out, busy with the same key); a decline is an answer, not a throw.
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

  async charge (request: PaymentRequest): Promise<PaymentOutcome> {
    return { approved: true, reference: `test-${request.practiceGroupId}-${request.idempotencyKey}` }
  }
}

/** The provider PAYMENT_PROVIDER names: the test provider, or none. A real provider is handed to `buildApp` instead. */
export function configuredPaymentProvider (choice: 'test' | 'none'): PaymentProvider | null {
  return choice === 'test' ? new TestPaymentProvider() : null
}
