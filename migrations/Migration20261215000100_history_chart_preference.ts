import { Migration } from '@mikro-orm/migrations'

/**
 * Whether a user keeps the activity chart above the history tables folded
 * away. It is their own display preference, kept with the user so it
 * follows them from one browser or computer to the next; it is not
 * practice data, so changing it is not recorded in the history.
 */
export class Migration20261215000100HistoryChartPreference extends Migration {
  override async up (): Promise<void> {
    this.addSql('alter table users add column history_chart_collapsed boolean not null default false;')
  }
}
