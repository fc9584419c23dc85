import { Migration } from '@mikro-orm/migrations'

/**
 * A column sorted descending still breaks ties newest first, an order a
 * backward scan of the ascending index cannot give (it yields the oldest
 * first within each value, and PostgreSQL then sorts every tie: seconds on
 * a large practice sorted by action). Each short sortable column gets its
 * descending twin.
 */
const DESCENDING: [string, string][] = [
  ['user_name', 'user_name desc'],
  ['action', 'action desc'],
  ['page', 'page desc'],
  ['record_id', 'length(record_id) desc, record_id desc'],
  ['ip', 'ip desc']
]

export class Migration20261125000500HistoryDescendingSortIndexes extends Migration {
  override async up (): Promise<void> {
    for (const [name, columns] of DESCENDING) {
      this.addSql(`create index audit_group_${name}_desc_time_idx on audit_records (practice_group_id, ${columns}, occurred_at desc, id desc);`)
    }
  }
}
