import { parseArgs } from 'node:util'
import { loadConfig } from '../config.js'
import { migrate, openUnscopedOrm } from '../db/orm.js'
import { writePlanTerms } from '../db/plan-terms.js'
import { loginRoles } from '../db/roles.js'
import { cliDatabase, endProcess } from './database.js'
import { systemClock } from '../domain/clock/clock.js'
import { runScheduledJob, type JobReport } from '../domain/scheduled-job/scheduled-job.js'
import { configuredPaymentProvider } from '../domain/credits/payment-provider.js'
import { DEFAULT_PLAN } from '../domain/plan/plan.js'
import { activeUsersText, creditsText } from '../domain/plan/plan-sentences.js'
import { counted } from '../plural.js'

const EXIT = { done: 0, practiceFailed: 1, badArgument: 2 } as const
const USAGE = 'Usage: npm run jobs [-- --dry-run]'

let dryRun = false
try {
  dryRun = parseArgs({ options: { 'dry-run': { type: 'boolean' } } }).values['dry-run'] ?? false
} catch (err) {
  console.error(`${(err as Error).message}\n${USAGE}`)
  endProcess(EXIT.badArgument)
}
const config = loadConfig()

function print (report: JobReport): void {
  if (!report.ran) {
    console.log('Another runner holds the job lock; nothing was done.')
    return
  }
  console.log(`${report.dryRun ? 'Dry run (nothing changed)' : 'Run'} as of ${report.now.toISOString()}`)
  for (const p of report.practices) {
    const parts = [
      ...(p.topUps.settled ? [`${counted(p.topUps.settled, 'pending top-up', 'pending top-ups')} settled`] : []),
      ...(p.topUps.declined ? [`${counted(p.topUps.declined, 'pending top-up', 'pending top-ups')} declined`] : []),
      ...(p.topUps.pending ? [`${counted(p.topUps.pending, 'top-up', 'top-ups')} still pending${p.topUps.problems.length ? ` (${p.topUps.problems.join('; ')})` : ''}`] : []),
      ...p.renewed.map(r => `${report.dryRun ? 'would renew' : 'renewed'} at ${creditsText(r.price)} (${activeUsersText(r.activeUsers)}) until ${r.periodEnd.toISOString()}`),
      ...(p.expiredAt ? [`${report.dryRun ? 'would expire' : 'expired'} (period ended ${p.expiredAt.toISOString()})`] : []),
      `${counted(p.deleted, 'record', 'records')} older than ${p.cutoff.toISOString()} ${report.dryRun ? 'would be deleted' : 'deleted'}`,
      ...(p.error ? [`FAILED: ${p.error}`] : [])
    ]
    console.log(`- ${p.name} (#${p.practiceGroupId}): ${parts.join('; ')}`)
  }
}

const { url, embedded } = await cliDatabase(config)
await migrate(url)
await writePlanTerms(url, DEFAULT_PLAN)
const roles = await loginRoles(url, config.DATA_DIR, { app: config.APP_DATABASE_URL, keeper: config.KEEPER_DATABASE_URL })
const orm = await openUnscopedOrm(roles.keeper)
let exitCode: number
try {
  const report = await runScheduledJob(orm, DEFAULT_PLAN, systemClock, { dryRun, paymentProvider: configuredPaymentProvider(config.PAYMENT_PROVIDER) })
  print(report)
  exitCode = report.practices.some(p => p.error) ? EXIT.practiceFailed : EXIT.done
} finally {
  await orm.close()
  await embedded?.stop()
}
endProcess(exitCode)
