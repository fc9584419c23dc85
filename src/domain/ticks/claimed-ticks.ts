import type { EntityManager } from '@mikro-orm/core'
import { sqlIn } from '../../db/sql.js'

/** Long past any instance's late start of the same tick; until then an operator can see who ran what. */
const CLAIMS_KEPT = '1 day'

/**
 * Claims one tick of a task's schedule (the time the schedule named) for
 * the instance `claimedBy`: true when no instance had claimed it, so this
 * one runs it. Concurrent claims of one tick wait on its key, and only the
 * first inserts. The claim that takes also removes the task's claims older
 * than a day, so the table stays small without a job of its own.
 */
export async function claimTick (em: EntityManager, task: string, tick: Date, claimedBy: string): Promise<boolean> {
  const [row] = await sqlIn(em)<{ claimed: number }>(`
    with claimed as (
      insert into claimed_ticks (task, tick, claimed_by) values (?, ?, ?) on conflict do nothing returning tick
    ), pruned as (
      delete from claimed_ticks where task = ? and tick < ?::timestamptz - interval '${CLAIMS_KEPT}' and exists (select from claimed)
    )
    select count(*)::int as claimed from claimed`, [task, tick, claimedBy, task, tick])
  return row!.claimed === 1
}
