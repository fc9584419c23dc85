import { Migration } from '@mikro-orm/migrations'
import { KEEPER_ROLE } from '../src/db/app-role.js'

/**
 * Every app instance schedules the sealer and the scheduled job, and each
 * tick must run on one of them only. The first instance to insert the
 * tick's row (the task and the time the schedule named) runs it; the
 * others find the row taken and skip that tick. `claimed_by` names the
 * instance (host and process), so an operator can see who ran what.
 *
 * A tick belongs to the whole database, not to a practice, so the table
 * has no practice column and no row-level security; only the keeper, who
 * runs both tasks, may read, claim and prune it.
 */
export class Migration20261214000300ClaimedTicks extends Migration {
  override async up (): Promise<void> {
    this.addSql(`
      create table claimed_ticks (
        task text not null,
        tick timestamptz not null,
        claimed_at timestamptz not null default now(),
        claimed_by text not null,
        primary key (task, tick)
      );`)
    this.addSql(`grant select, insert, delete on claimed_ticks to ${KEEPER_ROLE};`)
  }
}
