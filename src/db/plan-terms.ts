import pg from 'pg'
import type { Plan } from '../domain/plan/plan.js'

/**
 * Gives the database the plan's retention terms, as its owner. The
 * retention function enforces them whatever its caller asks, and the app's
 * and the keeper's logins may only read them, so a fault in the app cannot
 * shorten what is kept.
 */
export async function writePlanTerms (ownerUrl: string, plan: Plan): Promise<void> {
  const owner = new pg.Client({ connectionString: ownerUrl })
  await owner.connect()
  try {
    await owner.query('update plan_terms set free_retention_days = $1, window_before_subscription_days = $2',
      [plan.freeRetentionDays, plan.windowBeforeSubscriptionDays])
  } finally {
    await owner.end()
  }
}
