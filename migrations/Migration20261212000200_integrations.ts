import { Migration } from '@mikro-orm/migrations'
import { APP_ROLE, KEEPER_ROLE } from '../src/db/app-role.js'

/** What the app role may read of an endpoint: everything but its secret. */
const READABLE = `id, practice_group_id, name, url, created_at, updated_at, position_seq, position_index,
  last_attempt_at, last_success_at, last_error, last_error_at, failures, next_attempt_at, leased_until`

/**
 * Streaming the history to a practice's own receivers (a SIEM, a webhook).
 *
 * - An endpoint's position is the chain position of the last record it
 *   was sent: entry `position_seq` of the practice's chain, its first
 *   `position_index` records. (s, 0) is before entry s: the app starts a
 *   new endpoint at the first seal inside what the practice's history
 *   shows (7 days without a subscription), as an export would.
 * - The secret signs each delivery. The app role writes it, when the
 *   endpoint is added or its secret replaced, but can never read it back:
 *   the page shows it once. Only the keeper, which delivers, reads it.
 * - Only the keeper moves the position and writes the delivery's health:
 *   the last attempt, success and error, the failures in a row and when to
 *   try next. `leased_until` gives an endpoint to one deliverer at a time.
 */
export class Migration20261212000200Integrations extends Migration {
  override async up (): Promise<void> {
    this.addSql(`
      create table integration_endpoints (
        id serial primary key,
        practice_group_id integer not null references practice_groups (id),
        name varchar(100) not null,
        url varchar(2000) not null,
        secret varchar(200) not null,
        created_at timestamptz not null,
        updated_at timestamptz not null,
        position_seq integer not null default 0 check (position_seq >= 0),
        position_index integer not null default 0 check (position_index >= 0),
        last_attempt_at timestamptz,
        last_success_at timestamptz,
        last_error varchar(300),
        last_error_at timestamptz,
        failures integer not null default 0 check (failures >= 0),
        next_attempt_at timestamptz not null default '-infinity',
        leased_until timestamptz
      );`)
    this.addSql('create index integration_endpoints_group_idx on integration_endpoints (practice_group_id, id);')

    this.addSql('alter table integration_endpoints enable row level security;')
    this.addSql(`create policy integration_endpoints_practice_scope on integration_endpoints to ${APP_ROLE}
      using (practice_group_id = app_practice()) with check (practice_group_id = app_practice());`)
    this.addSql(`create policy integration_endpoints_keeper on integration_endpoints to ${KEEPER_ROLE} using (true) with check (true);`)

    this.addSql(`grant select (${READABLE}) on integration_endpoints to ${APP_ROLE};`)
    this.addSql(`grant insert (practice_group_id, name, url, secret, created_at, updated_at, position_seq) on integration_endpoints to ${APP_ROLE};`)
    this.addSql(`grant update (name, url, secret, updated_at), delete on integration_endpoints to ${APP_ROLE};`)
    this.addSql(`grant usage on sequence integration_endpoints_id_seq to ${APP_ROLE};`)

    this.addSql(`grant select on integration_endpoints to ${KEEPER_ROLE};`)
    this.addSql(`grant update (position_seq, position_index, last_attempt_at, last_success_at, last_error, last_error_at, failures, next_attempt_at, leased_until)
      on integration_endpoints to ${KEEPER_ROLE};`)
  }
}
