import { Migration } from '@mikro-orm/migrations'
import { APP_ROLE, KEEPER_ROLE } from '../src/db/app-role.js'

/** Every table holding a practice's rows, and the column that names the practice. */
export const PRACTICE_TABLES: Record<string, string> = {
  practice_groups: 'id',
  users: 'practice_group_id',
  sessions: 'practice_group_id',
  patients: 'practice_group_id',
  appointments: 'practice_group_id',
  invoices: 'practice_group_id',
  subscriptions: 'practice_group_id',
  credit_entries: 'practice_group_id',
  audit_records: 'practice_group_id',
  audit_chain: 'practice_group_id'
}

const RECORD_COLUMNS = 'practice_group_id, occurred_at, user_id, user_name, action, page, record_type, record_id, description, url, ip, changes'

/**
 * The history must hold even if the app itself misbehaves, so the app's own
 * database logins get only what the app needs.
 *
 * - Two login roles, neither superuser nor owner nor member of any role:
 *   `practice_audit_app` serves requests, `practice_audit_keeper` runs the
 *   sealer and the scheduled job (renewals, expiries, retention). Roles
 *   belong to the whole server, so their login and attributes are set at
 *   start-up, not by every database's migration (see db/roles.ts).
 * - Row-level security on every practice table: the app role sees and
 *   writes only the rows of the practice its connection is scoped to
 *   (`app.practice_id`); a connection with no practice sees none.
 *   Three tables hold no practice's data and have no policy:
 *   `audit_seal_state` and `retention_settings` are single rows for the
 *   whole database (the app role may only read them), and
 *   `sign_in_failures` is counted by email and address before any
 *   practice is known. The
 *   keeper works across practices but may change only what the job and the
 *   sealer change. Sign-in and session look-ups learn a practice through
 *   two SECURITY DEFINER functions that answer one question each.
 * - A record's time is the database's: a trigger stamps `occurred_at` with
 *   now() whatever the app's roles sent, unless the owner has told this
 *   database to trust the caller's clock (test databases that simulate
 *   months). The owner may still write past activity (demo data).
 * - Only the keeper may append to the hash chain, move the sealing position
 *   or call the retention function, and that function protects every
 *   record inside a paid window as the credit ledger tells it: an
 *   append-only list of paid periods that no role of the app can rewrite.
 * - The retention delete is allowed only inside that function (running as
 *   the owner), not by a setting any session could set.
 */
