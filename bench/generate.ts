import { pipeline } from 'node:stream/promises'
import { Readable } from 'node:stream'
import pg from 'pg'
import { from as copyFrom } from 'pg-copy-streams'
import { seededRandom } from '../src/seed/everyday-use.js'
import { DAY_MS } from '../src/domain/time/zoned.js'

export interface DataSetSize {
  records: number
  groups: number
  days: number
  /** Share of all records held by the largest group. */
  largestShare: number
}

export interface GeneratedGroup { id: number, records: number, userIds: number[] }

export interface DataSet {
  groups: GeneratedGroup[]
  largest: GeneratedGroup
  /** A patient of the largest group with FOCAL_RECORDS records of its own. */
  focalPatientId: number
  newest: Date
}

export const FOCAL_RECORDS = 5000

const WORDS = ('patient profile opened viewed updated appointment invoice booked arrived completed cancelled status notes phone email ' +
  'address referral consult review follow-up medication allergy history practitioner reception payment issued paid draft void ' +
  'telehealth physiotherapy x-ray pathology results letter care plan mental health dental wound dressing vaccine influenza').split(' ')
const RARE_WORD = 'zanzibar'
/**
 * A word every practice but the largest uses as often as any other (the
 * largest writes `PLAIN_WORD` in its place): the statistics, which cover
 * all practices at once, call it common, yet the largest never holds it.
 */
export const ELSEWHERE_WORD = 'dental'
const PLAIN_WORD = 'podiatry'
/** The largest practice's words: the others' with ELSEWHERE_WORD replaced, as many and in the same places, so the seeded draws are unchanged. */
export const LARGEST_WORDS = WORDS.map(word => word === ELSEWHERE_WORD ? PLAIN_WORD : word)
const ACTIONS: [string, number][] = [['view', 70], ['update', 12], ['create', 6], ['login', 5], ['logout', 4], ['delete', 1], ['login_failed', 1], ['export', 0.5], ['purchase', 0.5]]
const PAGES: Record<string, [string, string | null][]> = {
  view: [['Patient profile', 'patient'], ['Appointment', 'appointment'], ['Invoice', 'invoice'], ['Patients', null], ['Appointments', null], ['Settings > Users', null]],
  update: [['Patient profile', 'patient'], ['Appointment', 'appointment'], ['Invoice', 'invoice'], ['Settings > Users > Access settings', 'user']],
  create: [['Patient profile', 'patient'], ['Appointment', 'appointment'], ['Invoice', 'invoice']],
  delete: [['Appointment', 'appointment'], ['Invoice', 'invoice']],
  login: [['Sign in', null]],
  logout: [['Sign out', null]],
  login_failed: [['Sign in', null]],
  export: [['Settings > Users > History', null]],
  purchase: [['Settings > Add-ons', 'subscription']]
}

/** Group sizes: the largest holds `largestShare`, the rest fall off like Zipf's law. */
function groupSizes (size: DataSetSize): number[] {
  const largest = Math.round(size.records * size.largestShare)
  const weights = Array.from({ length: size.groups - 1 }, (_, i) => 1 / (i + 2))
  const sum = weights.reduce((a, b) => a + b, 0)
  const rest = weights.map(w => Math.max(1, Math.floor((size.records - largest) * w / sum)))
  return [largest, ...rest]
}

/** One history record, as the generator and the live arrivals write it. */
export interface GeneratedRecord {
  practiceGroupId: number
  occurredAt: Date
  userId: number
  userName: string
  action: string
  page: string
  recordType: string | null
  recordId: string | null
  description: string
  url: string
  ip: string
  patientId: string | null
}

/**
 * Makes a group's records one at a time: its users with their own
 * addresses, the actions in their usual mix, descriptions of 9 to 30 words.
 * Given a focal patient, the record is a view of that patient. The seeded
 * numbers are drawn in the same order as ever, so a data set of a given
 * size is the same from run to run.
 */
