import { Migration } from '@mikro-orm/migrations'
import { APP_ROLE, KEEPER_ROLE } from '../src/db/app-role.js'

/**
 * Restricted patients, and the users who may open each one without giving
 * a reason. A patient's restriction is one row; lifting it deletes the row
 * and its list, so marking the patient again starts from the default list.
 * Both tables are practice data: row-level security scopes them to the
 * request's practice, and the keeper (which reads every practice) may only
 * read them.
 */
export class Migration20261210000100RestrictedPatients extends Migration {
  override async up (): Promise<void> {
    this.addSql(`
      create table restricted_patients (
        id serial primary key,
        practice_group_id integer not null references practice_groups (id),
        patient_id integer not null unique references patients (id) on delete cascade,
        restricted_by integer references users (id),
        restricted_at timestamptz not null
      );`)
    this.addSql(`
      create table restricted_patient_openers (
        id serial primary key,
        practice_group_id integer not null references practice_groups (id),
        patient_id integer not null references restricted_patients (patient_id) on delete cascade,
        user_id integer not null references users (id) on delete cascade,
        unique (patient_id, user_id)
      );`)
    for (const table of ['restricted_patients', 'restricted_patient_openers']) {
      this.addSql(`alter table ${table} enable row level security;`)
      this.addSql(`create policy ${table}_practice_scope on ${table} to ${APP_ROLE}
        using (practice_group_id = app_practice()) with check (practice_group_id = app_practice());`)
      this.addSql(`create policy ${table}_keeper on ${table} to ${KEEPER_ROLE} using (true) with check (true);`)
      this.addSql(`grant select, insert, delete on ${table} to ${APP_ROLE};`)
      this.addSql(`grant usage, select on sequence ${table}_id_seq to ${APP_ROLE};`)
      this.addSql(`grant select on ${table} to ${KEEPER_ROLE};`)
    }
  }
}
