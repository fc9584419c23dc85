import { createHash, hash } from 'node:crypto'

/** The hash before a practice's first chain entry. */
export const GENESIS = Buffer.alloc(32)

const RECORD_TAG = 'practice-audit/record/v1'
/** Records that name their patient and outcome hash them too, under their own tag. */
const RECORD_WITH_PATIENT_TAG = 'practice-audit/record/v2'
const ENTRY_TAG = 'practice-audit/chain-entry/v1'
/** Seals that carry their records' times hash under their own tag, so the two layouts can never be confused. */
const TIMED_ENTRY_TAG = 'practice-audit/chain-entry/v2'
/** A move to another cluster hashes its note too, under a tag of its own. */
const MOVE_ENTRY_TAG = 'practice-audit/chain-entry/move/v1'

/**
 * Where fields are encoded before hashing: one buffer, grown when a field
 * does not fit and reused for every record, so hashing a record allocates
 * nothing but its digest.
 */
let scratch = Buffer.allocUnsafe(4096)
let written = 0

function reserve (bytes: number): void {
  if (written + bytes <= scratch.length) return
  const larger = Buffer.allocUnsafe(Math.max(2 * scratch.length, written + bytes))
  scratch.copy(larger, 0, 0, written)
  scratch = larger
}

/**
 * Each field is a presence byte, then its UTF-8 length as 4 bytes and the
 * bytes themselves, so no two different lists of fields encode alike.
 */
function put (field: string | null): void {
  if (field === null) {
    reserve(1)
    scratch[written++] = 0
    return
  }
  // A UTF-16 unit never takes more than 3 bytes of UTF-8.
  reserve(5 + 3 * field.length)
  const length = scratch.write(field, written + 5, 'utf8')
  scratch[written] = 1
  scratch.writeUInt32BE(length, written + 1)
  written += 5 + length
}

export function encodeFields (fields: ReadonlyArray<string | null>): Buffer {
  written = 0
  for (const field of fields) put(field)
  return Buffer.from(scratch.subarray(0, written))
}

/**
 * A record's digest is built in three steps: `startRecord` with the tag of
 * its layout, `putRecordField` for each field in the order `chain-reads`
 * selects them, and `finishRecord`. Each field is the UTF-8 text PostgreSQL
 * prints for it, taken as the bytes it sent: encoded exactly as `put`
 * encodes the same text, without turning it into a string and back.
 */
export function startRecord (coversPatient: boolean): void {
  written = 0
  put(coversPatient ? RECORD_WITH_PATIENT_TAG : RECORD_TAG)
}

/** A field's bytes `source[start, start + length)`, or a field that is absent when `length` is -1. */
export function putRecordField (source: Buffer, start: number, length: number): void {
  if (length < 0) {
    put(null)
    return
  }
  reserve(5 + length)
  scratch[written] = 1
  scratch.writeUInt32BE(length, written + 1)
  written += 5
  // Most fields are a few bytes long, which a loop copies faster than a call into Buffer.copy.
  if (length < 64) {
    for (let i = start; i < start + length; i++) scratch[written++] = source[i]!
  } else {
    source.copy(scratch, written, start, start + length)
    written += length
  }
}

/**
 * Writes the record's digest into `into` at `offset`. The hash comes out
 * as a string of one character per byte, which the collector frees far
 * more cheaply than a buffer of its own for every record.
 */
export function finishRecord (into: Buffer, offset: number): void {
  into.write(hash('sha256', scratch.subarray(0, written), 'binary'), offset, 32, 'latin1')
}

export type ChainEntryKind = 'seal' | 'checkpoint' | 'move'

/**
 * One link of a practice's chain. A seal lists the records it sealed, in
 * order, with each one's digest; a checkpoint lists the sealed records that
 * retention deleted, with the cutoff they were older than; a move says that
 * the history went on in another database cluster (a restored backup).
 */
export interface ChainEntry {
  practiceGroupId: number
  seq: number
  kind: ChainEntryKind
  /** UTC with microseconds, exactly as stored. */
  createdAt: string
  recordIds: number[]
  /** Seals only: 32 bytes per record, in the order of recordIds. */
  recordDigests: Buffer | null
  /** Seals only: each record's time in microseconds since the epoch, in the order of recordIds (absent from the oldest seals). */
  recordTimes: number[] | null
  cutoff: string | null
  /** Moves only: the clusters and the transaction offset, as JSON. */
  note: string | null
  previousHash: Buffer
  hash: Buffer
}

