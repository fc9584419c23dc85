import type { Endpoint } from '../../../domain/integrations/endpoints.js'
import { formatDateTime } from '../../../domain/time/zoned.js'
import { counted } from '../../../plural.js'

/** What the Integrations page prints for one endpoint and its health. */
export interface EndpointView {
  id: number
  name: string
  url: string
  added: string
  lastSuccess: string
  /** "Up to date", or how many records wait and for how long. */
  behind: string
  lagRecords: number
  lagSeconds: number
  lastError: { when: string, message: string } | null
  /** Set while deliveries fail: how many in a row, and when the next try is due. */
  failing: string | null
}

const UNITS: Array<[number, string, string]> = [[86_400, 'day', 'days'], [3600, 'hour', 'hours'], [60, 'minute', 'minutes'], [1, 'second', 'seconds']]

/** "45 seconds", "3 minutes", "2 hours 5 minutes", "1 day 4 hours": the two largest units. */
export function spokenDuration (seconds: number): string {
  const parts: string[] = []
  let left = Math.max(0, Math.floor(seconds))
  for (const [size, one, other] of UNITS) {
    if (left >= size || (size === 1 && parts.length === 0)) {
      parts.push(counted(Math.floor(left / size), one, other))
      left %= size
    }
    if (parts.length === 2) break
  }
  return parts.join(' ')
}

export function endpointView (endpoint: Endpoint, now: Date, timeZone: string): EndpointView {
  const lagSeconds = endpoint.lag.oldest ? Math.max(0, Math.round((now.getTime() - endpoint.lag.oldest.getTime()) / 1000)) : 0
  const { records } = endpoint.lag
  return {
    id: endpoint.id,
    name: endpoint.name,
    url: endpoint.url,
    added: formatDateTime(endpoint.createdAt, timeZone),
    lastSuccess: endpoint.lastSuccessAt ? formatDateTime(endpoint.lastSuccessAt, timeZone) : 'Never',
    behind: records === 0 ? 'Up to date' : `${counted(records, 'record', 'records')}, the oldest recorded ${spokenDuration(lagSeconds)} ago`,
    lagRecords: records,
    lagSeconds,
    lastError: endpoint.lastError && endpoint.lastErrorAt ? { when: formatDateTime(endpoint.lastErrorAt, timeZone), message: endpoint.lastError } : null,
    failing: endpoint.failures > 0
      ? `${counted(endpoint.failures, 'failed attempt', 'failed attempts')} in a row${endpoint.nextAttemptAt ? `; next attempt around ${formatDateTime(endpoint.nextAttemptAt, timeZone)}` : ''}`
      : null
  }
}
