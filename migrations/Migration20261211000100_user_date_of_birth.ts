import { Migration } from '@mikro-orm/migrations'

/**
 * A user may have a date of birth, so the alert for someone opening their
 * own patient record can match a staff member who is also a patient by
 * name and date of birth, not only by email.
 */
export class Migration20261211000100UserDateOfBirth extends Migration {
  override async up (): Promise<void> {
    this.addSql('alter table users add column date_of_birth date;')
  }
}
