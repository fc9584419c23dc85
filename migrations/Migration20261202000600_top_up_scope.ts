import { Migration } from '@mikro-orm/migrations'
import { APP_ROLE, KEEPER_ROLE } from '../src/db/app-role.js'

/**
 * Pending top-ups are practice data like the rest: row-level security
 * scopes them to the request's practice for the app's role. The keeper
 * settles the ones left pending, for every practice, and may change only
 * their outcome.
 */
export class Migration20261202000600TopUpScope extends Migration {
  override async up (): Promise<void> {
    this.addSql('alter table top_ups enable row level security;')
    this.addSql(`create policy top_ups_practice_scope on top_ups to ${APP_ROLE}
      using (practice_group_id = app_practice()) with check (practice_group_id = app_practice());`)
    this.addSql(`create policy top_ups_keeper on top_ups to ${KEEPER_ROLE} using (true) with check (true);`)
    this.addSql(`grant select, update (status, provider_reference, decline_message, updated_at) on top_ups to ${KEEPER_ROLE};`)
  }
}
