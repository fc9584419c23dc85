import { Migration } from '@mikro-orm/migrations'
import { APP_ROLE, KEEPER_ROLE } from '../src/db/app-role.js'

/**
 * The retention function's terms come from the plan, not from its own text:
 * how long a practice without a subscription keeps its records, and how far
 * before a paid period the paid window reaches. They live in one row that
 * only the owner writes (at start-up, from the app's plan) and the function
 * reads, so the logins that call it cannot shorten what is kept: the
 * function still takes no term as an argument. Both start at the 30 days
 * the function had until now. The row holds no practice's data, so it has
 * no row-level security.
 */
export class Migration20261208000100PlanTerms extends Migration {
  override async up (): Promise<void> {
    this.addSql(`
      create table plan_terms (
        singleton boolean primary key default true check (singleton),
        free_retention_days integer not null default 30 check (free_retention_days > 0),
        window_before_subscription_days integer not null default 30 check (window_before_subscription_days >= 0)
      );`)
    this.addSql('insert into plan_terms default values;')
    this.addSql(`grant select on plan_terms to ${APP_ROLE}, ${KEEPER_ROLE};`)

    this.addSql(`
      create or replace function purge_expired_audit_records(group_id integer, older_than timestamptz, as_of timestamptz, batch_size integer)
      returns bigint[] language plpgsql security definer set search_path = public, pg_temp as $$
      declare
        removed bigint[];
        paid_from timestamptz;
        active_from timestamptz;
        clock timestamptz := as_of;
        terms plan_terms;
      begin
        select * into terms from plan_terms;
        if not found then
          raise exception 'The plan''s retention terms are missing: nothing is deleted without them';
        end if;
        if not (select trust_caller_clock from retention_settings) then
          clock := least(as_of, now());
        end if;
        if older_than > clock - make_interval(days => terms.free_retention_days) then
          raise exception 'Records from the last % days are never deleted (asked for before %)', terms.free_retention_days, older_than;
        end if;
        select min(paid.period_start) - make_interval(days => terms.window_before_subscription_days) into paid_from
          from credit_entries paid
         where paid.practice_group_id = group_id and paid.kind in ('purchase', 'renewal')
           and paid.subscription_id in (
             select covering.subscription_id from credit_entries covering
              where covering.practice_group_id = group_id and covering.kind in ('purchase', 'renewal')
                and covering.period_start <= clock and covering.period_end > clock);
        select window_start into active_from from subscriptions where practice_group_id = group_id and status = 'active';
        if least(paid_from, active_from) is not null and older_than > least(paid_from, active_from) then
          raise exception 'Records inside the subscribed window (from %) are never deleted', least(paid_from, active_from);
        end if;
        perform set_config('practice_audit.retention', 'on', true);
        with deleted as (
          delete from audit_records where id in (
            select id from audit_records
            where practice_group_id = group_id and occurred_at < older_than
              and tx_id < (select sealed_below from audit_seal_state)
            order by occurred_at limit batch_size)
          returning id)
        select coalesce(array_agg(id order by id), '{}') into removed from deleted;
        perform set_config('practice_audit.retention', 'off', true);
        return removed;
      end $$;`)
  }
}
