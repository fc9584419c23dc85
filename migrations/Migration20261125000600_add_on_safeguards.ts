import { Migration } from '@mikro-orm/migrations'
import { APP_ROLE } from '../src/db/app-role.js'

/**
 * Safeguards around the add-on:
 * - one System user per practice, whatever its email;
 * - what an expiry deleted is stored, not worked out afterwards;
 * - retention measures "the last 30 days" by the database's clock unless
 *   the database's owner has said the caller's clock is to be trusted (test
 *   databases that simulate months do); the app's role cannot change that.
 */
export class Migration20261125000600AddOnSafeguards extends Migration {
  override async up (): Promise<void> {
    this.addSql('create unique index users_one_system_per_group_idx on users (practice_group_id) where is_system;')
    this.addSql('alter table subscriptions add column deleted_before timestamptz;')
    this.addSql(`
      create table retention_settings (
        singleton boolean primary key default true check (singleton),
        trust_caller_clock boolean not null default false
      );`)
    this.addSql('insert into retention_settings default values;')
    this.addSql(`grant select on retention_settings to ${APP_ROLE};`)
    this.addSql(`
      create or replace function purge_expired_audit_records(group_id integer, older_than timestamptz, as_of timestamptz, batch_size integer)
      returns integer language plpgsql security definer set search_path = public, pg_temp as $$
      declare
        removed integer;
        protected_from timestamptz;
        clock timestamptz := as_of;
      begin
        if not (select trust_caller_clock from retention_settings) then
          clock := least(as_of, now());
        end if;
        if older_than > clock - interval '30 days' then
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
  }
}
