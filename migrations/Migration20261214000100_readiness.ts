import { Migration } from '@mikro-orm/migrations'
import { APP_ROLE } from '../src/db/app-role.js'

/**
 * The readiness check asks, as the app role, whether every migration this
 * build knows has been applied, so that role may read which ones were
 * (their names only: nothing of any practice is there).
 */
export class Migration20261214000100Readiness extends Migration {
  override async up (): Promise<void> {
    this.addSql(`grant select (name) on mikro_orm_migrations to ${APP_ROLE};`)
  }
}
