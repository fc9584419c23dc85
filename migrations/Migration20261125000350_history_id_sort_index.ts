import { Migration } from '@mikro-orm/migrations'

/**
 * Record ids are numbers kept as text; the history sorts them by length and
 * then by text, so 9 comes before 10. The index follows that order.
 */
export class Migration20261125000350HistoryIdSortIndex extends Migration {
  override async up (): Promise<void> {
    this.addSql('drop index audit_group_record_id_time_idx;')
    this.addSql('create index audit_group_record_id_time_idx on audit_records (practice_group_id, length(record_id), record_id, occurred_at desc, id desc);')
  }
}
