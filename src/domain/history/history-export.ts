import { Transform, type Readable } from 'node:stream'
import type { EntityManager } from '@mikro-orm/core'
import type { Knex } from '@mikro-orm/knex'
import QueryStream from 'pg-query-stream'
import { to as copyTo } from 'pg-copy-streams'
import { toPg } from '../../db/sql.js'
import type { HistoryCriteria } from '../audit-records/criteria.js'
import type { HistoryScope } from './access.js'
import { csvExportQuery, exactCountQuery, pageQuery, toRow, type HistoryRow } from '../audit-records/reads.js'
import type { HistorySubject } from '../audit-records/visible.js'
import { toAuditEvent, type AuditEventSource } from './fhir-audit-event.js'

/** The formats a history exports to, as its address ends: `export.csv`, `export.ndjson`, `export.fhir.ndjson`. */
export const EXPORT_FORMATS = ['csv', 'ndjson', 'fhir.ndjson'] as const
export type ExportFormat = typeof EXPORT_FORMATS[number]

/** What each format is called, in the export's own record and on its link. */
export const EXPORT_FORMAT_NAMES: Record<ExportFormat, string> = { csv: 'CSV', ndjson: 'NDJSON', 'fhir.ndjson': 'FHIR AuditEvent (NDJSON)' }

/** A format and what it needs: CSV writes dates in the practice's zone; FHIR names the practice and this server in every event. */
export type ExportOutput = { format: 'csv', timeZone: string } | { format: 'ndjson' } | { format: 'fhir.ndjson', source: AuditEventSource }

/** A record's fields as the NDJSON export and the receivers of a stream get them. */
export function exportedFields (row: HistoryRow): Record<string, unknown> {
  return {
    id: row.id, occurredAt: row.occurredAt.toISOString(), userId: row.userId, userName: row.userName, action: row.action, page: row.page,
    recordType: row.recordType, recordId: row.recordId, description: row.description, url: row.url, ip: row.ip, changes: row.changes
  }
}

const ndjsonLine = (row: HistoryRow): string => JSON.stringify(exportedFields(row)) + '\n'

const lineOf = (output: Exclude<ExportOutput, { format: 'csv' }>): (row: HistoryRow) => string =>
  output.format === 'ndjson' ? ndjsonLine : row => JSON.stringify(toAuditEvent(row, output.source)) + '\n'

/**
 * Opens an export of everything the viewer sees under these criteria, in
 * their order, all pages. CSV is written by PostgreSQL's COPY (RFC 4180,
 * every field quoted); NDJSON, plain or as FHIR AuditEvents, is built row
 * by row from a cursor. Count and rows come from one repeatable-read
 * snapshot on a connection of its own, read through a cursor, so memory
 * stays flat however many rows there are. `beforeStreaming` runs between
 * counting and the first row (the export is recorded there: nothing leaves
 * unrecorded); if it throws, the snapshot is closed and nothing is sent.
 */
export async function openHistoryExport (
  em: EntityManager, scope: HistoryScope, subject: HistorySubject | null, criteria: HistoryCriteria,
  output: ExportOutput, beforeStreaming: (count: number) => Promise<void>
): Promise<Readable> {
  const knex = (em.getConnection() as unknown as { getKnex: () => Knex }).getKnex()
  const client = await knex.client.acquireConnection() as import('pg').PoolClient
  let released = false
  const release = (ok: boolean): void => {
    if (released) return
    released = true
    client.query(ok ? 'commit' : 'rollback').catch(() => {}).finally(() => knex.client.releaseConnection(client))
  }
  try {
    await client.query('begin isolation level repeatable read read only')
    const counting = exactCountQuery(scope, subject, criteria)
    const { rows: [{ total }] } = await client.query<{ total: string }>(toPg(counting.sql), counting.params)
    const count = Number(total)
    await beforeStreaming(count)
    if (output.format === 'csv') {
      await client.query("select set_config('TimeZone', $1, true)", [output.timeZone])
      const rows = csvExportQuery(scope, subject, criteria)
      const copy = client.query(copyTo(`copy (${inline(client, rows.sql, rows.params)}) to stdout with (format csv, header true, force_quote *)`))
      copy.on('end', () => release(true))
      copy.on('error', () => release(false))
      // A download abandoned mid-COPY leaves the connection unusable: it is closed, not returned to the pool.
      copy.on('close', () => {
        if (copy.readableEnded || released) return
        released = true
        ;(client as unknown as { __knex__disposed: string }).__knex__disposed = 'export abandoned during COPY'
        client.end().catch(() => {}).finally(() => knex.client.releaseConnection(client))
      })
      return copy
    }
    const line = lineOf(output)
    const everything = pageQuery(scope, subject, { ...criteria, size: Math.max(count, 1) }, 1)
    const cursor = client.query(new QueryStream(toPg(everything.sql), everything.params, { batchSize: 1000 }))
    const stream = cursor.pipe(new Transform({
      objectMode: true,
      transform (raw: Record<string, unknown>, _encoding, done) {
        done(null, line(toRow(raw)))
      }
    }))
    cursor.on('end', () => release(true))
    cursor.on('error', err => {
      release(false)
      stream.destroy(err)
    })
    // A download abandoned halfway stops the cursor too, so the connection goes back to the pool.
    stream.on('close', () => {
      if (!cursor.destroyed) cursor.destroy()
      release(true)
    })
    return stream
  } catch (err) {
    release(false)
    throw err
  }
}

/**
 * COPY takes no bound parameters, so each value is written into the query
 * as a literal: numbers checked to be numbers, everything else quoted by
 * node-postgres's escapeLiteral.
 */
function inline (client: import('pg').PoolClient, sql: string, params: unknown[]): string {
  let n = 0
  return sql.replace(/\?/g, () => {
    const value = params[n++]
    if (typeof value === 'number' && Number.isFinite(value)) return String(value)
    if (value instanceof Date) return `${client.escapeLiteral(value.toISOString())}::timestamptz`
    if (typeof value === 'string') return client.escapeLiteral(value)
    throw new Error(`cannot write ${typeof value} into an export query`)
  })
}
