import { Migration } from '@mikro-orm/migrations'

/**
 * A text search counts by walking the newest records or by asking the
 * trigram indexes, whichever PostgreSQL's estimate of the text's share says
 * is quicker. That estimate tests the pattern against a sample of
 * descriptions and URLs: with the default hundred, a word in one record of a
 * hundred looks absent about one time in three, and is then looked up as if
 * rare; a thousand tell it apart. ANALYZE reads a larger sample for it, and
 * only these two columns keep the longer lists.
 */
export class Migration20261216000200HistoryTextEstimates extends Migration {
  override async up (): Promise<void> {
    this.addSql('alter table audit_records alter column description set statistics 1000, alter column url set statistics 1000;')
  }
}
