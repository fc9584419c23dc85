import { hash } from 'node:crypto'
import { encodeFields } from '../../src/domain/chain/chain-encoding.js'
import type { ChainRecord } from '../../src/domain/audit-records/chain-reads.js'

/** A history record with every stored field as PostgreSQL prints it. */
export interface RecordFields {
  id: number
  txId: string
  practiceGroupId: number
  occurredAt: string
  userId: number | null
  userName: string
  action: string
  page: string
  recordType: string | null
  recordId: string | null
  description: string
  url: string
  ip: string | null
  changes: string | null
  patientId: string | null
  outcome: string
  /** Whether its seal covers its patient and outcome: false for records from before those columns. */
  coversPatient: boolean
}

/**
 * A record's digest worked out from its fields as strings, apart from the
 * app's own reading, which hashes the bytes PostgreSQL sends: the format
 * every seal is written in, spelt out field by field.
 */
export function recordDigest (record: RecordFields): Buffer {
  const fields = [
    record.coversPatient ? 'practice-audit/record/v2' : 'practice-audit/record/v1',
    String(record.id), record.txId, String(record.practiceGroupId), record.occurredAt, record.userId === null ? null : String(record.userId),
    record.userName, record.action, record.page, record.recordType, record.recordId, record.description, record.url, record.ip, record.changes
  ]
  if (record.coversPatient) fields.push(record.patientId, record.outcome)
  return hash('sha256', encodeFields(fields), 'buffer')
}

export function chainRecordOf (record: RecordFields): ChainRecord {
  return { id: record.id, txId: record.txId, practiceGroupId: record.practiceGroupId, occurredAt: record.occurredAt, digest: recordDigest(record) }
}
