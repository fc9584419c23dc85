import { createHash } from 'node:crypto'
import { PassThrough, pipeline, Transform, type Readable } from 'node:stream'
import type { EntityManager } from '@mikro-orm/core'
import { ZipFile } from 'yazl'
import { openHistoryExport } from './history-export.js'
import { EVERYTHING, type HistoryCriteria } from '../audit-records/criteria.js'
import type { HistoryScope } from './access.js'

export interface ArchiveRequest {
  practiceName: string
  timeZone: string
  expiresAt: Date
  /** Everything the viewer may see from before this instant. */
  cutoff: Date
  now: Date
}

interface ArchivedFile { name: string, records: number, bytes: number, sha256: string }

/** Everything before the cutoff, newest first, as the history lists it with no filter. */
const before = (cutoff: Date): HistoryCriteria => ({ ...EVERYTHING, until: cutoff })

/** Passes a file through unchanged, noting its size and SHA-256 for the manifest once it has all gone by. */
function measured (source: Readable, file: ArchivedFile, done: () => void, failed: (err: Error) => void): Readable {
  const hash = createHash('sha256')
  const tap = new Transform({
    transform (chunk: Buffer, _encoding, next) {
      hash.update(chunk)
      file.bytes += chunk.length
      next(null, chunk)
    },
    flush (next) {
      file.sha256 = hash.digest('hex')
      done()
      next()
    }
  })
  // Either side failing ends both, so a broken export never leaves its connection or the zip waiting.
  return pipeline(source, tap, err => { if (err) failed(err) })
}

/**
 * A zip of the records a lapse would delete, for this viewer: records.csv
 * and records.ndjson (the history's own export formats), then SHA256SUMS
 * (checkable with `sha256sum -c`) and manifest.json (what, whose, until
 * when, how many, and each file's size and hash). Files stream one after
 * the other on one connection at a time, so memory stays flat; the archive
 * is recorded, with its count, before its first byte.
 */
export async function openExpiryArchive (
  em: EntityManager, scope: HistoryScope, request: ArchiveRequest, record: (count: number) => Promise<void>
): Promise<Readable> {
  const criteria = before(request.cutoff)
  const files: ArchivedFile[] = []
  const zip = new ZipFile()
  const options = { mtime: request.now }
  const output = new PassThrough()
  let current: Readable | null = null
  let stopped = false
  const fail = (err: Error): void => {
    stopped = true
    current?.destroy()
    output.destroy(err)
  }
  zip.outputStream.pipe(output)
  zip.on('error', fail)
  // A download abandoned halfway stops the file being read, which hands its connection back.
  output.on('close', () => {
    if (output.readableEnded) return
    stopped = true
    current?.destroy()
  })

  const open = async (format: 'csv' | 'ndjson', onCount: (count: number) => Promise<void>): Promise<{ stream: Readable, file: ArchivedFile }> => {
    const file: ArchivedFile = { name: `records.${format}`, records: 0, bytes: 0, sha256: '' }
    const source = await openHistoryExport(em, scope, null, criteria, format === 'csv' ? { format, timeZone: request.timeZone } : { format }, async count => {
      file.records = count
      await onCount(count)
    })
    current = source
    files.push(file)
    return { stream: source, file }
  }

  const finish = (): void => {
    const [csv, ndjson] = files as [ArchivedFile, ArchivedFile]
    const sums = files.map(f => `${f.sha256}  ${f.name}\n`).join('')
    const manifest = {
      practice: request.practiceName,
      createdAt: request.now.toISOString(),
      subscriptionExpiresAt: request.expiresAt.toISOString(),
      recordsBefore: request.cutoff.toISOString(),
      records: csv.records,
      ...(csv.records === ndjson.records ? {} : { warning: 'The CSV and NDJSON files were read moments apart and hold different numbers of records: download the archive again.' }),
      files
    }
    zip.addBuffer(Buffer.from(sums), 'SHA256SUMS', options)
    zip.addBuffer(Buffer.from(JSON.stringify(manifest, null, 2) + '\n'), 'manifest.json', options)
    zip.end()
  }

  const csv = await open('csv', record)
  zip.addReadStream(measured(csv.stream, csv.file, () => {}, fail), csv.file.name, options)
  zip.addReadStreamLazy('records.ndjson', options, callback => {
    if (stopped) {
      callback(new Error('The archive download was abandoned'), undefined as never)
      return
    }
    open('ndjson', async () => {})
      .then(({ stream, file }) => callback(null, measured(stream, file, finish, fail)))
      .catch((err: Error) => callback(err, undefined as never))
  })
  return output
}
