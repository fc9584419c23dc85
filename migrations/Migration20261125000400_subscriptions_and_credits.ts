import { Migration } from '@mikro-orm/migrations'
import { APP_ROLE } from '../src/db/app-role.js'

/**
 * The User Action History add-on: subscriptions, the credit ledger, and a
 * retention function that knows about them.
 *
 * - A practice has at most one active subscription (a partial unique index),
 *   and its balance can never go below zero (the check on practice_groups).
 * - Every credit movement is a ledger row; a purchase's idempotency key is
 *   unique per practice, so a repeated request cannot charge twice.
 * - purge_expired_audit_records now takes the moment the job acts for
 *   (`as_of`, from the app's injected clock, so retention can be tested
 *   across simulated months) and refuses anything from the 30 days before
 *   it. Whatever `as_of` says, it never deletes inside an active
 *   subscription's window: that rule is enforced by the database itself.
 */
export class Migration20261125000400SubscriptionsAndCredits extends Migration {
  override async up (): Promise<void> {
    this.addSql(`
      create table subscriptions (
        id serial primary key,
        practice_group_id integer not null references practice_groups (id),
        started_at timestamptz not null,
        window_start timestamptz not null,
        periods_paid integer not null check (periods_paid >= 1),
        current_period_end timestamptz not null,
        auto_renew boolean not null default true,
        status varchar(10) not null check (status in ('active', 'expired')),
        expired_at timestamptz,
        created_at timestamptz not null default now(),
        check ((status = 'expired') = (expired_at is not null))
      );`)
    this.addSql("create unique index subscriptions_one_active_idx on subscriptions (practice_group_id) where status = 'active';")
    this.addSql('create index subscriptions_group_idx on subscriptions (practice_group_id, started_at desc);')
    this.addSql("create index subscriptions_due_idx on subscriptions (current_period_end) where status = 'active';")

    this.addSql(`
      create table credit_entries (
        id bigserial primary key,
        practice_group_id integer not null references practice_groups (id),
        occurred_at timestamptz not null,
        kind varchar(10) not null check (kind in ('top_up', 'purchase', 'renewal', 'refund')),
        amount integer not null check (amount <> 0),
        balance_after integer not null check (balance_after >= 0),
        subscription_id integer references subscriptions (id),
        period_start timestamptz,
        period_end timestamptz,
        description varchar(500) not null,
        provider varchar(40),
        provider_reference varchar(200),
        idempotency_key varchar(100),
        user_id integer references users (id)
      );`)
    this.addSql('create unique index credit_entries_idempotency_idx on credit_entries (practice_group_id, idempotency_key) where idempotency_key is not null;')
    this.addSql('create index credit_entries_group_idx on credit_entries (practice_group_id, occurred_at desc, id desc);')

    this.addSql('drop function purge_expired_audit_records(integer, timestamptz, integer);')
    this.addSql(`
      create function purge_expired_audit_records(group_id integer, older_than timestamptz, as_of timestamptz, batch_size integer)
      returns integer language plpgsql security definer set search_path = public, pg_temp as $$
      declare
        removed integer;
        protected_from timestamptz;
      begin
        if older_than > as_of - interval '30 days' then
          raise exception 'Records from the last 30 days are never deleted (asked for before %)', older_than;
        end if;
        select window_start into protected_from from subscriptions where practice_group_id = group_id and status = 'active';
        if protected_from is not null and older_than > protected_from then
          raise exception 'Records inside the subscribed window (from %) are never deleted', protected_from;
        end if;
        perform set_config('practice_audit.retention', 'on', true);
        delete from audit_records where id in (
          select id from audit_records
          where practice_group_id = group_id and occurred_at < older_than
          order by occurred_at limit batch_size);
        get diagnostics removed = row_count;
        perform set_config('practice_audit.retention', 'off', true);
        return removed;
      end $$;`)
    this.addSql('revoke all on function purge_expired_audit_records(integer, timestamptz, timestamptz, integer) from public;')
    this.addSql(`grant execute on function purge_expired_audit_records(integer, timestamptz, timestamptz, integer) to ${APP_ROLE};`)
    this.addSql(`grant select, insert, update on subscriptions to ${APP_ROLE};`)
    this.addSql(`grant select, insert on credit_entries to ${APP_ROLE};`)
    this.addSql(`grant usage, select on all sequences in schema public to ${APP_ROLE};`)
  }
}
