import { Migration } from '@mikro-orm/migrations'
import { APP_ROLE, KEEPER_ROLE } from '../src/db/app-role.js'

/** The practice tables this migration adds, each with row-level security like the others. */
const ALERT_TABLES = ['alert_settings', 'opening_hours', 'alerts', 'access_reviews']

/**
 * Snooping alerts and access reviews.
 *
 * - `alert_settings` holds a practice's choices of rules and thresholds and
 *   `opening_hours` its hours per weekday (ISO: 1 is Monday); a practice
 *   without a settings row has the defaults, hours included.
 * - `alerts` are raised only by the keeper's alert pass, which reads each
 *   finished transaction's records once: `alert_scan_state.scanned_below`
 *   is the first transaction not yet read, and only moves forward. It
 *   starts here, so records written before alerts existed are not read.
 *   It is one row for the whole database and holds no practice's data, so
 *   it has no row-level security; only the keeper may move it.
 *   The app role may read alerts and fill in their acknowledgement, nothing
 *   else.
 * - `access_reviews` lists who marked the history reviewed up to when.
 * - Denied attempts from one address are counted per practice and time,
 *   so they have a small index of their own.
 */
export class Migration20261210000200AlertsAndReviews extends Migration {
  override async up (): Promise<void> {
    this.addSql(`
      create table alert_settings (
        practice_group_id integer primary key references practice_groups (id),
        family_name boolean not null default true,
        own_record boolean not null default true,
        after_hours boolean not null default true,
        many_patients boolean not null default true,
        many_patients_count integer not null default 30 check (many_patients_count between 1 and 10000),
        many_patients_minutes integer not null default 10 check (many_patients_minutes between 1 and 1440),
        large_export boolean not null default true,
        large_export_count integer not null default 1000 check (large_export_count between 1 and 100000000),
        denied_attempts boolean not null default true,
        denied_attempts_count integer not null default 10 check (denied_attempts_count between 1 and 10000),
        denied_attempts_minutes integer not null default 10 check (denied_attempts_minutes between 1 and 1440),
        break_the_glass boolean not null default true
      );`)
    this.addSql(`
      create table opening_hours (
        practice_group_id integer not null references practice_groups (id),
        weekday smallint not null check (weekday between 1 and 7),
        opens time not null,
        closes time not null check (closes > opens),
        primary key (practice_group_id, weekday)
      );`)
    this.addSql(`
      create table alerts (
        id bigserial primary key,
        practice_group_id integer not null references practice_groups (id),
        rule varchar(30) not null,
        subject_key varchar(200) not null,
        raised_at timestamptz not null,
        user_id integer references users (id),
        user_name varchar(200),
        patient_id integer,
        ip inet,
        summary text not null,
        evidence_from timestamptz not null,
        evidence_to timestamptz not null,
        acknowledged_at timestamptz,
        acknowledged_by integer references users (id),
        acknowledged_by_name varchar(200),
        acknowledgement_note text,
        check ((acknowledged_at is null) = (acknowledged_by is null))
      );`)
    this.addSql('create index alerts_group_raised_idx on alerts (practice_group_id, raised_at desc, id desc);')
    this.addSql('create index alerts_group_open_idx on alerts (practice_group_id) where acknowledged_at is null;')
    this.addSql('create index alerts_group_subject_idx on alerts (practice_group_id, rule, subject_key, evidence_to desc);')
    this.addSql(`
      create table access_reviews (
        id serial primary key,
        practice_group_id integer not null references practice_groups (id),
        reviewed_up_to date not null,
        reviewed_by integer not null references users (id),
        reviewed_by_name varchar(200) not null,
        note text not null,
        created_at timestamptz not null default now()
      );`)
    this.addSql('create index access_reviews_group_idx on access_reviews (practice_group_id, created_at desc, id desc);')

    this.addSql(`
      create table alert_scan_state (
        singleton boolean primary key default true check (singleton),
        scanned_below xid8 not null default pg_current_xact_id()
      );`)
    this.addSql('insert into alert_scan_state default values;')
    this.addSql(`
      create function alert_scan_state_forward_only() returns trigger language plpgsql as $$
      begin
        if tg_op <> 'UPDATE' or new.scanned_below < old.scanned_below then
          raise exception 'The alert scanning position only moves forward: % is not allowed', tg_op using errcode = 'insufficient_privilege';
        end if;
        return new;
      end $$;`)
    this.addSql(`create trigger alert_scan_state_forward before update or delete on alert_scan_state
      for each row execute function alert_scan_state_forward_only();`)
    this.addSql(`create trigger alert_scan_state_no_truncate before truncate on alert_scan_state
      for each statement execute function alert_scan_state_forward_only();`)

    this.addSql(`create index audit_group_denied_ip_time_idx on audit_records (practice_group_id, ip, occurred_at)
      where outcome = 'denied';`)

    for (const table of ALERT_TABLES) {
      this.addSql(`alter table ${table} enable row level security;`)
      this.addSql(`create policy ${table}_practice_scope on ${table} to ${APP_ROLE} using (practice_group_id = app_practice()) with check (practice_group_id = app_practice());`)
      this.addSql(`create policy ${table}_keeper on ${table} to ${KEEPER_ROLE} using (true) with check (true);`)
    }
    this.addSql(`grant select, insert, update on alert_settings to ${APP_ROLE};`)
    this.addSql(`grant select, insert, delete on opening_hours to ${APP_ROLE};`)
    this.addSql(`grant select on alerts to ${APP_ROLE};`)
    this.addSql(`grant update (acknowledged_at, acknowledged_by, acknowledged_by_name, acknowledgement_note) on alerts to ${APP_ROLE};`)
    this.addSql(`grant select, insert on access_reviews to ${APP_ROLE};`)
    this.addSql(`grant usage on sequence access_reviews_id_seq to ${APP_ROLE};`)
    this.addSql(`grant select on alert_scan_state to ${APP_ROLE};`)

    this.addSql(`grant select on alert_settings, opening_hours, alerts, access_reviews, alert_scan_state to ${KEEPER_ROLE};`)
    this.addSql(`grant insert, update (evidence_from, evidence_to) on alerts to ${KEEPER_ROLE};`)
    this.addSql(`grant usage on sequence alerts_id_seq to ${KEEPER_ROLE};`)
    this.addSql(`grant update (scanned_below) on alert_scan_state to ${KEEPER_ROLE};`)
  }
}
