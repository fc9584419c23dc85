import { Transform, type Readable } from 'node:stream'
import type { EntityManager } from '@mikro-orm/core'
import type { Knex } from '@mikro-orm/knex'
import QueryStream from 'pg-query-stream'
import { format as csvFormat } from 'fast-csv'
import { formatIsoInZone } from '../time/zoned.js'
import type { HistoryCriteria } from './history-criteria.js'
import type { HistoryScope } from './history-scope.js'
import { exactCountQuery, pageQuery, toRow, type HistoryRow, type HistorySubject } from './history.service.js'

export type ExportFormat = 'csv' | 'ndjson'

/** A spreadsheet runs a cell that starts with one of these as a formula. */
const FORMULA_START = /^[=+\-@\t\r]/

/**
 * Makes a cell inert in a spreadsheet: a leading formula character gets an
 * apostrophe in front. A leading apostrophe is doubled the same way, so the
 * original is always the cell minus one leading apostrophe, if it has one.
 */
export function neutralise (value: string): string {
  return FORMULA_START.test(value) || value.startsWith("'") ? `'${value}` : value
}

export const CSV_HEADERS = ['Date', 'User', 'Action', 'Page', 'Record type', 'ID', 'Description', 'URL', 'IP Address']

function csvCells (row: HistoryRow, timeZone: string): string[] {
  return [formatIsoInZone(row.occurredAt, timeZone), row.userName, row.action, row.page, row.recordType ?? '', row.recordId ?? '', row.description, row.url, row.ip ?? '']
    .map(neutralise)
}

function ndjsonLine (row: HistoryRow): string {
  return JSON.stringify({
    id: row.id, occurredAt: row.occurredAt.toISOString(), userId: row.userId, userName: row.userName, action: row.action, page: row.page,
    recordType: row.recordType, recordId: row.recordId, description: row.description, url: row.url, ip: row.ip, changes: row.changes
  }) + '\n'
}

export interface HistoryExport {
  /** How many records the stream will carry: counted in the same snapshot the rows are read from. */
  count: number
  stream: Readable
}

/**
 * Opens an export of everything the viewer sees under these criteria, in
 * their order, all pages. Count and rows come from one repeatable-read
 * snapshot on a connection of its own, read through a cursor, so memory
 * stays flat however many rows there are. `beforeStreaming` runs between
 * counting and the first row (the export is recorded there: nothing leaves
 * unrecorded); if it throws, the snapshot is closed and nothing is sent.
 */
export async function openHistoryExport (
  em: EntityManager, scope: HistoryScope, subject: HistorySubject | null, criteria: HistoryCriteria,
  formatAs: ExportFormat, timeZone: string, beforeStreaming: (count: number) => Promise<void>
): Promise<HistoryExport> {
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
    const everything = pageQuery(scope, subject, { ...criteria, size: Math.max(count, 1) }, 1)
    const cursor = client.query(new QueryStream(toPg(everything.sql), everything.params, { batchSize: 1000 }))
    const rows = cursor.pipe(new Transform({
      objectMode: true,
      transform (raw: Record<string, unknown>, _encoding, done) {
        const row = toRow(raw)
        done(null, formatAs === 'csv' ? csvCells(row, timeZone) : ndjsonLine(row))
      }
    }))
    const stream = formatAs === 'csv' ? rows.pipe(csvFormat({ headers: CSV_HEADERS, quoteColumns: true, quoteHeaders: true })) : rows
    cursor.on('end', () => release(true))
    cursor.on('error', () => release(false))
    // A download abandoned halfway stops the cursor too, so the connection goes back to the pool.
    stream.on('close', () => {
      if (!cursor.destroyed) cursor.destroy()
      release(true)
    })
    return { count, stream }
  } catch (err) {
    release(false)
    throw err
  }
}

function toPg (sql: string): string {
  let n = 0
  return sql.replace(/\?/g, () => `$${++n}`)
}
