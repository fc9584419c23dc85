import { Migration } from '@mikro-orm/migrations'

/**
 * Sorting by description or URL reads them by their first 100 characters
 * (free text can outgrow a B-tree entry), in both directions, with ties
 * newest first like every other column.
 */
export class Migration20261125000800HistoryTextSortIndexes extends Migration {
  override async up (): Promise<void> {
    for (const column of ['description', 'url']) {
      this.addSql(`create index audit_group_${column}_time_idx on audit_records (practice_group_id, left(${column}, 100), occurred_at desc, id desc);`)
      this.addSql(`create index audit_group_${column}_desc_time_idx on audit_records (practice_group_id, left(${column}, 100) desc, occurred_at desc, id desc);`)
    }
  }
}
