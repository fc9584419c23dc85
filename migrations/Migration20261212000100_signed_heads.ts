import { Migration } from '@mikro-orm/migrations'
import { APP_ROLE, KEEPER_ROLE } from '../src/db/app-role.js'

/**
 * Signed chain heads: after each seal pass, the keeper signs the head of
 * every chain that moved with a key the database never sees, and keeps a
 * copy of each signed head outside the database as well.
 *
 * - `payload` is the exact text that was signed (a JSON object naming the
 *   practice, the chain position, its hash, the records sealed up to it,
 *   the time and the previous signed head's hash); `signature` is its
 *   Ed25519 signature. `seq` and `signed_at` repeat what the payload says
 *   so the heads can be found by position and time; the verifier trusts
 *   only the signed payload.
 * - Append-only like the chain itself: no role of the app may change or
 *   remove a signed head, and the owner, who could, cannot sign a new one.
 * - The app role reads its own practice's heads (the integrity section,
 *   receipts); only the keeper adds them.
 */
export class Migration20261212000100SignedHeads extends Migration {
  override async up (): Promise<void> {
    this.addSql(`
      create table signed_heads (
        practice_group_id integer not null references practice_groups (id),
        seq integer not null check (seq >= 1),
        signed_at timestamptz not null,
        payload text not null,
        signature bytea not null check (length(signature) = 64),
        primary key (practice_group_id, seq)
      );`)
    this.addSql('create index signed_heads_group_time_idx on signed_heads (practice_group_id, signed_at);')
    this.addSql(`
      create function signed_heads_append_only() returns trigger language plpgsql as $$
      begin
        raise exception 'Signed chain heads are append-only: % is not allowed', tg_op using errcode = 'insufficient_privilege';
      end $$;`)
    this.addSql(`create trigger signed_heads_no_update before update or delete on signed_heads
      for each row execute function signed_heads_append_only();`)
    this.addSql(`create trigger signed_heads_no_truncate before truncate on signed_heads
      for each statement execute function signed_heads_append_only();`)

    this.addSql('alter table signed_heads enable row level security;')
    this.addSql(`create policy signed_heads_practice_scope on signed_heads to ${APP_ROLE} using (practice_group_id = app_practice());`)
    this.addSql(`create policy signed_heads_keeper on signed_heads to ${KEEPER_ROLE} using (true) with check (true);`)
    this.addSql(`grant select on signed_heads to ${APP_ROLE};`)
    this.addSql(`grant select, insert on signed_heads to ${KEEPER_ROLE};`)
  }
}
