import { Migration } from '@mikro-orm/migrations'
import { APP_ROLE, KEEPER_ROLE } from '../src/db/app-role.js'

/**
 * Sealing follows transaction ids, and a database restored into another
 * PostgreSQL cluster starts counting them again from wherever that
 * cluster is, usually far below the ids it restored. So the history
 * counts transactions on a scale of its own that only moves forward:
 *
 * - `audit_tx(id)` is a transaction id of this cluster plus
 *   `audit_seal_state.tx_offset`. Records are stamped with it, and the
 *   sealer, the verifier and the alert pass read the running transactions
 *   through it. Until a move, the offset is 0 and nothing changes.
 * - `audit_seal_state.cluster_id` names the cluster (its system
 *   identifier) the history last ran on. At start-up the owner compares
 *   it with the cluster it runs on now: after a move, the offset grows
 *   until this cluster's transactions come after every one the restored
 *   history holds, and each practice's chain gets a `move` entry that
 *   says so (`note`: the clusters and the offset, in JSON), covered by the
 *   entry's hash like everything else. Only the owner may change either
 *   column, and the offset never goes down.
 */
export class Migration20261213000100ClusterMoves extends Migration {
  override async up (): Promise<void> {
    this.addSql('alter table audit_seal_state add column tx_offset numeric(20) not null default 0 check (tx_offset >= 0);')
    this.addSql('alter table audit_seal_state add column cluster_id text;')
    this.addSql('update audit_seal_state set cluster_id = (select system_identifier::text from pg_control_system());')
    this.addSql(`
      create function audit_tx(id xid8) returns xid8 language sql stable as $$
        select (id::text::numeric + (select tx_offset from audit_seal_state))::text::xid8
      $$;`)
    this.addSql(`grant execute on function audit_tx(xid8) to ${APP_ROLE}, ${KEEPER_ROLE};`)
    this.addSql('alter table audit_records alter column tx_id set default audit_tx(pg_current_xact_id());')
    this.addSql(`
      create or replace function audit_seal_state_forward_only() returns trigger language plpgsql as $$
      begin
        if tg_op <> 'UPDATE' or new.sealed_below < old.sealed_below or new.tx_offset < old.tx_offset then
          raise exception 'The sealing position only moves forward: % is not allowed', tg_op using errcode = 'insufficient_privilege';
        end if;
        return new;
      end $$;`)

    this.addSql('alter table audit_chain drop constraint audit_chain_kind_check;')
    this.addSql("alter table audit_chain add constraint audit_chain_kind_check check (kind in ('seal', 'checkpoint', 'move'));")
    this.addSql('alter table audit_chain add column note text;')
    this.addSql("alter table audit_chain add constraint audit_chain_note_check check ((kind = 'move') = (note is not null));")
  }
}
