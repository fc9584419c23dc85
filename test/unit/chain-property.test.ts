import t from 'tap'
import { seededRandom } from '../../src/seed/everyday-use.js'
import { instantMicros, nextEntry, type ChainEntry } from '../../src/domain/chain/chain-encoding.js'
import { recordDigest, type RecordFields } from '../helpers/record-digest.js'
import { verifyChain } from '../../src/domain/chain/chain-verifier.js'
import { DEFAULT_PLAN } from '../../src/domain/plan/plan.js'
import { chainReaderOf } from '../helpers/chain-reader.js'

const random = seededRandom(20261125)
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!
const int = (low: number, high: number): number => low + Math.floor(random() * (high - low + 1))
const ALPHABET = ['a', 'Z', ' ', '"', "'", ',', '\n', '\u0000', 'é', '€', '😀', '=', '|', '\\']
const text = (max = 12): string => Array.from({ length: int(0, max) }, () => pick(ALPHABET)).join('')

interface World {
  entries: ChainEntry[]
  /** In ascending id order, as the database returns them. */
  records: RecordFields[]
  sealedBelow: bigint
  sealedPresent: number
  deleted: number
}

function randomRecord (id: number, txId: number, at: number): RecordFields {
  return {
    id,
    txId: String(txId),
    practiceGroupId: 7,
    occurredAt: new Date(at).toISOString().replace('Z', `${int(0, 999).toString().padStart(3, '0')}Z`),
    userId: random() < 0.1 ? null : int(1, 5),
    userName: text(),
    action: pick(['view', 'update', 'delete', 'export']),
    page: text(6),
    recordType: random() < 0.5 ? null : pick(['patient', 'invoice']),
    recordId: random() < 0.5 ? null : String(int(1, 99)),
    description: text(30),
    url: `/${text(8)}`,
    ip: random() < 0.2 ? null : `203.0.113.${int(1, 254)}`,
    changes: random() < 0.7 ? null : JSON.stringify([{ field: text(4), before: text(4), after: text(4) }]),
    patientId: random() < 0.5 ? null : String(int(1, 99)),
    outcome: pick(['success', 'denied']),
    coversPatient: random() < 0.7
  }
}

/** A practice's records, sealed in runs (late commits land in later seals), with retention checkpoints between them. */
function randomWorld (): World {
  const count = int(3, 40)
  let id = 100
  let tx = 1000
  let at = Date.UTC(2026, 0, 1)
  const records: RecordFields[] = []
  for (let i = 0; i < count; i++) {
    id += int(1, 3)
    if (random() < 0.6) tx += int(1, 2)
    at += int(0, 3_600_000)
    records.push(randomRecord(id, random() < 0.15 ? tx + int(1, 3) : tx, at))
  }
  const sealedBelow = BigInt(random() < 0.3 ? tx : tx + 10)
  const sealable = records.filter(r => BigInt(r.txId) < sealedBelow).sort((a, b) => Number(a.txId) - Number(b.txId) || a.id - b.id)
  const entries: ChainEntry[] = []
  const head = (): ChainEntry | null => entries.at(-1) ?? null
  const deletedIds = new Set<number>()
  let sealedSoFar: RecordFields[] = []
  let s = 0
  while (s < sealable.length) {
    const batch = sealable.slice(s, s + int(1, 8)).sort((a, b) => a.id - b.id)
    s += batch.length
    entries.push(nextEntry(head(), {
      practiceGroupId: 7, kind: 'seal', createdAt: `2026-02-0${int(1, 9)}T00:00:00.000000Z`,
      recordIds: batch.map(r => r.id), recordDigests: Buffer.concat(batch.map(recordDigest)), recordTimes: batch.map(r => instantMicros(r.occurredAt)), cutoff: null
    }))
    sealedSoFar = sealedSoFar.concat(batch)
    if (random() < 0.3) {
      // Retention: the oldest sealed records still present, by time, as the purge picks them.
      const victims = sealedSoFar.filter(r => !deletedIds.has(r.id)).sort((a, b) => a.occurredAt.localeCompare(b.occurredAt)).slice(0, int(1, 4))
      if (victims.length > 0) {
        victims.forEach(r => deletedIds.add(r.id))
        entries.push(nextEntry(head(), {
          practiceGroupId: 7, kind: 'checkpoint', createdAt: '2026-03-15T00:00:00.000000Z',
          recordIds: victims.map(r => r.id).sort((a, b) => a - b), recordDigests: null, recordTimes: null, cutoff: '2026-01-31T00:00:00.000000Z'
        }))
      }
    }
  }
  return {
    entries,
    records: records.filter(r => !deletedIds.has(r.id)),
    sealedBelow,
    sealedPresent: sealable.length - deletedIds.size,
    deleted: deletedIds.size
  }
}