export function recordMaker (group: GeneratedGroup, random: () => number, vocabulary = WORDS): (occurredAt: () => Date, focalPatientId: number | null) => GeneratedRecord {
  const pick = <T>(items: T[]): T => items[Math.floor(random() * items.length)]!
  const weighted = (): string => {
    let r = random() * 100
    for (const [action, weight] of ACTIONS) { r -= weight; if (r <= 0) return action }
    return 'view'
  }
  const ips = group.userIds.map((_, i) => i % 7 === 6 ? `2001:db8:${group.id.toString(16)}::${i + 1}` : `10.${group.id % 250}.${i % 250}.${1 + Math.floor(random() * 250)}`)
  const patients = Math.max(10, Math.floor(group.records / 40))
  return (occurredAt, focalPatientId) => {
    const userIndex = Math.floor(random() * group.userIds.length)
    const focal = focalPatientId !== null
    const action = focal ? 'view' : weighted()
    const [page, type] = focal ? ['Patient profile', 'patient'] as [string, string] : pick(PAGES[action]!)
    const recordId = focal ? String(focalPatientId) : type ? String(1 + Math.floor(random() * patients)) : null
    const at = occurredAt()
    const wordCount = 9 + Math.floor(random() * 22)
    const words = Array.from({ length: wordCount }, () => random() < 0.0005 ? RARE_WORD : pick(vocabulary))
    const description = `${action === 'update' ? 'Changed' : 'Viewed'} ${type ?? 'page'} ${recordId ?? ''}: ${words.join(' ')}`.slice(0, 200)
    const patientId = type === 'patient' ? recordId : type ? String(1 + Math.floor(random() * patients)) : null
    const url = type ? `/${type}s/${recordId}${action === 'update' ? '' : random() < 0.2 ? '?tab=notes' : ''}` : `/${page.toLowerCase().replace(/[^a-z]+/g, '-')}`
    return {
      practiceGroupId: group.id, occurredAt: at, userId: group.userIds[userIndex]!, userName: `Bench User ${userIndex + 1}`, action, page,
      recordType: type, recordId, description, url, ip: ips[userIndex]!, patientId
    }
  }
}

function escapeCopy (text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n')
}

/** Loads practices, users and their history with COPY, then rebuilds the history's indexes once. */
export async function generate (client: pg.Client, size: DataSetSize, now: Date, seed = 20261125): Promise<DataSet> {
  const random = seededRandom(seed)
  const sizes = groupSizes(size)
  const groups: GeneratedGroup[] = []
  await client.query('begin')
  for (let i = 0; i < size.groups; i++) {
    const { rows: [group] } = await client.query<{ id: number }>(
      "insert into practice_groups (name, time_zone, credit_balance) values ($1, 'Australia/Sydney', 0) returning id", [`Bench Clinic ${i + 1}`])
    const userCount = Math.max(3, Math.min(40, Math.round(sizes[i]! / 25_000)))
    const { rows: users } = await client.query<{ id: number }>(
      `insert into users (practice_group_id, name, email, password_hash, access_level, can_view_history, created_at, updated_at)
       select $1::int, 'Bench User ' || n, 'bench-' || $1::text || '-' || n || '@bench.invalid', '!', 'Practitioner', false, now(), now()
         from generate_series(1, $2) n returning id`, [group!.id, userCount])
    groups.push({ id: group!.id, records: sizes[i]!, userIds: users.map(u => u.id) })
  }
  await client.query('commit')

  const largest = groups[0]!
  const focalPatientId = 900_000
  const { rows: indexes } = await client.query<{ indexdef: string, indexname: string }>(
    "select indexname, indexdef from pg_indexes where tablename = 'audit_records' and indexname <> 'audit_records_pkey'")
  for (const index of indexes) await client.query(`drop index ${index.indexname}`)

  const span = size.days * DAY_MS
  const newest = now.getTime() - 60_000
  function * lines (): Generator<string> {
    for (const group of groups) {
      const makeRecord = recordMaker(group, random, group === largest ? LARGEST_WORDS : undefined)
      const focal = group === largest ? FOCAL_RECORDS : 0
      for (let n = 0; n < group.records; n++) {
        const r = makeRecord(() => new Date(newest - Math.floor(random() * span)), n < focal ? focalPatientId : null)
        yield [r.practiceGroupId, r.occurredAt.toISOString(), r.userId, r.userName, r.action, r.page, r.recordType ?? '\\N', r.recordId ?? '\\N',
          escapeCopy(r.description), escapeCopy(r.url), r.ip, r.patientId ?? '\\N'].join('\t') + '\n'
      }
    }
  }
  const batch = function * (): Generator<string> {
    let chunk = ''
    for (const line of lines()) {
      chunk += line
      if (chunk.length > 1 << 20) { yield chunk; chunk = '' }
    }
    if (chunk) yield chunk
  }
  await pipeline(Readable.from(batch()), client.query(copyFrom(
    'copy audit_records (practice_group_id, occurred_at, user_id, user_name, action, page, record_type, record_id, description, url, ip, patient_id) from stdin')))
  for (const index of indexes) await client.query(index.indexdef)
  await client.query('vacuum analyze audit_records')
  return { groups, largest, focalPatientId, newest: new Date(newest) }
}
