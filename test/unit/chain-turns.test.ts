import t from 'tap'
import { instantMicros, nextEntry, type ChainEntry } from '../../src/domain/chain/chain-encoding.js'
import { recordDigest, type RecordFields } from '../helpers/record-digest.js'
import { verifyChain } from '../../src/domain/chain/chain-verifier.js'
import { RECORDS_PER_TURN } from '../../src/domain/chain/turns.js'
import { DEFAULT_PLAN } from '../../src/domain/plan/plan.js'
import { chainReaderOf } from '../helpers/chain-reader.js'

function record (id: number): RecordFields {
  return {
    id, txId: String(1000 + id), practiceGroupId: 7, occurredAt: `2026-01-01T00:00:${String(id % 60).padStart(2, '0')}.000000Z`,
    userId: 1, userName: 'Dana Reyes', action: 'view', page: 'Patient', recordType: 'patient', recordId: String(id),
    description: `Viewed patient #${id}`, url: `/patients/${id}`, ip: '203.0.113.9', changes: null, patientId: String(id), outcome: 'success', coversPatient: true
  }
}

/** One practice's records in seals of 1,000, as the sealer would have written them. */
function sealedChain (count: number): { entries: ChainEntry[], records: RecordFields[] } {
  const records = Array.from({ length: count }, (_, i) => record(i + 1))
  const entries: ChainEntry[] = []
  for (let start = 0; start < count; start += 1000) {
    const batch = records.slice(start, start + 1000)
    entries.push(nextEntry(entries.at(-1) ?? null, {
      practiceGroupId: 7, kind: 'seal', createdAt: '2026-01-02T00:00:00.000000Z', recordIds: batch.map(r => r.id),
      recordDigests: Buffer.concat(batch.map(recordDigest)), recordTimes: batch.map(r => instantMicros(r.occurredAt)), cutoff: null
    }))
  }
  return { entries, records }
}

t.test('verifying a long chain lets the server answer other requests every few hundred records', async t => {
  const count = 6 * RECORDS_PER_TURN
  const { entries, records } = sealedChain(count)
  // Read from memory, the chain offers no wait of its own: only the verifier's own turns let this run.
  let turns = 0
  let verifying = true
  const other = (): void => { if (verifying) { turns++; setImmediate(other) } }
  setImmediate(other)
  const result = await verifyChain(DEFAULT_PLAN, chainReaderOf(entries, records), 1_000_000n)
  verifying = false
  t.equal(result.intact, true)
  t.equal(result.verified, count)
  t.ok(turns >= count / RECORDS_PER_TURN - 1, `other work ran ${turns} times while ${count} records were verified`)
})
