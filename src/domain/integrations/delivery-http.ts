import { SIGNATURE_HEADER, TIMESTAMP_HEADER, signDelivery } from './delivery-signature.js'
import { counted } from '../../plural.js'

const ERROR_MAX = 300

/** What went wrong, in words a practice manager can act on; the network's own code where there is no better word. */
function describeFailure (err: unknown, timeoutMs: number): string {
  const error = err as Error & { cause?: { code?: string, message?: string } }
  if (error.name === 'TimeoutError') return `The receiver did not answer within ${counted(timeoutMs / 1000, 'second', 'seconds')}.`
  const code = error.cause?.code
  if (code === 'ECONNREFUSED') return 'The receiver refused the connection: nothing is listening at that address.'
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'The receiver\'s host name could not be found.'
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET') return 'The connection closed before the receiver answered.'
  if (code?.includes('CERT') || code?.startsWith('ERR_TLS')) return `The receiver's certificate was not accepted (${code}).`
  if (error.cause?.message === 'bad port') return 'That port is reserved for other services and never receives deliveries: use another, such as 443.'
  return `The delivery failed: ${code ?? error.cause?.message ?? error.message}.`
}

/**
 * Posts one signed batch; null when the receiver answered 2xx, else why
 * not. Redirects are not followed: a receiver that moved is changed on the
 * Integrations page, where the change is recorded. The answer's body is
 * not read.
 */
export async function postBatch (url: string, secret: string, body: string, now: Date, timeoutMs: number): Promise<string | null> {
  const timestamp = Math.floor(now.getTime() / 1000)
  try {
    const response = await fetch(url, {
      method: 'POST',
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
      headers: {
        'content-type': 'application/json',
        'user-agent': 'Practice-Audit-Delivery/1',
        [TIMESTAMP_HEADER]: String(timestamp),
        [SIGNATURE_HEADER]: signDelivery(secret, timestamp, body)
      }
    })
    await response.body?.cancel().catch(() => {})
    if (response.status >= 200 && response.status < 300) return null
    const redirected = response.status >= 300 && response.status < 400 ? ' (redirects are not followed)' : ''
    return `The receiver answered HTTP ${response.status}${redirected}.`
  } catch (err) {
    return describeFailure(err, timeoutMs).slice(0, ERROR_MAX)
  }
}
