import { Migration } from '@mikro-orm/migrations'
import { APP_ROLE } from '../src/db/app-role.js'

const RECORD_COLUMNS = 'practice_group_id, occurred_at, user_id, user_name, action, page, record_type, record_id, description, url, ip, changes'

/**
 * Tamper evidence: each practice's records are sealed into a hash chain.
 *
 * - Every record carries the id of the transaction that inserted it
 *   (`tx_id`), set by PostgreSQL: the application role may insert every
 *   other column but not that one. A sealer takes the records of all
 *   transactions older than the oldest one still running, so it never
 *   misses a record that commits late, and remembers where it stopped in
 *   audit_seal_state (which only moves forward).
 * - audit_chain holds, per practice, seals (the sealed record ids in order
 *   and each record's SHA-256) and retention checkpoints (the ids deleted,
 *   their count and the cutoff), each linked to the previous entry's hash.
 *   Both tables are append-only like the history itself.
 * - Retention deletes only sealed records and returns their ids, so the
 *   checkpoint that accounts for them commits in the same transaction.
 */
export class Migration20261125000900HistoryChain extends Migration {
  override async up (): Promise<void> {
    this.addSql('alter table audit_records add column tx_id xid8 not null default pg_current_xact_id();')
    this.addSql('create index audit_tx_idx on audit_records (tx_id);')
    this.addSql(`revoke insert on audit_records from ${APP_ROLE};`)
    this.addSql(`grant insert (${RECORD_COLUMNS}) on audit_records to ${APP_ROLE};`)

    this.addSql(`
      create table audit_seal_state (
        singleton boolean primary key default true check (singleton),
        sealed_below xid8 not null default '0'
      );`)
    this.addSql('insert into audit_seal_state default values;')
    this.addSql(`
      create function audit_seal_state_forward_only() returns trigger language plpgsql as $$
      begin
        if tg_op <> 'UPDATE' or new.sealed_below < old.sealed_below then
          raise exception 'The sealing position only moves forward: % is not allowed', tg_op using errcode = 'insufficient_privilege';
        end if;
        return new;
      end $$;`)
    this.addSql(`create trigger audit_seal_state_forward before update or delete on audit_seal_state
      for each row execute function audit_seal_state_forward_only();`)
    this.addSql(`create trigger audit_seal_state_no_truncate before truncate on audit_seal_state
      for each statement execute function audit_seal_state_forward_only();`)

    this.addSql(`
      create table audit_chain (
        practice_group_id integer not null references practice_groups (id),
        seq integer not null check (seq >= 1),
        kind varchar(10) not null check (kind in ('seal', 'checkpoint')),
        created_at timestamptz not null,
        record_ids bigint[] not null,
        record_digests bytea,
        cutoff timestamptz,
        previous_hash bytea not null check (length(previous_hash) = 32),
        hash bytea not null check (length(hash) = 32),
        primary key (practice_group_id, seq),
        check ((kind = 'seal') = (record_digests is not null and length(record_digests) = 32 * cardinality(record_ids))),
        check ((kind = 'checkpoint') = (cutoff is not null))
      );`)
    this.addSql(`
      create function audit_chain_append_only() returns trigger language plpgsql as $$
      begin
        raise exception 'The history''s hash chain is append-only: % is not allowed', tg_op using errcode = 'insufficient_privilege';
      end $$;`)
    this.addSql(`create trigger audit_chain_no_update before update or delete on audit_chain
      for each row execute function audit_chain_append_only();`)
    this.addSql(`create trigger audit_chain_no_truncate before truncate on audit_chain
      for each statement execute function audit_chain_append_only();`)
    this.addSql(`grant select, insert on audit_chain to ${APP_ROLE};`)
    this.addSql(`grant select, update (sealed_below) on audit_seal_state to ${APP_ROLE};`)

    this.addSql('drop function purge_expired_audit_records(integer, timestamptz, timestamptz, integer);')
    this.addSql(`
      create function purge_expired_audit_records(group_id integer, older_than timestamptz, as_of timestamptz, batch_size integer)
      returns bigint[] language plpgsql security definer set search_path = public, pg_temp as $$
      declare
        removed bigint[];
        protected_from timestamptz;
        clock timestamptz := as_of;
      begin
        if not (select trust_caller_clock from retention_settings) then
          clock := least(as_of, now());
        end if;
        if older_than > clock - interval '30 days' then
          raise exception 'Records from the last 30 days are never deleted (asked for before %)', older_than;
        end if;
        select window_start into protected_from from subscriptions where practice_group_id = group_id and status = 'active';
        if protected_from is not null and older_than > protected_from then
          raise exception 'Records inside the subscribed window (from %) are never deleted', protected_from;
        end if;
        perform set_config('practice_audit.retention', 'on', true);
        with deleted as (
          delete from audit_records where id in (
            select id from audit_records
            where practice_group_id = group_id and occurred_at < older_than
              and tx_id < (select sealed_below from audit_seal_state)
            order by occurred_at limit batch_size)
          returning id)
        select coalesce(array_agg(id order by id), '{}') into removed from deleted;
        perform set_config('practice_audit.retention', 'off', true);
        return removed;
      end $$;`)
    this.addSql('revoke all on function purge_expired_audit_records(integer, timestamptz, timestamptz, integer) from public;')
    this.addSql(`grant execute on function purge_expired_audit_records(integer, timestamptz, timestamptz, integer) to ${APP_ROLE};`)
  }
}
