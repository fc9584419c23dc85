import type { EntityManager } from '@mikro-orm/core'
import { sqlIn } from '../../db/sql.js'
import type { FieldChangeRecord } from '../audit-records/record.js'
import { NotFoundError, ValidationError } from '../errors.js'
import { newSecret } from './delivery-signature.js'
import type { EndpointValues } from './endpoint-form.js'

/** A practice sends its history to at most this many receivers. */
export const MAX_ENDPOINTS = 10

/** An endpoint as its practice sees it: never its secret. */
export interface Endpoint {
  id: number
  name: string
  url: string
  createdAt: Date
  lastSuccessAt: Date | null
  lastError: string | null
  lastErrorAt: Date | null
  /** Failed deliveries since the last success. */
  failures: number
  nextAttemptAt: Date | null
  /** Sealed records not yet delivered, and when the oldest of them was recorded. */
  lag: { records: number, oldest: Date | null }
}

const date = (value: unknown): Date | null => value == null ? null : new Date(value as string)

function endpointFromRow (row: Record<string, unknown>): Endpoint {
  return {
    id: Number(row.id),
    name: String(row.name),
    url: String(row.url),
    createdAt: date(row.created_at)!,
    lastSuccessAt: date(row.last_success_at),
    lastError: row.last_error as string | null,
    lastErrorAt: date(row.last_error_at),
    failures: Number(row.failures),
    nextAttemptAt: Number.isFinite(date(row.next_attempt_at)?.getTime()) ? date(row.next_attempt_at) : null,
    lag: { records: Number(row.lag_records ?? 0), oldest: date(row.lag_oldest) }
  }
}

/**
 * How far each endpoint is behind: the sealed records after its position
 * (whether or not a signed head covers them yet), and the time of the
 * first of them, from the seal's record times (the seal's own time for
 * seals older than those).
 */
const ENDPOINT_SELECT = `
  select e.id, e.name, e.url, e.created_at, e.last_success_at, e.last_error, e.last_error_at, e.failures, e.next_attempt_at,
         (select sum(cardinality(c.record_ids) - case when c.seq = e.position_seq then e.position_index else 0 end)
            from audit_chain c where c.practice_group_id = e.practice_group_id and c.kind = 'seal' and c.seq >= e.position_seq) as lag_records,
         (select coalesce(to_timestamp(c.record_times[case when c.seq = e.position_seq then e.position_index + 1 else 1 end] / 1e6), c.created_at)
            from audit_chain c where c.practice_group_id = e.practice_group_id and c.kind = 'seal' and c.seq >= e.position_seq
             and (c.seq > e.position_seq or cardinality(c.record_ids) > e.position_index)
           order by c.seq limit 1) as lag_oldest
    from integration_endpoints e`

export async function listEndpoints (em: EntityManager, practiceGroupId: number): Promise<Endpoint[]> {
  const rows = await sqlIn(em)(`${ENDPOINT_SELECT} where e.practice_group_id = ? order by e.name, e.id`, [practiceGroupId])
  return rows.map(endpointFromRow)
}

export async function getEndpoint (em: EntityManager, practiceGroupId: number, id: number): Promise<Endpoint> {
  const [row] = await sqlIn(em)(`${ENDPOINT_SELECT} where e.practice_group_id = ? and e.id = ?`, [practiceGroupId, id])
  if (!row) throw new NotFoundError('integration endpoint')
  return endpointFromRow(row)
}

/**
 * Adds an endpoint with a new secret; the secret is returned this once and
 * can never be read back. It is sent what the history shows from `since`
 * on (the first seal written then or later), and everything after.
 */
export async function addEndpoint (em: EntityManager, practiceGroupId: number, values: EndpointValues, now: Date, since: Date): Promise<{ endpoint: Endpoint, secret: string }> {
  const [{ n }] = await sqlIn(em)<{ n: string }>('select count(*) as n from integration_endpoints where practice_group_id = ?', [practiceGroupId]) as [{ n: string }]
  if (Number(n) >= MAX_ENDPOINTS) throw new ValidationError({ name: `A practice can send its history to at most ${MAX_ENDPOINTS} endpoints. Remove one first.` })
  const secret = newSecret()
  const [{ id }] = await sqlIn(em)<{ id: number }>(
    `insert into integration_endpoints (practice_group_id, name, url, secret, created_at, updated_at, position_seq)
     values (?, ?, ?, ?, ?, ?, coalesce(
       (select min(seq) from audit_chain where practice_group_id = ? and kind = 'seal' and created_at >= ?),
       (select coalesce(max(seq), 0) + 1 from audit_chain where practice_group_id = ?))) returning id`,
    [practiceGroupId, values.name, values.url, secret, now, now, practiceGroupId, since, practiceGroupId]) as [{ id: number }]
  return { endpoint: await getEndpoint(em, practiceGroupId, id), secret }
}

function fieldChange (field: string, label: string, before: string, after: string): FieldChangeRecord {
  return { field, label, before, after, beforeText: before, afterText: after }
}

/** Renames or moves an endpoint; what changed, field by field (none: nothing was written). */
export async function changeEndpoint (em: EntityManager, practiceGroupId: number, id: number, values: EndpointValues, now: Date): Promise<{ endpoint: Endpoint, changes: FieldChangeRecord[] }> {
  const before = await getEndpoint(em, practiceGroupId, id)
  const changes = [
    ...before.name !== values.name ? [fieldChange('name', 'Name', before.name, values.name)] : [],
    ...before.url !== values.url ? [fieldChange('url', 'Address', before.url, values.url)] : []
  ]
  if (changes.length === 0) return { endpoint: before, changes }
  await sqlIn(em)('update integration_endpoints set name = ?, url = ?, updated_at = ? where practice_group_id = ? and id = ?', [values.name, values.url, now, practiceGroupId, id])
  return { endpoint: { ...before, name: values.name, url: values.url }, changes }
}

/** Gives an endpoint a new secret, returned this once; deliveries are signed with it from the next batch on. */
export async function replaceSecret (em: EntityManager, practiceGroupId: number, id: number, now: Date): Promise<{ endpoint: Endpoint, secret: string }> {
  const endpoint = await getEndpoint(em, practiceGroupId, id)
  const secret = newSecret()
  await sqlIn(em)('update integration_endpoints set secret = ?, updated_at = ? where practice_group_id = ? and id = ?', [secret, now, practiceGroupId, id])
  return { endpoint, secret }
}

export async function removeEndpoint (em: EntityManager, practiceGroupId: number, id: number): Promise<Endpoint> {
  const endpoint = await getEndpoint(em, practiceGroupId, id)
  await sqlIn(em)('delete from integration_endpoints where practice_group_id = ? and id = ?', [practiceGroupId, id])
  return endpoint
}
