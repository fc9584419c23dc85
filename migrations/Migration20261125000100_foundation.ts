import { Migration } from '@mikro-orm/migrations'
import { APP_ROLE } from '../src/db/app-role.js'

/**
 * Practice groups, users, sessions and sign-in failures, plus the restricted
 * role the application connects as. Roles are cluster-wide, so creating it
 * and granting it to the owner tolerate another database, migrating at the
 * same moment on a new server, having done so first.
 */
export class Migration20261125000100Foundation extends Migration {
  override async up (): Promise<void> {
    this.addSql(`
      do $$ begin
        create role ${APP_ROLE} nologin;
      exception when duplicate_object or unique_violation then null;
      end $$;`)
    this.addSql(`
      do $$ begin
        grant ${APP_ROLE} to current_user;
      exception when unique_violation then null;
      end $$;`)

    this.addSql(`
      create table practice_groups (
        id serial primary key,
        name varchar(200) not null,
        time_zone varchar(64) not null default 'Australia/Sydney',
        credit_balance integer not null default 0 check (credit_balance >= 0),
        created_at timestamptz not null default now()
      );`)

    this.addSql(`
      create table users (
        id serial primary key,
        practice_group_id integer not null references practice_groups (id),
        name varchar(200) not null,
        email varchar(254) not null unique,
        password_hash varchar(255) not null,
        active boolean not null default true,
        access_level varchar(20) not null check (access_level in ('Full Access', 'Practitioner', 'Reception')),
        can_view_history boolean not null default false,
        is_system boolean not null default false,
        created_at timestamptz not null default now(),
        updated_at timestamptz not null default now()
      );`)
    this.addSql('create index users_practice_group_idx on users (practice_group_id, name);')

    this.addSql(`
      create table sessions (
        sid varchar(128) primary key,
        practice_group_id integer references practice_groups (id) on delete cascade,
        user_id integer references users (id) on delete cascade,
        data jsonb not null,
        expires_at timestamptz not null
      );`)
    this.addSql('create index sessions_expires_at_idx on sessions (expires_at);')

    this.addSql(`
      create table sign_in_failures (
        id bigserial primary key,
        practice_group_id integer references practice_groups (id) on delete cascade,
        email varchar(254) not null,
        ip inet not null,
        occurred_at timestamptz not null
      );`)
    this.addSql('create index sign_in_failures_email_idx on sign_in_failures (email, occurred_at);')
    this.addSql('create index sign_in_failures_ip_idx on sign_in_failures (ip, occurred_at);')

    this.addSql(`grant usage on schema public to ${APP_ROLE};`)
    this.addSql(`grant select, insert, update, delete on practice_groups, users, sessions, sign_in_failures to ${APP_ROLE};`)
    this.addSql(`grant usage, select on all sequences in schema public to ${APP_ROLE};`)
  }
}