function copy (world: World): World {
  return {
    ...world,
    entries: world.entries.map(e => ({
      ...e, recordIds: [...e.recordIds], recordDigests: e.recordDigests && Buffer.from(e.recordDigests), recordTimes: e.recordTimes && [...e.recordTimes],
      previousHash: Buffer.from(e.previousHash), hash: Buffer.from(e.hash)
    })),
    records: world.records.map(r => ({ ...r }))
  }
}

const sealedIds = (world: World): Set<number> => new Set(world.entries.filter(e => e.kind === 'seal').flatMap(e => e.recordIds))
const sealedRecords = (world: World): RecordFields[] => { const ids = sealedIds(world); return world.records.filter(r => ids.has(r.id)) }
const EDITABLE = ['txId', 'practiceGroupId', 'occurredAt', 'userId', 'userName', 'action', 'page', 'recordType', 'recordId', 'description', 'url', 'ip', 'changes'] as const

type Tampering = (world: World) => string | null

/** Tamperings that only an earlier note of the chain head can reveal: the rest must show without one. */
const NEEDS_KNOWN_HEAD = new Set(['cut off the newest entries and their records'])

/** Each returns what it did, or null when this world offers nothing to tamper with that way. */
const TAMPERINGS: Record<string, Tampering> = {
  'edit a field': world => {
    const target = pick(sealedRecords(world))
    if (!target) return null
    const field = pick(EDITABLE)
    const was = target[field]
    const edited = { ...target, [field]: field === 'userId' || field === 'practiceGroupId' ? Number(was ?? 0) + 1 : `${String(was ?? '')}${pick(ALPHABET)}` }
    Object.assign(target, edited)
    return `${field} of #${target.id}`
  },
  'edit the patient or outcome of a record whose seal covers them': world => {
    const target = pick(sealedRecords(world).filter(r => r.coversPatient))
    if (!target) return null
    const field = pick(['patientId', 'outcome'] as const)
    Object.assign(target, { [field]: `${target[field] ?? ''}${pick(ALPHABET)}` })
    return `${field} of #${target.id}`
  },
  'move where seals start covering the patient': world => {
    const target = pick(sealedRecords(world))
    if (!target) return null
    target.coversPatient = !target.coversPatient
    return `#${target.id}`
  },
  'delete a record': world => {
    const target = pick(sealedRecords(world))
    if (!target) return null
    world.records.splice(world.records.indexOf(target), 1)
    return `#${target.id}`
  },
  'reorder records': world => {
    const sealed = sealedRecords(world)
    const a = pick(sealed)
    const b = pick(sealed.filter(r => r !== a && recordDigest({ ...r, id: a.id }).compare(recordDigest(a)) !== 0))
    if (!a || !b) return null
    const { id: idA, ...contentA } = a
    const { id: idB, ...contentB } = b
    Object.assign(a, contentB, { id: idA })
    Object.assign(b, contentA, { id: idB })
    return `#${idA} <-> #${idB}`
  },
  'reorder chain entries': world => {
    if (world.entries.length < 2) return null
    const i = int(0, world.entries.length - 2)
    const [first, second] = [world.entries[i]!, world.entries[i + 1]!]
    world.entries[i] = second
    world.entries[i + 1] = first
    return `entries ${i + 1} and ${i + 2}`
  },
  'insert a forged record': world => {
    if (world.sealedBelow <= 1000n) return null
    const used = new Set(world.records.map(r => r.id))
    let id = int(90, 250)
    while (used.has(id) || sealedIds(world).has(id)) id++
    world.records.push(randomRecord(id, int(1000, Number(world.sealedBelow) - 1), Date.UTC(2026, 0, 2)))
    world.records.sort((a, b) => a.id - b.id)
    return `#${id}`
  },
  'truncate the newest records': world => {
    const sealed = sealedRecords(world)
    if (sealed.length === 0) return null
    const cut = new Set(sealed.slice(-int(1, Math.min(5, sealed.length))).map(r => r.id))
    world.records = world.records.filter(r => !cut.has(r.id))
    return `${cut.size} newest`
  },
  'delete without a checkpoint': world => {
    const checkpoints = world.entries.filter(e => e.kind === 'checkpoint')
    if (checkpoints.length > 0 && random() < 0.5) {
      const target = pick(checkpoints)
      world.entries.splice(world.entries.indexOf(target), 1)
      return `dropped checkpoint #${target.seq}`
    }
    const sealed = sealedRecords(world)
    if (sealed.length === 0) return null
    const oldest = new Set(sealed.slice(0, int(1, Math.min(4, sealed.length))).map(r => r.id))
    world.records = world.records.filter(r => !oldest.has(r.id))
    return `${oldest.size} oldest`
  },
  'forge a retention checkpoint': world => {
    const target = pick(sealedRecords(world))
    if (!target) return null
    world.records.splice(world.records.indexOf(target), 1)
    // Hashed like the real thing, its cutoff 30 days before it, so only the record's own time gives it away.
    const createdAt = new Date(Date.parse(target.occurredAt.slice(0, 23) + 'Z') + 20 * 86_400_000).toISOString().replace('Z', '000Z')
    const cutoff = new Date(Date.parse(createdAt.slice(0, 23) + 'Z') - 30 * 86_400_000).toISOString().replace('Z', '000Z')
    world.entries.push(nextEntry(world.entries.at(-1) ?? null, {
      practiceGroupId: 7, kind: 'checkpoint', createdAt, recordIds: [target.id], recordDigests: null, recordTimes: null, cutoff
    }))
    return `#${target.id}`
  },
  'cut off the newest entries and their records': world => {
    const seals = world.entries.filter(e => e.kind === 'seal')
    const last = seals.at(-1)
    if (!last) return null
    const gone = new Set(last.recordIds)
    world.entries = world.entries.slice(0, world.entries.indexOf(last))
    world.records = world.records.filter(r => !gone.has(r.id))
    return `entries from #${last.seq}`
  },
  'edit a chain entry': world => {
    const target = pick(world.entries)
    if (!target) return null
    const change = int(0, 3)
    if (change === 0 && target.recordDigests) target.recordDigests[int(0, target.recordDigests.length - 1)]! ^= 1 << int(0, 7)
    else if (change === 1) target.createdAt = target.createdAt.replace('2026', '2025')
    else if (change === 2 && target.recordIds.length > 1) target.recordIds.pop()
    else target.previousHash[int(0, 31)]! ^= 1
    return `entry #${target.seq}`
  }
}

