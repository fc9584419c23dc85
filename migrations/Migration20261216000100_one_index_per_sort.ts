import { Migration } from '@mikro-orm/migrations'

/**
 * A column sorted descending now lists its rows in exactly the reverse of
 * the ascending order, ties included (oldest first within a value), so a
 * backward scan of the ascending index serves it and the descending twins
 * go: at 10 million records they held about 4.5 GB, more than the rows.
 */
const DESCENDING_TWINS = ['user_name', 'action', 'page', 'record_id', 'ip', 'description', 'url']

export class Migration20261216000100OneIndexPerSort extends Migration {
  override async up (): Promise<void> {
    for (const name of DESCENDING_TWINS) this.addSql(`drop index if exists audit_group_${name}_desc_time_idx;`)
  }
}
