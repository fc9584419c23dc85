import pg from 'pg'
import type { MikroORM } from '@mikro-orm/core'
import type { Clock } from '../clock/clock.js'
import type { Plan } from '../plan/plan.js'
import { PracticeGroup } from '../practice-groups/practice-group.entity.js'
import type { PaymentProvider } from '../credits/payment-provider.js'
import { practicesWithPendingTopUps, settlePendingTopUps, type TopUpSettlement } from '../credits/top-up.service.js'
import { renewOrExpire, type RenewalOutcome } from './renewals.js'
import { purgeExpired, type RetentionOptions } from './purge-expired.js'

/** One key for the whole job: any number of app instances, one runner at a time. */
const JOBS_LOCK_KEY = 727_001

export const DEFAULT_BATCH_SIZE = 5000

export interface PracticeReport extends RenewalOutcome {
  practiceGroupId: number
  name: string
  cutoff: Date
  deleted: number
  topUps: TopUpSettlement
  error?: string
}

export interface JobReport {
  /** False when another runner held the lock; nothing was done. */
  ran: boolean
  now: Date
  dryRun: boolean
  practices: PracticeReport[]
}

export interface JobOptions {
  dryRun?: boolean
  batchSize?: number
  afterBatch?: RetentionOptions['afterBatch']
  /** Asked again about pending top-ups; without it they are only counted. */
  paymentProvider?: PaymentProvider | null
  /** Once aborted, the run ends after the practice it is working on; the next run does the rest. */
  stopping?: AbortSignal
}

/**
 * Pending top-ups (settled first, so their credits count toward a renewal),
 * renewals, expiries and retention for every practice, as of the clock's
 * now and on the plan's terms. A session-level advisory lock on a
 * connection of its own makes the run exclusive across instances; a
 * practice that fails is reported and the others still run.
 */
export async function runScheduledJob (orm: MikroORM, plan: Plan, clock: Clock, options: JobOptions = {}): Promise<JobReport> {
  const now = clock.now()
  const dryRun = options.dryRun ?? false
  const lock = new pg.Client({ connectionString: orm.config.get('clientUrl'), keepAlive: true })
  let lockLost: Error | null = null
  // Losing this connection releases the lock, so another runner may start: stop at the next practice.
  lock.on('error', err => { lockLost = err })
  await lock.connect()
  try {
    const { rows: [acquired] } = await lock.query<{ locked: boolean }>('select pg_try_advisory_lock($1) as locked', [JOBS_LOCK_KEY])
    if (!acquired?.locked) return { ran: false, now, dryRun, practices: [] }
    const practices = await orm.em.fork().find(PracticeGroup, {}, { orderBy: { id: 'asc' } })
    const awaitingPayment = await practicesWithPendingTopUps(orm.em.fork())
    const reports: PracticeReport[] = []
    for (const practice of practices) {
      if (options.stopping?.aborted) break
      if (lockLost) throw new Error(`The job lock was lost (${(lockLost as Error).message}); stopping so another runner can take over`)
      const report: PracticeReport = {
        practiceGroupId: practice.id, name: practice.name, renewed: [], expiredAt: null, cutoff: now, deleted: 0, topUps: { settled: 0, declined: 0, pending: 0, problems: [] }
      }
      try {
        if (awaitingPayment.has(practice.id)) report.topUps = await settlePendingTopUps(orm.em.fork(), options.paymentProvider ?? null, practice, now, dryRun)
        Object.assign(report, await renewOrExpire(orm.em.fork(), plan, practice, now, dryRun))
        Object.assign(report, await purgeExpired(orm.em.fork(), plan, practice, now, {
          batchSize: options.batchSize ?? DEFAULT_BATCH_SIZE, dryRun, asIfExpired: dryRun && report.expiredAt !== null, afterBatch: options.afterBatch
        }))
      } catch (err) {
        report.error = err instanceof Error ? err.message : String(err)
      }
      reports.push(report)
    }
    return { ran: true, now, dryRun, practices: reports }
  } finally {
    await lock.end().catch(() => {})
  }
}