export class Migration20261202000100LeastPrivilege extends Migration {
  override async up (): Promise<void> {
    this.addSql(`
      do $$ begin
        create role ${KEEPER_ROLE} nologin;
      exception when duplicate_object or unique_violation then null;
      end $$;`)
    this.addSql('revoke create on schema public from public;')
    this.addSql("do $$ begin execute format('revoke temporary on database %I from public', current_database()); end $$;")
    this.addSql(`grant usage on schema public to ${KEEPER_ROLE};`)

    this.addSql(`
      create function app_practice() returns integer language sql stable parallel safe as $$
        select nullif(current_setting('app.practice_id', true), '')::integer
      $$;`)
    for (const [table, column] of Object.entries(PRACTICE_TABLES)) {
      const own = table === 'sessions' ? `(${column} is null or ${column} = app_practice())` : `(${column} = app_practice())`
      this.addSql(`alter table ${table} enable row level security;`)
      this.addSql(`create policy ${table}_practice_scope on ${table} to ${APP_ROLE} using ${own} with check ${own};`)
      this.addSql(`create policy ${table}_keeper on ${table} to ${KEEPER_ROLE} using (true) with check (true);`)
    }

    // Under row-level security PostgreSQL uses a query's own condition in an index only if its function is
    // marked leakproof, so without this the ID, text and address filters would read a practice's whole
    // history. None of these can reveal a row it is given: length never fails, an ILIKE fails only on its
    // pattern (the query's own), and the containment of one address in another never fails. Only a superuser
    // may mark them; elsewhere those filters still work, only slower.
    this.addSql(`
      do $$ begin
        if (select rolsuper from pg_roles where rolname = current_user) then
          alter function pg_catalog.length(text) leakproof;
          alter function pg_catalog.texticlike(text, text) leakproof;
          alter function pg_catalog.network_subeq(inet, inet) leakproof;
        else
          raise notice 'Not a superuser: the history''s ID, text and address filters will not use their indexes under row-level security';
        end if;
      end $$;`)

    this.addSql(`
      create function practice_of_email(email_address varchar) returns integer
      language sql stable security definer set search_path = public, pg_temp as $$
        select practice_group_id from users where email = email_address and not is_system
      $$;`)
    this.addSql(`
      create function practice_of_session(session_id varchar) returns integer
      language sql stable security definer set search_path = public, pg_temp as $$
        select practice_group_id from sessions where sid = session_id
      $$;`)
    for (const fn of ['practice_of_email(varchar)', 'practice_of_session(varchar)']) {
      this.addSql(`revoke all on function ${fn} from public;`)
      this.addSql(`grant execute on function ${fn} to ${APP_ROLE};`)
    }

    this.addSql('alter table audit_records alter column occurred_at set default now();')
    this.addSql(`
      create function audit_records_stamp_time() returns trigger language plpgsql set search_path = public, pg_temp as $$
      begin
        if new.occurred_at is null
           or (current_user in ('${APP_ROLE}', '${KEEPER_ROLE}') and not (select trust_caller_clock from retention_settings)) then
          new.occurred_at := now();
        end if;
        return new;
      end $$;`)
    this.addSql(`create trigger audit_records_stamp_time before insert on audit_records
      for each row execute function audit_records_stamp_time();`)

    this.addSql(`
      create or replace function audit_records_append_only() returns trigger language plpgsql as $$
      declare
        owner name := (select r.rolname from pg_class c join pg_roles r on r.oid = c.relowner where c.oid = tg_relid);
      begin
        if tg_op = 'DELETE' and current_user = owner and current_setting('practice_audit.retention', true) = 'on' then
          return old;
        end if;
        raise exception 'User Action History is append-only: % is not allowed', tg_op using errcode = 'insufficient_privilege';
      end $$;`)

    this.addSql(`
      create function credit_entries_append_only() returns trigger language plpgsql as $$
      begin
        raise exception 'The credit ledger is append-only: % is not allowed', tg_op using errcode = 'insufficient_privilege';
      end $$;`)
    this.addSql(`create trigger credit_entries_no_change before update or delete on credit_entries
      for each row execute function credit_entries_append_only();`)
    this.addSql(`create trigger credit_entries_no_truncate before truncate on credit_entries
      for each statement execute function credit_entries_append_only();`)

    this.addSql(`
      create or replace function purge_expired_audit_records(group_id integer, older_than timestamptz, as_of timestamptz, batch_size integer)
      returns bigint[] language plpgsql security definer set search_path = public, pg_temp as $$
      declare
        removed bigint[];
        paid_from timestamptz;
        active_from timestamptz;
        clock timestamptz := as_of;
      begin
        if not (select trust_caller_clock from retention_settings) then
          clock := least(as_of, now());
        end if;
        if older_than > clock - interval '30 days' then
          raise exception 'Records from the last 30 days are never deleted (asked for before %)', older_than;
        end if;
        select min(paid.period_start) - interval '30 days' into paid_from
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

    this.addSql(`revoke execute on function purge_expired_audit_records(integer, timestamptz, timestamptz, integer) from ${APP_ROLE};`)
    this.addSql(`grant execute on function purge_expired_audit_records(integer, timestamptz, timestamptz, integer) to ${KEEPER_ROLE};`)
    this.addSql(`revoke insert, update, delete on audit_chain from ${APP_ROLE};`)
    this.addSql(`revoke update on audit_seal_state from ${APP_ROLE};`)
    this.addSql(`revoke update on subscriptions from ${APP_ROLE};`)
    this.addSql(`grant update (auto_renew) on subscriptions to ${APP_ROLE};`)

    this.addSql(`grant select on all tables in schema public to ${KEEPER_ROLE};`)
    this.addSql(`revoke select on mikro_orm_migrations from ${KEEPER_ROLE};`)
    this.addSql(`grant insert (${RECORD_COLUMNS}) on audit_records to ${KEEPER_ROLE};`)
    this.addSql(`grant insert on audit_chain, credit_entries to ${KEEPER_ROLE};`)
    this.addSql(`grant insert (practice_group_id, name, email, password_hash, active, access_level, can_view_history, is_system, created_at, updated_at) on users to ${KEEPER_ROLE};`)
    this.addSql(`grant update (sealed_below) on audit_seal_state to ${KEEPER_ROLE};`)
    this.addSql(`grant update (periods_paid, current_period_end, status, expired_at, deleted_before) on subscriptions to ${KEEPER_ROLE};`)
    this.addSql(`grant update (credit_balance) on practice_groups to ${KEEPER_ROLE};`)
    this.addSql(`grant delete on sessions to ${KEEPER_ROLE};`)
    this.addSql(`grant usage, select on all sequences in schema public to ${KEEPER_ROLE};`)
  }
}
