import type { ChainEntry } from '../../src/domain/chain/chain-encoding.js'
import type { ChainReader, SealPosition } from '../../src/domain/chain/chain-verifier.js'
import { chainRecordOf, type RecordFields } from './record-digest.js'

/**
 * A chain and its records held in memory, read the way verifying reads a
 * database: entries in the order given, each seal with those of its records
 * that exist, and the records no seal lists in id order.
 */
export function chainReaderOf (entries: readonly ChainEntry[], fields: readonly RecordFields[]): ChainReader {
  const records = fields.map(chainRecordOf)
  const byId = new Map(records.map(record => [record.id, record]))
  const seals = entries.filter(entry => entry.kind === 'seal')
  const positions: SealPosition[] = seals.flatMap(entry => entry.recordIds.map((id, index) => ({ id, seq: entry.seq, index })))
  const sealed = new Set(positions.map(position => position.id))
  return {
    entries: entries.map(entry => ({
      entry,
      records: entry.kind === 'seal' ? entry.recordIds.flatMap(id => byId.get(id) ?? []).reverse() : []
    })),
    sealedTwice: new Set(positions.filter((position, i) => positions.findIndex(other => other.id === position.id) !== i).map(position => position.id)),
    lookUp: async ids => ({
      sealedAt: positions.filter(position => ids.includes(position.id)),
      present: new Set(ids.filter(id => byId.has(id)))
    }),
    unsealed: () => [...records].sort((a, b) => a.id - b.id).filter(record => !sealed.has(record.id))
  }
}
