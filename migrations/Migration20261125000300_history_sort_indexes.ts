import { Migration } from '@mikro-orm/migrations'

/**
 * Sorting a large practice's history by a column must not sort the whole
 * group: each sortable short column gets (group, column, occurred_at desc,
 * id desc), so a sorted page is an index range scan with stable ties.
 * Description and URL are free text of up to thousands of characters; a
 * plain B-tree on them can exceed the index row limit, so their sorting is
 * designed with the history table and its measurements.
 */
export class Migration20261125000300HistorySortIndexes extends Migration {
  override async up (): Promise<void> {
    for (const column of ['user_name', 'action', 'page', 'record_id', 'ip']) {
      this.addSql(`create index audit_group_${column}_time_idx on audit_records (practice_group_id, ${column}, occurred_at desc, id desc);`)
    }
  }
}
