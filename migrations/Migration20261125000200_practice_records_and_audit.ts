import { Migration } from '@mikro-orm/migrations'
import { APP_ROLE } from '../src/db/app-role.js'

/**
 * Patients, appointments, invoices, and the append-only audit_records table.
 *
 * History indexes: every history query filters by practice group and reads
 * newest first, so the base index is (group, occurred_at desc, id desc): the
 * first page is an index range scan, and id breaks ties so paging is stable.
 * "Who did what" filters by user and "who looked at this record" by record,
 * each with its own (group, key, occurred_at desc, id desc) index, so those
 * histories never scan the whole group.
 *
 * Append-only: the application role may only SELECT and INSERT. Triggers
 * also refuse UPDATE and TRUNCATE for everyone, and DELETE unless it comes
 * from purge_expired_audit_records, the retention function, which runs with
 * the owner's rights and never touches the last 30 days.
 */
export class Migration20261125000200PracticeRecordsAndAudit extends Migration {
  override async up (): Promise<void> {
    this.addSql(`
      create table patients (
        id serial primary key,
        practice_group_id integer not null references practice_groups (id),
        name varchar(200) not null,
        date_of_birth date,
        phone varchar(40),
        email varchar(254),
        notes text,
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now()
      );`)
    this.addSql('create index patients_group_name_idx on patients (practice_group_id, lower(name), id);')

    this.addSql(`
      create table appointments (
        id serial primary key,
        practice_group_id integer not null references practice_groups (id),
        patient_id integer not null references patients (id),
        practitioner_id integer not null references users (id),
        starts_at timestamptz not null,
        duration_minutes integer not null check (duration_minutes between 5 and 720),
        status varchar(20) not null check (status in ('Booked', 'Arrived', 'Completed', 'Cancelled', 'No-show')),
        notes text,
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now()
      );`)
    this.addSql('create index appointments_group_start_idx on appointments (practice_group_id, starts_at desc, id desc);')
    this.addSql('create index appointments_patient_idx on appointments (patient_id);')

    this.addSql(`
      create table invoices (
        id serial primary key,
        practice_group_id integer not null references practice_groups (id),
        patient_id integer not null references patients (id),
        issue_date date not null,
        description varchar(500) not null,
        amount_cents integer not null check (amount_cents >= 0),
        status varchar(10) not null check (status in ('Draft', 'Issued', 'Paid', 'Void')),
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now()
      );`)
    this.addSql('create index invoices_group_issue_idx on invoices (practice_group_id, issue_date desc, id desc);')
    this.addSql('create index invoices_patient_idx on invoices (patient_id);')

    this.addSql(`
      create table audit_records (
        id bigserial primary key,
        practice_group_id integer not null references practice_groups (id),
        occurred_at timestamptz not null,
        user_id integer references users (id),
        user_name varchar(200) not null,
        action varchar(20) not null check (action in ('view', 'create', 'update', 'delete', 'login', 'logout', 'login_failed', 'export', 'purchase')),
        page varchar(100) not null,
        record_type varchar(30),
        record_id varchar(40),
        description text not null,
        url text not null,
        ip inet,
        changes jsonb
      );`)
    this.addSql('create index audit_group_time_idx on audit_records (practice_group_id, occurred_at desc, id desc);')
    this.addSql('create index audit_group_user_time_idx on audit_records (practice_group_id, user_id, occurred_at desc, id desc);')
    this.addSql('create index audit_group_record_time_idx on audit_records (practice_group_id, record_type, record_id, occurred_at desc, id desc);')

    this.addSql(`
      create function audit_records_append_only() returns trigger language plpgsql as $$
      begin
        if tg_op = 'DELETE' and current_setting('practice_audit.retention', true) = 'on' then
          return old;
        end if;
        raise exception 'User Action History is append-only: % is not allowed', tg_op using errcode = 'insufficient_privilege';
      end $$;`)
    this.addSql(`create trigger audit_records_no_update before update or delete on audit_records
      for each row execute function audit_records_append_only();`)
    this.addSql(`create trigger audit_records_no_truncate before truncate on audit_records
      for each statement execute function audit_records_append_only();`)

    this.addSql(`
      create function purge_expired_audit_records(group_id integer, older_than timestamptz, batch_size integer)
      returns integer language plpgsql security definer set search_path = public, pg_temp as $$
      declare removed integer;
      begin
        if older_than > now() - interval '30 days' then
          raise exception 'Records from the last 30 days are never deleted (asked for before %)', older_than;
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
    this.addSql('revoke all on function purge_expired_audit_records(integer, timestamptz, integer) from public;')
    this.addSql(`grant execute on function purge_expired_audit_records(integer, timestamptz, integer) to ${APP_ROLE};`)

    this.addSql(`grant select, insert, update, delete on patients, appointments, invoices to ${APP_ROLE};`)
    this.addSql(`grant select, insert on audit_records to ${APP_ROLE};`)
    this.addSql(`grant usage, select on all sequences in schema public to ${APP_ROLE};`)
  }
}
