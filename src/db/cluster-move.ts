import type { EntityManager } from '@mikro-orm/core'
import { inPgTransaction } from './sql.js'
import { sealCommittedRecords } from '../domain/chain/sealer.js'
import { appendMoveEntries, type MoveNote } from '../domain/chain/moves.js'

/** Start-ups that look for a move take turns. */
const MOVE_LOCK_KEY = 727_003

/** Room between the restored history's newest transaction and this cluster's first, for anything that starts meanwhile. */
const MARGIN = 1000

/**
 * Notices a history restored into another PostgreSQL cluster (its system
 * identifier changed, or its transactions count from below the ones the
 * history holds) and moves the history's transaction scale forward, so
 * this cluster's transactions come after every restored one. Returns the
 * move, or null when the history runs where it ran before.
 */
async function shiftTransactions (em: EntityManager): Promise<MoveNote | null> {
  return inPgTransaction(em, 'begin', async client => {
    await client.query('select pg_advisory_xact_lock($1)', [MOVE_LOCK_KEY])
    const { rows: [state] } = await client.query<{ from_cluster: string | null, to_cluster: string, offset: string, behind_by: string }>(`
      select s.cluster_id as from_cluster, (select system_identifier::text from pg_control_system()) as to_cluster, s.tx_offset::text as offset,
             (greatest(s.sealed_below, s.patient_sealed_from, (select scanned_below from alert_scan_state),
                       coalesce((select max(tx_id) from audit_records), '0'))::text::numeric
              - audit_tx(pg_current_xact_id())::text::numeric)::text as behind_by
        from audit_seal_state s for update`)
    const behindBy = BigInt(state!.behind_by)
    if (state!.from_cluster === state!.to_cluster && behindBy < 0n) return null
    const txOffset = (BigInt(state!.offset) + (behindBy >= 0n ? behindBy + BigInt(MARGIN) : 0n)).toString()
    await client.query('update audit_seal_state set tx_offset = $1, cluster_id = $2', [txOffset, state!.to_cluster])
    return { fromCluster: state!.from_cluster, toCluster: state!.to_cluster, txOffset }
  })
}

/**
 * Run at start-up by the owner, after the migrations. After a move, what
 * was restored unsealed is sealed first, then every chain records the
 * move, so the verifier can say where the history went on.
 */
export async function followClusterMove (em: EntityManager, now = new Date()): Promise<MoveNote | null> {
  const move = await shiftTransactions(em.fork())
  if (!move) return null
  await sealCommittedRecords(em.fork(), now)
  await appendMoveEntries(em.fork(), now, move)
  return move
}
