import { Migration } from '@mikro-orm/migrations'

/**
 * "Description contains" and "URL contains" are ILIKE '%…%' searches, which
 * no B-tree can serve: without help, a word that matches nothing reads the
 * practice's whole history. Trigram GIN indexes, led by the practice
 * (btree_gin), find the candidate rows of one practice directly. Both
 * extensions ship with PostgreSQL and are trusted, so the database owner
 * can create them without superuser rights.
 */
export class Migration20261125000700HistoryTextSearchIndexes extends Migration {
  override async up (): Promise<void> {
    this.addSql('create extension if not exists pg_trgm;')
    this.addSql('create extension if not exists btree_gin;')
    this.addSql('create index audit_group_description_trgm_idx on audit_records using gin (practice_group_id, description gin_trgm_ops);')
    this.addSql('create index audit_group_url_trgm_idx on audit_records using gin (practice_group_id, url gin_trgm_ops);')
  }
}
