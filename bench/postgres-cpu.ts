import type pg from 'pg'
import { familyCpuSeconds, parentOf } from './measure.js'

/**
 * CPU seconds used so far by each process of the PostgreSQL server that
 * `db` is connected to, by pid: the postmaster, found as the parent of
 * `db`'s own backend, and its children, which are the connections to this
 * database and the cluster's background processes (WAL writer,
 * checkpointer, autovacuum). Other databases' connections are left out, as
 * they may belong to other work sharing the cluster, and so are other
 * clusters on the machine. Null when the server is on another machine.
 */
export async function postgresCpu (db: pg.Client): Promise<Map<number, number> | null> {
  const { rows: [{ pid }] } = await db.query<{ pid: number }>('select pg_backend_pid() as pid')
  const postmaster = parentOf(pid)
  if (postmaster === null) return null
  const { rows } = await db.query<{ pid: number }>(
    "select pid from pg_stat_activity where backend_type = 'client backend' and datname is distinct from current_database()")
  return familyCpuSeconds(postmaster, new Set(rows.map(row => row.pid)))
}

/**
 * The CPU seconds used between two readings, summed over the processes of
 * the second. A process that started in between counts from its start; one
 * that ended in between is missed, which the benchmark's long-lived
 * connections make rare.
 */
export function cpuUsedSince (before: Map<number, number>, after: Map<number, number>): number {
  let used = 0
  for (const [pid, seconds] of after) used += seconds - (before.get(pid) ?? 0)
  return used
}
