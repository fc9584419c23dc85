import type { EntityManager } from '@mikro-orm/core'
import type { ChainPosition } from '../audit-records/delivery-reads.js'

/** An endpoint given to one deliverer until `leasedUntil`. */
export interface ClaimedEndpoint {
  id: number
  practiceGroupId: number
  url: string
  secret: string
  position: ChainPosition
  failures: number
  leasedUntil: Date
}

/**
 * Takes the endpoint that has waited longest among those that are due (its
 * retry time has come, or it was changed since its last attempt), are not
 * leased to another deliverer, and have a signed record waiting, and leases
 * it until `leasedUntil`. The row lock lasts only this statement; other
 * deliverers skip it rather than wait, and the lease keeps them off until
 * this one reports back.
 */
export async function claimDueEndpoint (em: EntityManager, now: Date, leasedUntil: Date, passedOver: readonly number[]): Promise<ClaimedEndpoint | null> {
  const [row] = await em.getConnection().execute<Array<Record<string, unknown>>>(
    `update integration_endpoints e set leased_until = ?, last_attempt_at = ?
      where e.id = (
        select c.id from integration_endpoints c
         where (c.leased_until is null or c.leased_until <= ?)
           and (c.next_attempt_at <= ? or c.updated_at > coalesce(c.last_attempt_at, '-infinity'))
           and not (c.id = any(?::int[]))
           and exists (select 1 from audit_chain a
                        where a.practice_group_id = c.practice_group_id and a.kind = 'seal' and a.seq >= c.position_seq
                          and (a.seq > c.position_seq or cardinality(a.record_ids) > c.position_index)
                          and a.seq <= (select max(h.seq) from signed_heads h where h.practice_group_id = c.practice_group_id))
         order by c.next_attempt_at, c.id
         limit 1
         for update skip locked)
      returning e.id, e.practice_group_id, e.url, e.secret, e.position_seq, e.position_index, e.failures`,
    [leasedUntil, now, now, now, `{${passedOver.join(',')}}`])
  if (!row) return null
  return {
    id: Number(row.id),
    practiceGroupId: Number(row.practice_group_id),
    url: String(row.url),
    secret: String(row.secret),
    position: { seq: Number(row.position_seq), index: Number(row.position_index) },
    failures: Number(row.failures),
    leasedUntil
  }
}

/**
 * The receiver took everything up to `to` (or there was nothing left of
 * it to send): the endpoint moves on and is due again at once. Written
 * only while this deliverer still holds the lease.
 */
export async function recordDelivered (em: EntityManager, endpoint: ClaimedEndpoint, to: ChainPosition, now: Date, sent: boolean): Promise<boolean> {
  const rows = await em.getConnection().execute<Array<{ id: number }>>(
    `update integration_endpoints
        set position_seq = ?, position_index = ?, failures = case when ? then 0 else failures end,
            last_success_at = case when ? then ? else last_success_at end, next_attempt_at = ?, leased_until = null
      where id = ? and leased_until = ? returning id`,
    [to.seq, to.index, sent, sent, now, now, endpoint.id, endpoint.leasedUntil])
  return rows.length > 0
}

/** The delivery failed: the endpoint keeps its position and waits until `retryAt`. */
export async function recordFailure (em: EntityManager, endpoint: ClaimedEndpoint, error: string, now: Date, retryAt: Date): Promise<void> {
  await em.getConnection().execute(
    `update integration_endpoints
        set failures = failures + 1, last_error = ?, last_error_at = ?, next_attempt_at = ?, leased_until = null
      where id = ? and leased_until = ?`,
    [error, now, retryAt, endpoint.id, endpoint.leasedUntil])
}

/** The endpoint had nothing to send after all: it gives its lease back unchanged. */
export async function releaseEndpoint (em: EntityManager, endpoint: ClaimedEndpoint): Promise<void> {
  await em.getConnection().execute('update integration_endpoints set leased_until = null where id = ? and leased_until = ?', [endpoint.id, endpoint.leasedUntil])
}
