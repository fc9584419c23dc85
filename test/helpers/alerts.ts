import type { EntityManager } from '@mikro-orm/postgresql'
import { recordEvent } from '../../src/domain/recorder/recorder.js'
import { scanUntilCaughtUp } from '../../src/domain/alerts/alert-scan.js'
import type { TestContext } from './app.js'
import type { Action } from '../../src/domain/audit-records/record.js'
import type { User } from '../../src/domain/users/user.entity.js'

export interface AlertRow {
  id: string
  rule: string
  user_id: number | null
  patient_id: number | null
  ip: string | null
  summary: string
  evidence_from: Date
  evidence_to: Date
}

/** A practice's alerts, oldest first, as the owner sees the table. */
export async function alertsOf (em: EntityManager, practiceGroupId: number): Promise<AlertRow[]> {
  const rows = await em.getConnection().execute<AlertRow[]>(
    'select id::text as id, rule, user_id, patient_id, host(ip) as ip, summary, evidence_from, evidence_to from alerts where practice_group_id = ? order by id',
    [practiceGroupId])
  return rows.map(row => ({ ...row, evidence_from: new Date(row.evidence_from), evidence_to: new Date(row.evidence_to) }))
}

export async function makePatient (em: EntityManager, practiceGroupId: number, name: string, email: string | null = null, dateOfBirth: string | null = null): Promise<number> {
  const [row] = await em.getConnection().execute<Array<{ id: number }>>(
    'insert into patients (practice_group_id, name, email, date_of_birth) values (?, ?, ?, ?) returning id', [practiceGroupId, name, email, dateOfBirth])
  return row!.id
}

export interface Happening {
  action?: Action
  page?: string
  patientId?: number | null
  description?: string
  ip?: string
}

/** One history record by this user at that moment, written as the recorder writes it. */
export async function happened (em: EntityManager, user: User, at: Date | string, values: Happening = {}): Promise<void> {
  const action = values.action ?? 'view'
  await recordEvent(em, {
    practiceGroupId: user.practiceGroupId, userId: user.id, userName: user.name, url: '/patients',
    ip: values.ip ?? '203.0.113.10', timeZone: 'Australia/Sydney', occurredAt: new Date(at)
  }, {
    action,
    page: values.page ?? (action === 'denied' ? 'Access check' : 'Patients'),
    recordType: values.patientId == null ? null : 'patient',
    recordId: values.patientId ?? null,
    patientId: values.patientId ?? null,
    description: values.description ?? 'Viewed a patient'
  })
}

/**
 * Runs the alert pass until it has read every record written so far;
 * returns how many it read. Test files beside this one run transactions on
 * the same server, which hold a pass back while they run, so this waits
 * longer than the app would.
 */
export async function scanEverything (ctx: Pick<TestContext, 'keeper' | 'clock'>): Promise<number> {
  const { records, caughtUp } = await scanUntilCaughtUp(ctx.keeper.em.fork(), ctx.clock.now(), 60_000)
  if (!caughtUp) throw new Error('the alert pass did not reach the newest records in time')
  return records
}
