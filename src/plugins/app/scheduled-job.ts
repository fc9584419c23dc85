import fp from 'fastify-plugin'
import { runScheduledJob, type JobReport } from '../../domain/scheduled-job/scheduled-job.js'
import type { TaskOutcome } from './metrics.js'
import { schedulePasses } from './scheduled-passes.js'

function outcomeOf (report: JobReport): TaskOutcome {
  if (!report.ran) return 'skipped'
  return report.practices.some(practice => practice.error) ? 'partial' : 'ok'
}

/**
 * Settles pending top-ups and runs renewals, expiries and retention on
 * JOBS_SCHEDULE (every 15 minutes by default; "off" disables it). Every
 * instance schedules it and each tick runs on one of them only; the job's
 * advisory lock still keeps a run that outlasts its tick, or `npm run
 * jobs`, from working at the same time as another. A stop lets it finish
 * the practice it is working on.
 */
export default fp(async (app) => {
  if (app.config.JOBS_SCHEDULE === 'off') return
  schedulePasses(app, app.config.JOBS_SCHEDULE, async (stopping) => {
    try {
      const report = await app.metrics.task('scheduled-job', () => runScheduledJob(app.keeperOrm, app.plan, app.clock, { paymentProvider: app.paymentProvider, stopping }), outcomeOf)
      if (!report.ran) return
      for (const practice of report.practices) {
        if (practice.error) app.log.error({ practiceGroupId: practice.practiceGroupId, err: practice.error }, 'scheduled job failed for a practice')
        else if (practice.renewed.length || practice.expiredAt || practice.deleted || practice.topUps.settled || practice.topUps.declined) app.log.info({ practice }, 'scheduled job acted')
        if (practice.topUps.problems.length) app.log.warn({ practiceGroupId: practice.practiceGroupId, problems: practice.topUps.problems }, 'top-ups are still pending')
      }
    } catch (err) {
      app.log.error({ err }, 'scheduled job failed')
    }
  }, { oncePerTickAs: 'scheduled-job' })
}, { name: 'scheduled-jobs', dependencies: ['orm', 'clock', 'plan', 'metrics', 'shutdown'] })
