import type { EntityManager } from '@mikro-orm/core'
import type { PoolClient } from 'pg'
import { inPgTransaction } from '../../db/sql.js'
import { clientQuery } from '../chain/chain-store.js'
import { declareAlertScanCursor, deniedInWindow, fetchScannedRecords, hasUnreadForAlerts, patientViewsInWindow, type ScannedRecord, type WindowEvent } from '../audit-records/alert-reads.js'
import { readAlertSettings } from './alert-settings.js'
import { storeAlerts } from './alert-store.js'
import { passEnd } from '../audit-records/pass-spans.js'
import {
  deniedSummary, firstBurst, manyPatientsSummary, mergeDrafts, quietMinutes, recordAlerts,
  type AlertDraft, type Burst, type PatientFacts, type PersonFacts, type RecordContext
} from './detect.js'
import type { Rule } from './rules.js'

const FETCH_SIZE = 2000

export interface AlertScanReport {
  records: number
  alerts: number
  /** Every finished record is read: the pass was not cut short by its `maxRecords`. */
  caughtUp: boolean
}

/** A person or an address whose records in this pass may complete a burst, and the span of those records. */
interface WindowCandidate {
  practiceGroupId: number
  rule: Rule
  subject: { userId: number } | { ip: string }
  userName: string | null
  first: Date
  last: Date
  views: boolean
}

function noteCandidate (candidates: Map<string, WindowCandidate>, key: string, fresh: Omit<WindowCandidate, 'first' | 'last'>, at: Date): void {
  const held = candidates.get(key)
  if (!held) candidates.set(key, { ...fresh, first: at, last: at })
  else if (at < held.first) held.first = at
  else if (at > held.last) held.last = at
}

function noteWindows (candidates: Map<string, WindowCandidate>, record: ScannedRecord, context: RecordContext): void {
  const { settings } = context
  const practice = record.practiceGroupId
  if (settings.on['many-patients'] && record.action === 'view' && record.patientId != null) {
    noteCandidate(candidates, `${practice}|views|${record.userId}`, { practiceGroupId: practice, rule: 'many-patients', subject: { userId: record.userId }, userName: record.userName, views: true }, record.occurredAt)
  }
  if (settings.on['denied-attempts'] && record.action === 'denied') {
    noteCandidate(candidates, `${practice}|denied|${record.userId}`, { practiceGroupId: practice, rule: 'denied-attempts', subject: { userId: record.userId }, userName: record.userName, views: false }, record.occurredAt)
    if (record.ip) noteCandidate(candidates, `${practice}|denied-from|${record.ip}`, { practiceGroupId: practice, rule: 'denied-attempts', subject: { ip: record.ip }, userName: null, views: false }, record.occurredAt)
  }
}

interface PracticeContext extends RecordContext { practiceGroupId: number }

async function practiceContext (client: PoolClient, practiceGroupId: number): Promise<PracticeContext> {
  const query = clientQuery(client)
  const [practice] = await query('select time_zone from practice_groups where id = ?', [practiceGroupId])
  const users = new Map<number, PersonFacts>()
  for (const row of await query('select id, name, email, date_of_birth::text as date_of_birth from users where practice_group_id = ? and not is_system', [practiceGroupId])) {
    users.set(Number(row.id), { name: String(row.name), email: String(row.email), dateOfBirth: row.date_of_birth == null ? null : String(row.date_of_birth) })
  }
  return { practiceGroupId, settings: await readAlertSettings(query, practiceGroupId), timeZone: String(practice!.time_zone), users, patients: new Map() }
}

/** The patients these records opened that the context does not know yet. */
async function learnPatients (client: PoolClient, context: PracticeContext, records: ScannedRecord[]): Promise<void> {
  if (!context.settings.on['family-name'] && !context.settings.on['own-record']) return
  const unknown = [...new Set(records.filter(r => r.action === 'view' && r.patientId != null && !context.patients.has(r.patientId)).map(r => r.patientId!))]
  if (unknown.length === 0) return
  const { rows } = await client.query('select id, name, email, date_of_birth::text as date_of_birth from patients where practice_group_id = $1 and id = any($2::int[])', [context.practiceGroupId, unknown])
  for (const row of rows) {
    context.patients.set(Number(row.id), { name: String(row.name), email: row.email as string | null, dateOfBirth: row.date_of_birth == null ? null : String(row.date_of_birth) } satisfies PatientFacts)
  }
}

