import t from 'tap'
import pg from 'pg'
import type { PoolClient } from 'pg'
import { build } from '../helpers/app.js'
import { makeClinic } from '../helpers/clinic.js'
import { addRecord } from '../helpers/history.js'
import { recordDigest, type RecordFields } from '../helpers/record-digest.js'
import { seededRandom } from '../../src/seed/everyday-use.js'
import { chainRecordsById } from '../../src/domain/audit-records/chain-reads.js'
import { sealPracticeBefore } from '../../src/domain/chain/sealer.js'
import { verifyPracticeChain } from '../../src/domain/chain/chain.service.js'

const ctx = await build(t)
const random = seededRandom(20261203)
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!
const int = (low: number, high: number): number => low + Math.floor(random() * (high - low + 1))
/** Quotes, escapes, line breaks, accents, several-byte and combining characters, an emoji, a right-to-left mark: text that a wrong byte count or decoding would change. */
const ALPHABET = ['a', 'Z', '7', ' ', '"', "'", ',', '\\', '\n', '\t', '\r', '{', '}', 'é', 'e\u0301', '€', '漢', '😀', '\u202e', '\u200b', 'ß']
const text = (max: number, min = 0): string => {
  let built = ''
  for (let i = int(min, max); i > 0; i--) built += pick(ALPHABET)
  return [...built].slice(0, max).join('')
}

/** The same columns the app hashes, printed as text by an ordinary query and decoded by the driver. */
const PRINTED = `select id::text as id, tx_id::text as tx_id, practice_group_id,
  to_char(occurred_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as occurred_at, user_id, user_name, action, page, record_type,
  record_id, description, url, ip::text as ip, changes::text as changes, patient_id::text as patient_id, outcome,
  tx_id >= (select patient_sealed_from from audit_seal_state) as covers_patient
  from audit_records where practice_group_id = $1 order by id`

function fieldsOf (row: Record<string, unknown>): RecordFields {
  return {
    id: Number(row.id), txId: row.tx_id as string, practiceGroupId: row.practice_group_id as number, occurredAt: row.occurred_at as string,
    userId: row.user_id as number | null, userName: row.user_name as string, action: row.action as string, page: row.page as string,
    recordType: row.record_type as string | null, recordId: row.record_id as string | null, description: row.description as string,
    url: row.url as string, ip: row.ip as string | null, changes: row.changes as string | null, patientId: row.patient_id as string | null,
    outcome: row.outcome as string, coversPatient: row.covers_patient as boolean
  }
}

t.test('whatever text a record holds, the digest the app takes from the bytes PostgreSQL sends is the one its fields as text give', async t => {
  const clinic = await makeClinic(ctx.em())
  const owner = new pg.Client({ connectionString: ctx.databaseUrl })
  await owner.connect()
  t.teardown(() => owner.end())
  // As the owner, past the append-only triggers, so some records can carry a transaction from before seals covered the patient.
  await owner.query("set session_replication_role = 'replica'")
  const { rows: [state] } = await owner.query('select sealed_below::text as sealed, patient_sealed_from::text as covered from audit_seal_state')
  /** A transaction the next seal still takes, from before seals covered the patient. */
  const olderTx = (): string => String(int(Number(state.sealed), Number(state.covered) - 1))
  for (let i = 0; i < 300; i++) {
    const denied = random() < 0.1
    await owner.query(`insert into audit_records (practice_group_id, occurred_at, user_id, user_name, action, page, record_type, record_id,
        description, url, ip, changes, patient_id, outcome, tx_id)
      values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, coalesce($15::xid8, audit_tx(pg_current_xact_id())))`, [
      clinic.group.id, new Date(Date.UTC(2026, 0, 1) + int(0, 1e10)).toISOString().replace('Z', `${int(0, 999)}Z`.padStart(4, '0')),
      random() < 0.2 ? null : clinic.owner.id, text(200, 1), denied ? 'denied' : pick(['view', 'update', 'export']), text(100, 1),
      random() < 0.4 ? null : text(30), random() < 0.4 ? null : text(40), text(random() < 0.3 ? 400 : 40), `/${text(120)}`,
      pick([null, '203.0.113.9', '2001:db8::1', '10.0.0.0/8']), random() < 0.5 ? null : JSON.stringify([{ field: text(8), before: text(30), after: text(90) }]),
      random() < 0.5 ? null : int(1, 1e6), denied ? 'denied' : 'success', random() < 0.25 ? olderTx() : null
    ])
  }
  const { rows } = await owner.query(PRINTED, [clinic.group.id])
  const printed = rows.map(fieldsOf)
  t.ok(printed.some(r => !r.coversPatient) && printed.some(r => r.coversPatient), 'records of both layouts')
  t.ok(printed.some(r => Buffer.byteLength(r.description) > 400), 'fields longer than a few bytes')

  const read = new Map((await chainRecordsById(owner as unknown as PoolClient, printed.map(r => r.id))).map(r => [r.id, r]))
  t.equal(read.size, printed.length, 'every record is read')
  const differing = printed.filter(fields => {
    const record = read.get(fields.id)
    return !record || record.txId !== fields.txId || record.practiceGroupId !== fields.practiceGroupId ||
      record.occurredAt !== fields.occurredAt || !record.digest.equals(recordDigest(fields))
  })
  t.same(differing.map(r => r.id), [], 'each record reads with the same id, transaction, practice, time and digest')

  t.ok(await sealPracticeBefore(ctx.em(), clinic.group.id, new Date('9999-12-31T00:00:00Z'), ctx.clock.now()), 'every record is sealed')
  t.match(await verifyPracticeChain(ctx.em(), ctx.plan, clinic.group.id), { intact: true, verified: 300, problems: 0 })
  const target = pick(printed.filter(r => r.coversPatient))
  await owner.query("update audit_records set description = description || 'é' where id = $1", [target.id])
  t.match(await verifyPracticeChain(ctx.em(), ctx.plan, clinic.group.id), {
    intact: false, problems: 1, firstProblem: { recordId: target.id, message: /was changed after it was recorded/ }
  }, 'one character added to one record is found')
})

t.test('a record slipped in under an id no sequence hands out, below zero or past what a JavaScript number holds exactly, is still found', async t => {
  const clinic = await makeClinic(ctx.em())
  for (let i = 0; i < 3; i++) await addRecord(ctx.em(), clinic.owner, { at: new Date(ctx.clock.now().getTime() + i * 1000), description: `Viewed chart ${i}` })
  t.ok(await sealPracticeBefore(ctx.em(), clinic.group.id, new Date('9999-12-31T00:00:00Z'), ctx.clock.now()), 'every record is sealed')
  const owner = new pg.Client({ connectionString: ctx.databaseUrl })
  await owner.connect()
  t.teardown(() => owner.end())
  await owner.query("set session_replication_role = 'replica'")
  for (const id of ['-7', '9007199254740993']) {
    await owner.query(`insert into audit_records (id, practice_group_id, occurred_at, user_id, user_name, action, page, description, url, tx_id)
      select $1::bigint, practice_group_id, occurred_at, user_id, user_name, action, page, 'Nothing happened here', url, tx_id
      from audit_records where practice_group_id = $2 order by id limit 1`, [id, clinic.group.id])
  }
  const result = await verifyPracticeChain(ctx.em(), ctx.plan, clinic.group.id)
  t.match(result, { intact: false, problems: 2, verified: 3, firstProblem: { recordId: -7, message: /inserted afterwards/ } })
})
