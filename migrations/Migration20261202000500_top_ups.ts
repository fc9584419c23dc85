import { Migration } from '@mikro-orm/migrations'
import { APP_ROLE } from '../src/db/app-role.js'

/**
 * Top-ups, recorded before the payment provider is asked, so a failure
 * after the card is charged leaves a visible pending top-up that the
 * settler completes, never money taken without a trace.
 *
 * - The idempotency key is unique per practice: a repeated form post finds
 *   the first top-up instead of starting a second payment.
 * - A pending row becomes settled (with the provider's reference, in the
 *   same transaction as its ledger row and balance) or declined (with the
 *   provider's message). A provider that cannot be reached proves nothing
 *   either way, so there is no third end state: the row stays pending.
 * - Top-ups settled before this table existed are copied in as settled,
 *   so their keys stay spent.
 */
export class Migration20261202000500TopUps extends Migration {
  override async up (): Promise<void> {
    this.addSql(`
      create table top_ups (
        id bigserial primary key,
        practice_group_id integer not null references practice_groups (id),
        user_id integer references users (id),
        idempotency_key varchar(100) not null,
        credits integer not null check (credits > 0),
        provider varchar(40) not null,
        status varchar(10) not null check (status in ('pending', 'settled', 'declined')),
        provider_reference varchar(200),
        decline_message varchar(500),
        created_at timestamptz not null,
        updated_at timestamptz not null,
        unique (practice_group_id, idempotency_key),
        check ((status = 'settled') = (provider_reference is not null)),
        check ((status = 'declined') = (decline_message is not null))
      );`)
    this.addSql("create index top_ups_pending_idx on top_ups (practice_group_id, created_at) where status = 'pending';")
    this.addSql(`
      insert into top_ups (practice_group_id, user_id, idempotency_key, credits, provider, status, provider_reference, created_at, updated_at)
      select practice_group_id, user_id, idempotency_key, amount, coalesce(provider, 'unknown'), 'settled', coalesce(provider_reference, ''), occurred_at, occurred_at
        from credit_entries where kind = 'top_up' and idempotency_key is not null;`)
    this.addSql(`grant select, insert, update on top_ups to ${APP_ROLE};`)
    this.addSql(`grant usage, select on sequence top_ups_id_seq to ${APP_ROLE};`)
  }
}
