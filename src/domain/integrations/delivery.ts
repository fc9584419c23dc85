import type { EntityManager } from '@mikro-orm/core'
import type { Clock } from '../clock/clock.js'
import { readSealedAfter, type SealedRecord } from '../audit-records/delivery-reads.js'
import { exportedFields } from '../history/history-export.js'
import { restrictedPatientIds } from '../restricted-patients/restriction.js'
import { claimDueEndpoint, recordDelivered, recordFailure, releaseEndpoint, type ClaimedEndpoint } from './delivery-state.js'
import { postBatch } from './delivery-http.js'

export const BATCH_SIZE = 500
export const TIMEOUT_MS = 10_000
const CONCURRENCY = 4
const BACKOFF_BASE_MS = 5_000
export const BACKOFF_CAP_MS = 60 * 60_000

export interface DeliveryOptions {
  batchSize?: number
  timeoutMs?: number
  concurrency?: number
  /** Once aborted, each worker ends after the batch it is sending; the next run goes on from there. */
  stopping?: AbortSignal
}

export interface DeliveryReport {
  /** Batches the receivers took. */
  batches: number
  records: number
  failures: number
}

/** Full jitter: anywhere from now to the doubled wait, so receivers that come back are not met by every practice at once. */
export function retryDelay (failures: number, random: () => number = Math.random): number {
  return Math.floor(random() * Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.min(failures, 20)))
}

/** One record as a receiver gets it: the export's fields, where it was sealed, and the signed head that covers that seal. */
function deliveredRecord ({ record, position, head }: SealedRecord): Record<string, unknown> {
  return {
    ...exportedFields(record!),
    seal: { seq: position.seq, index: position.index - 1 },
    signedHead: { seq: head.seq, payload: head.payload, signature: head.signature.toString('base64') }
  }
}

type Outcome = 'more' | 'done' | 'failed'

/**
 * Sends an endpoint the next batch after its position and records how it
 * went. Nothing holds a connection or a transaction while the receiver is
 * called: the batch is read, the connection goes back to the pool, and the
 * result is written by a statement of its own.
 */
async function deliverBatch (em: EntityManager, endpoint: ClaimedEndpoint, clock: Clock, batchSize: number, timeoutMs: number, report: DeliveryReport): Promise<Outcome> {
  const withheld = await restrictedPatientIds(em, endpoint.practiceGroupId)
  const batch = await readSealedAfter(em, endpoint.practiceGroupId, endpoint.position, batchSize, withheld)
  if (batch.length === 0) {
    await releaseEndpoint(em, endpoint)
    return 'done'
  }
  const to = batch[batch.length - 1]!.position
  const records = batch.filter(item => item.record !== null).map(deliveredRecord)
  const more = batch.length === batchSize ? 'more' : 'done'
  // Records that retention deleted before they went are passed over; a batch of nothing but those is not sent.
  if (records.length === 0) return await recordDelivered(em, endpoint, to, clock.now(), false) ? more : 'done'
  const body = JSON.stringify({ practice: endpoint.practiceGroupId, endpoint: endpoint.id, records })
  const failure = await postBatch(endpoint.url, endpoint.secret, body, clock.now(), timeoutMs)
  const now = clock.now()
  if (failure !== null) {
    report.failures++
    await recordFailure(em, endpoint, failure, now, new Date(now.getTime() + retryDelay(endpoint.failures + 1)))
    return 'failed'
  }
  if (!await recordDelivered(em, endpoint, to, now, true)) return 'done'
  report.batches++
  report.records += records.length
  return more
}

/**
 * Delivers to every endpoint that is due until each has caught up or
 * failed, a few endpoints at a time so one slow receiver holds up no
 * other. Each endpoint is leased while its batch is out, so instances
 * running this at once never send one endpoint two batches together, and
 * a deliverer that dies mid-way gives the endpoint up when its lease ends.
 */
export async function deliverDue (em: EntityManager, clock: Clock, options: DeliveryOptions = {}): Promise<DeliveryReport> {
  const batchSize = options.batchSize ?? BATCH_SIZE
  const timeoutMs = options.timeoutMs ?? TIMEOUT_MS
  const leaseMs = Math.max(2 * timeoutMs, 60_000)
  const report: DeliveryReport = { batches: 0, records: 0, failures: 0 }
  // Endpoints that caught up or failed in this run wait for the next one, even when their retry time is already here.
  const passedOver: number[] = []
  const errors: unknown[] = []
  const worker = async (): Promise<void> => {
    const own = em.fork()
    for (;;) {
      if (options.stopping?.aborted) return
      const now = clock.now()
      const endpoint = await claimDueEndpoint(own, now, new Date(now.getTime() + leaseMs), passedOver)
      if (!endpoint) return
      try {
        if (await deliverBatch(own, endpoint, clock, batchSize, timeoutMs, report) !== 'more') passedOver.push(endpoint.id)
      } catch (err) {
        // The endpoint stays leased, so it is tried again once the lease ends; the others go on.
        passedOver.push(endpoint.id)
        errors.push(err)
      }
    }
  }
  await Promise.all(Array.from({ length: options.concurrency ?? CONCURRENCY }, worker))
  if (errors.length > 0) throw errors[0]
  return report
}
