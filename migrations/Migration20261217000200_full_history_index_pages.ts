import { Migration } from '@mikro-orm/migrations'

/**
 * The history is append-only, so the B-tree indexes of audit_records fill
 * their pages to the brim (fillfactor 100) rather than keeping the default
 * tenth of each leaf free for updates that never come: about 10% off these
 * indexes when they are built in one pass (CREATE INDEX, REINDEX, a restore).
 *
 * On an existing database this only changes how pages split from now on;
 * pages already written keep their free space until the index is rebuilt
 * (`REINDEX INDEX CONCURRENTLY`, which a migration must not run on a table
 * of millions of rows). While inserts grow an index, only those that append
 * at its right-hand end gain (the primary key and the transaction index):
 * the indexes led by the practice take each practice's new records in the
 * middle of the tree, where PostgreSQL splits pages in half whatever the
 * fillfactor.
 */
const HISTORY_BTREE_INDEXES = [
  'audit_records_pkey', 'audit_tx_idx', 'audit_group_time_idx', 'audit_group_user_time_idx', 'audit_group_patient_time_idx',
  'audit_group_record_id_time_idx', 'audit_group_denied_ip_time_idx',
  ...['user_name', 'action', 'page', 'ip', 'description', 'url'].map(column => `audit_group_${column}_time_idx`)
]

export class Migration20261217000200FullHistoryIndexPages extends Migration {
  override async up (): Promise<void> {
    for (const index of HISTORY_BTREE_INDEXES) this.addSql(`alter index ${index} set (fillfactor = 100);`)
  }
}
