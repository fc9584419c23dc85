import { Migration } from '@mikro-orm/migrations'
import { APP_ROLE, KEEPER_ROLE } from '../src/db/app-role.js'

const RECORD_COLUMNS = 'practice_group_id, occurred_at, user_id, user_name, action, page, record_type, record_id, description, url, ip, changes, patient_id, outcome'

/**
 * Every history record about a patient, an appointment or an invoice names
 * the patient it concerns, so "everything touching this patient" is one
 * indexed read; and every record has an outcome, `denied` for an attempt
 * the app refused (recorded with the action `denied`).
 *
 * Existing records are filled in here: a patient's own records from their
 * id, an appointment's or invoice's from the row, or (for one since
 * deleted) from the patient its own history last named. The chain covers
 * the new columns only for records written after this migration
 * (`audit_seal_state.patient_sealed_from`): older records were sealed
 * before the column existed, so their filled-in patient is not part of
 * what they were sealed with.
 */
export class Migration20261209000100RecordPatientAndOutcome extends Migration {
  override async up (): Promise<void> {
    this.addSql('alter table audit_records add column patient_id integer;')
    this.addSql("alter table audit_records add column outcome varchar(10) not null default 'success' check (outcome in ('success', 'denied'));")
    this.addSql('alter table audit_records drop constraint audit_records_action_check;')
    this.addSql(`alter table audit_records add constraint audit_records_action_check
      check (action in ('view', 'create', 'update', 'delete', 'login', 'logout', 'login_failed', 'export', 'purchase', 'denied'));`)
    this.addSql("alter table audit_records add constraint audit_records_denied_outcome check ((action = 'denied') = (outcome = 'denied'));")

    this.addSql('alter table audit_records disable trigger audit_records_no_update;')
    this.addSql(`update audit_records set patient_id = record_id::integer
      where record_type = 'patient' and record_id ~ '^[0-9]{1,9}$';`)
    for (const table of ['appointments', 'invoices']) {
      const type = table.slice(0, -1)
      this.addSql(`update audit_records a set patient_id = r.patient_id from ${table} r
        where a.record_type = '${type}' and a.record_id = r.id::text and r.practice_group_id = a.practice_group_id;`)
      this.addSql(`update audit_records a set patient_id = named.patient_id
        from (select distinct on (practice_group_id, record_id) practice_group_id, record_id, (c.change ->> 'after')::integer as patient_id
                from audit_records, jsonb_array_elements(changes) as c(change)
               where record_type = '${type}' and c.change ->> 'field' = 'patientId' and c.change ->> 'after' ~ '^[0-9]{1,9}$'
               order by practice_group_id, record_id, id desc) named
        where a.record_type = '${type}' and a.patient_id is null
          and a.practice_group_id = named.practice_group_id and a.record_id = named.record_id;`)
    }
    this.addSql('alter table audit_records enable trigger audit_records_no_update;')

    this.addSql(`create index audit_group_patient_time_idx on audit_records (practice_group_id, patient_id, occurred_at desc, id desc)
      where patient_id is not null;`)

    this.addSql('alter table audit_seal_state add column patient_sealed_from xid8 not null default pg_current_xact_id();')
    this.addSql('alter table audit_seal_state alter column patient_sealed_from drop default;')

    this.addSql(`revoke insert on audit_records from ${APP_ROLE}, ${KEEPER_ROLE};`)
    this.addSql(`grant insert (${RECORD_COLUMNS}) on audit_records to ${APP_ROLE}, ${KEEPER_ROLE};`)
  }
}
