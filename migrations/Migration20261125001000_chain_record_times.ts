import { Migration } from '@mikro-orm/migrations'

/**
 * Seals also keep each sealed record's time (microseconds since the epoch),
 * so a checkpoint can be held to the retention rules: it may delete only
 * records older than its cutoff, and its cutoff must be at least 30 days
 * before it was written. Seals written before this have none; the verifier
 * checks what they hold.
 */
export class Migration20261125001000ChainRecordTimes extends Migration {
  override async up (): Promise<void> {
    this.addSql('alter table audit_chain add column record_times bigint[];')
    this.addSql(`alter table audit_chain add constraint audit_chain_record_times_check
      check (record_times is null or (kind = 'seal' and cardinality(record_times) = cardinality(record_ids)));`)
  }
}
