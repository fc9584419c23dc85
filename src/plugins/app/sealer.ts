import fp from 'fastify-plugin'
import { sealCommittedRecords } from '../../domain/chain/sealer.js'
import { scanForAlerts } from '../../domain/alerts/alert-scan.js'
import { signAndFileHeads } from '../../domain/signed-heads/sign-heads.js'
import { schedulePasses } from './scheduled-passes.js'

/**
 * Each tick seals, then scans, in passes of about this many records, one
 * transaction each, until it has caught up: a backlog of millions (after a
 * restore, or an outage of the schedule) never holds a stop past its grace
 * period, and a stop loses at most the pass under way, which the next
 * start repeats.
 */
const RECORDS_PER_PASS = 50_000

/** Runs bounded passes until one catches up or the app stops; none once it is stopping. */
async function untilCaughtUp (stopping: AbortSignal, pass: () => Promise<{ caughtUp: boolean }>): Promise<void> {
  while (!stopping.aborted && !(await pass()).caughtUp);
}

/**
 * Seals new history records into their practices' hash chains on
 * SEAL_SCHEDULE (every 30 seconds by default; "off" disables it), so no
 * record stays unsealed for more than a minute. Recording itself never
 * waits for it. Each tick runs on one instance only; a pass that outlasts
 * its tick and the next tick's pass on another instance take turns on a
 * row lock.
 * Right after each seal pass, the head of every chain that moved is
 * signed and copied outside the database; then the alert pass reads the same new records
 * for snooping alerts; a failure of either leaves the other to run.
 * A stop waits for the pass under way, so what was sealed is also signed.
 */
export default fp(async (app) => {
  if (app.config.SEAL_SCHEDULE === 'off') return
  schedulePasses(app, app.config.SEAL_SCHEDULE, async (stopping) => {
    try {
      await untilCaughtUp(stopping, async () => {
        const report = await app.metrics.task('seal', () => sealCommittedRecords(app.keeperOrm.em.fork(), app.clock.now(), { maxRecords: RECORDS_PER_PASS }))
        app.metrics.recordsSealed(report.records)
        if (report.records > 0) app.log.debug({ report }, 'history records sealed')
        return report
      })
    } catch (err) {
      app.log.error({ err }, 'sealing the history failed')
    }
    try {
      await app.metrics.task('sign-heads', () => signAndFileHeads(app.keeperOrm.em, app.chainSigning.key, app.chainSigning.dir, app.clock.now()))
    } catch (err) {
      app.log.error({ err }, 'signing the chain heads failed')
    }
    try {
      await untilCaughtUp(stopping, async () => {
        const report = await app.metrics.task('alert-scan', () => scanForAlerts(app.keeperOrm.em.fork(), app.clock.now(), RECORDS_PER_PASS))
        app.metrics.alertsRaised(report.alerts)
        if (report.alerts > 0) app.log.info({ report }, 'snooping alerts raised')
        return report
      })
    } catch (err) {
      app.log.error({ err }, 'looking for snooping alerts failed')
    }
  }, { oncePerTickAs: 'sealer' })
}, { name: 'sealer', dependencies: ['orm', 'clock', 'chain-signing', 'metrics', 'shutdown'] })