/** Id and time lists come as one text each ("{1,2,3}"), read by `wholeNumbers`. */
export const CHAIN_ENTRY_COLUMNS = `practice_group_id, seq, kind,
  to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as created_at,
  record_ids::text as record_ids, record_digests, record_times::text as record_times,
  to_char(cutoff at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as cutoff, note, previous_hash, hash`

/**
 * A PostgreSQL array of whole numbers as printed ("{1,-2,3}"), read digit
 * by digit: the driver's general array parser makes a string of every
 * element first, which for a seal's 5,000 ids and times took longer than
 * hashing its records.
 */
export function wholeNumbers (printed: string): number[] {
  const numbers: number[] = []
  let value = 0
  let digits = false
  let negative = false
  for (let i = 1; i < printed.length; i++) {
    const code = printed.charCodeAt(i)
    if (code >= 48 && code <= 57) {
      value = value * 10 + code - 48
      digits = true
    } else if (code === 45) {
      negative = true
    } else {
      if (digits) numbers.push(negative ? -value : value)
      value = 0
      digits = false
      negative = false
    }
  }
  return numbers
}

export function chainEntryFromRow (row: Record<string, unknown>): ChainEntry {
  return {
    practiceGroupId: Number(row.practice_group_id),
    seq: Number(row.seq),
    kind: row.kind as ChainEntryKind,
    createdAt: String(row.created_at),
    recordIds: wholeNumbers(row.record_ids as string),
    recordDigests: (row.record_digests as Buffer | null) ?? null,
    recordTimes: row.record_times == null ? null : wholeNumbers(row.record_times as string),
    cutoff: row.cutoff == null ? null : String(row.cutoff),
    note: row.note == null ? null : String(row.note),
    previousHash: row.previous_hash as Buffer,
    hash: row.hash as Buffer
  }
}

/** A stored instant ("2026-11-25T10:00:05.123456Z") as microseconds since the epoch. */
export function instantMicros (stored: string): number {
  return Date.parse(`${stored.slice(0, 23)}Z`) * 1000 + Number(stored.slice(23, 26) || 0)
}

/** A JavaScript date in the stored form: PostgreSQL keeps microseconds, JavaScript milliseconds. */
export function storedInstant (date: Date): string {
  return date.toISOString().replace('Z', '000Z')
}

const TWO_TO_THE_32 = 2 ** 32

/** Each value as 8 bytes, big-endian, two's complement. */
function int64s (values: readonly number[]): Buffer {
  const bytes = Buffer.alloc(8 * values.length)
  values.forEach((value, i) => {
    // Ids and times are whole numbers from 0 up to 2^53, written as two halves: a BigInt for each of a seal's 10,000 would cost more than hashing them.
    if (Number.isSafeInteger(value) && value >= 0) {
      bytes.writeUInt32BE(Math.floor(value / TWO_TO_THE_32), 8 * i)
      bytes.writeUInt32BE(value % TWO_TO_THE_32, 8 * i + 4)
    } else {
      bytes.writeBigInt64BE(BigInt(value), 8 * i)
    }
  })
  return bytes
}

export function entryHash (entry: Omit<ChainEntry, 'hash'>): Buffer {
  const fields = [String(entry.practiceGroupId), String(entry.seq), entry.kind, entry.createdAt, entry.cutoff, String(entry.recordIds.length)]
  return createHash('sha256')
    .update(encodeFields(entry.kind === 'move'
      ? [MOVE_ENTRY_TAG, ...fields, entry.note]
      : entry.recordTimes === null ? [ENTRY_TAG, ...fields] : [TIMED_ENTRY_TAG, ...fields, String(entry.recordTimes.length)]))
    .update(int64s(entry.recordIds))
    .update(int64s(entry.recordTimes ?? []))
    .update(entry.recordDigests ?? Buffer.alloc(0))
    .update(entry.previousHash)
    .digest()
}

/** Builds the next entry of a chain whose newest entry is `previous` (or none yet). */
export function nextEntry (
  previous: Pick<ChainEntry, 'seq' | 'hash'> | null,
  fields: Pick<ChainEntry, 'practiceGroupId' | 'kind' | 'createdAt' | 'recordIds' | 'recordDigests' | 'recordTimes' | 'cutoff'> & Partial<Pick<ChainEntry, 'note'>>
): ChainEntry {
  const unhashed = { ...fields, note: fields.note ?? null, seq: (previous?.seq ?? 0) + 1, previousHash: previous?.hash ?? GENESIS }
  return { ...unhashed, hash: entryHash(unhashed) }
}