t.test('property: an untouched chain always verifies, and accounts for every record', async t => {
  for (let i = 0; i < 500; i++) {
    const world = randomWorld()
    const result = await verifyChain(DEFAULT_PLAN, chainReaderOf(world.entries, world.records), world.sealedBelow)
    if (!result.intact || result.verified !== world.sealedPresent || result.deleted !== world.deleted ||
      result.awaitingSeal !== world.records.length - world.sealedPresent) {
      t.fail(`world ${i} did not verify: ${JSON.stringify(result)}`)
      return
    }
  }
  t.pass('500 random chains verified, with their retention checkpoints and unsealed records')
})

t.test('property: every one of 10,000 random tamperings is detected', async t => {
  const applied: Record<string, number> = {}
  let total = 0
  while (total < 10_000) {
    const original = randomWorld()
    const kind = pick(Object.keys(TAMPERINGS))
    const world = copy(original)
    const what = TAMPERINGS[kind]!(world)
    if (what === null) continue
    total++
    applied[kind] = (applied[kind] ?? 0) + 1
    const knownHead = NEEDS_KNOWN_HEAD.has(kind) ? original.entries.at(-1)!.hash : null
    const result = await verifyChain(DEFAULT_PLAN, chainReaderOf(world.entries, world.records), world.sealedBelow, { knownHead })
    if (result.intact || result.firstProblem === null) {
      t.fail(`"${kind}" (${what}) went unnoticed`)
      return
    }
  }
  t.equal(total, 10_000)
  for (const kind of Object.keys(TAMPERINGS)) t.ok((applied[kind] ?? 0) > 500, `${kind}: ${applied[kind]} times, all detected${NEEDS_KNOWN_HEAD.has(kind) ? ' (given the head noted before)' : ''}`)
})

t.test('property: without the head noted before, cutting off the newest entries and their records is not visible; with it, it is', async t => {
  let world = randomWorld()
  while (world.entries.at(-1)?.kind !== 'seal') world = randomWorld()
  const original = world.entries.at(-1)!.hash
  const cut = copy(world)
  t.ok(TAMPERINGS['cut off the newest entries and their records']!(cut))
  t.equal((await verifyChain(DEFAULT_PLAN, chainReaderOf(cut.entries, cut.records), 0n)).intact, true, 'why the head is worth writing down')
  t.equal((await verifyChain(DEFAULT_PLAN, chainReaderOf(cut.entries, cut.records), 0n, { knownHead: original })).intact, false)
})
