import { createHmac, randomBytes } from 'node:crypto'

export const TIMESTAMP_HEADER = 'X-Practice-Audit-Timestamp'
export const SIGNATURE_HEADER = 'X-Practice-Audit-Signature'

/** How far a delivery's timestamp may lie from the receiver's clock before the receiver should refuse it as a replay. */
export const REPLAY_WINDOW_SECONDS = 300

/** A new shared secret: 32 random bytes, with a prefix that says what it is wherever it is pasted. */
export function newSecret (): string {
  return `pa_whsec_${randomBytes(32).toString('base64url')}`
}

/** `sha256=` and the hex HMAC-SHA256, under the secret, of the timestamp, a dot and the exact body. */
export function signDelivery (secret: string, timestamp: number, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`
}