async function windowDraft (client: PoolClient, candidate: WindowCandidate, context: PracticeContext, newFrom: bigint, below: string): Promise<AlertDraft | null> {
  const { settings, timeZone } = context
  const { count, minutes } = candidate.views ? settings.manyPatients : settings.deniedAttempts
  const window = { practiceGroupId: candidate.practiceGroupId, from: new Date(candidate.first.getTime() - minutes * 60_000), to: candidate.last, newFrom, below }
  let events: WindowEvent[]
  if (candidate.views) events = await patientViewsInWindow(client, window, (candidate.subject as { userId: number }).userId)
  else events = await deniedInWindow(client, window, candidate.subject)
  const burst: Burst | null = firstBurst(events, count, minutes)
  if (!burst) return null
  const byUser = 'userId' in candidate.subject
  const who = byUser ? (candidate.userName ?? 'a user') : `address ${(candidate.subject as { ip: string }).ip}`
  return {
    practiceGroupId: candidate.practiceGroupId,
    rule: candidate.rule,
    subjectKey: byUser ? `user:${(candidate.subject as { userId: number }).userId}` : `ip:${(candidate.subject as { ip: string }).ip}`,
    userId: byUser ? (candidate.subject as { userId: number }).userId : null,
    userName: byUser ? candidate.userName : null,
    patientId: null,
    ip: byUser ? null : (candidate.subject as { ip: string }).ip,
    summary: candidate.views ? manyPatientsSummary(who, burst, minutes, timeZone) : deniedSummary(who, burst, minutes, timeZone),
    evidenceFrom: burst.from,
    evidenceTo: burst.to
  }
}

/**
 * Reads every history record whose transaction has finished and that no
 * earlier pass read, once, and raises the alerts its practice's rules find.
 * "Finished" is the sealer's rule: older than the oldest transaction still
 * running, so a record that commits late is read by a later pass rather
 * than skipped. Rules over a span of minutes also look back at records
 * earlier passes read, but only a newly read record can complete a finding.
 * One transaction: the alerts and the new scanning position commit
 * together, or neither does, so a restart neither repeats nor misses.
 * Given `maxRecords`, it reads about that many, the oldest transactions
 * first, and leaves the rest to the next pass.
 */
export async function scanForAlerts (em: EntityManager, now: Date, maxRecords = Infinity): Promise<AlertScanReport> {
  return inPgTransaction(em, 'begin', async client => {
    const { rows: [state] } = await client.query('select scanned_below::text as scanned_below from alert_scan_state for update')
    const scannedBelow = BigInt(String(state!.scanned_below))
    const { rows: [snapshot] } = await client.query('select audit_tx(pg_snapshot_xmin(pg_current_snapshot()))::text as boundary')
    const boundary = String(snapshot!.boundary)
    if (BigInt(boundary) <= scannedBelow) return { records: 0, alerts: 0, caughtUp: true }

    const end = await passEnd(client, scannedBelow, boundary, maxRecords)
    await declareAlertScanCursor(client, 'alert_scan', scannedBelow, end)
    const contexts = new Map<number, PracticeContext>()
    const drafts = new Map<string, AlertDraft[]>()
    const candidates = new Map<string, WindowCandidate>()
    const quietFor = (draft: AlertDraft): number => quietMinutes(draft.rule, contexts.get(draft.practiceGroupId)!.settings)
    let records = 0
    for (;;) {
      const chunk = await fetchScannedRecords(client, 'alert_scan', FETCH_SIZE)
      if (chunk.length === 0) break
      records += chunk.length
      for (const practiceGroupId of new Set(chunk.map(r => r.practiceGroupId))) {
        const ofPractice = chunk.filter(r => r.practiceGroupId === practiceGroupId)
        let context = contexts.get(practiceGroupId)
        if (!context) contexts.set(practiceGroupId, context = await practiceContext(client, practiceGroupId))
        await learnPatients(client, context, ofPractice)
        for (const record of ofPractice) {
          if (!context.users.has(record.userId)) continue
          mergeDrafts(drafts, recordAlerts(record, context), quietFor)
          noteWindows(candidates, record, context)
        }
      }
    }
    await client.query('close alert_scan')
    for (const candidate of candidates.values()) {
      const found = await windowDraft(client, candidate, contexts.get(candidate.practiceGroupId)!, scannedBelow, end)
      if (found) mergeDrafts(drafts, [found], quietFor)
    }
    const alerts = await storeAlerts(client, [...drafts.values()].flat(), now, quietFor)
    await client.query('update alert_scan_state set scanned_below = $1', [end])
    return { records, alerts, caughtUp: end === boundary }
  })
}

/**
 * Runs passes until every record written so far is read, and returns how
 * many were. Transaction ids belong to the whole server, so a transaction
 * still running in another database can hold a pass back: this retries
 * briefly, then gives up, and the next scheduled pass carries on.
 */
export async function scanUntilCaughtUp (em: EntityManager, now: Date, patienceMs = 15_000): Promise<{ records: number, caughtUp: boolean }> {
  const giveUpAt = Date.now() + patienceMs
  let records = 0
  for (;;) {
    records += (await scanForAlerts(em, now)).records
    if (!await hasUnreadForAlerts(em)) return { records, caughtUp: true }
    if (Date.now() >= giveUpAt) return { records, caughtUp: false }
    await new Promise(resolve => setTimeout(resolve, 50))
  }
}

/**
 * Moves the alert pass past every record written so far, unread: for
 * history that predates a practice's alerts (the demo's simulated weeks),
 * as the migration that added alerts did for the records before it.
 */
export async function skipRecordsSoFar (em: EntityManager): Promise<void> {
  await em.getConnection().execute('update alert_scan_state set scanned_below = greatest(scanned_below, audit_tx(pg_current_xact_id()))')
}
