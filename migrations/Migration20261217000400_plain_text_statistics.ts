import { Migration } from '@mikro-orm/migrations'

/**
 * Description and URL go back to PostgreSQL's default statistics. The
 * thousand-value lists served an estimate that no longer decides how a
 * text search reads (a sample of the practice's own newest records does),
 * and the planner tests every pattern of a statement against the whole
 * list: about 2.5 ms of planning per text condition at a thousand against
 * 0.6 ms at the default, and a search plans several.
 */
export class Migration20261217000400PlainTextStatistics extends Migration {
  override async up (): Promise<void> {
    this.addSql('alter table audit_records alter column description set statistics -1, alter column url set statistics -1;')
  }
}
