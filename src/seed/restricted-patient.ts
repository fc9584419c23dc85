import type { EntityManager } from '@mikro-orm/postgresql'
import type { Actor } from '../domain/audit-records/record.js'
import { patientKind } from '../domain/patients/patient.kind.js'
import type { PracticeGroup } from '../domain/practice-groups/practice-group.entity.js'
import { getRecord, recordView } from '../domain/practice-records/practice-records.service.js'
import { giveReason } from '../domain/restricted-patients/break-glass.js'
import { defaultOpenerIds, saveRestriction } from '../domain/restricted-patients/restriction.js'
import { lastWeekdayAt } from './times.js'
import type { User } from '../domain/users/user.entity.js'

/**
 * The practice's first patient is marked Restricted by its Full Access
 * user on the last weekday morning (the practitioners who saw them may
 * still open them), and later that morning someone else gives a reason to
 * open them and does.
 */
export async function seedRestrictedPatient (em: EntityManager, group: PracticeGroup, restrictedBy: User, openedBy: User, now: Date): Promise<void> {
  const [first] = await em.getConnection().execute<{ id: number }[]>('select id from patients where practice_group_id = ? order by id limit 1', [group.id])
  if (!first) return
  const patient = await getRecord(em, patientKind, group.id, first.id)
  const person = { id: patient.id, name: String(patient.name) }
  // Inside opening hours, so the only alert these raise is the break-the-glass one.
  const marked = lastWeekdayAt(now, group.timeZone, '09:30')
  const actingAt = (user: User, minutesLater: number, url: string): Actor => ({
    practiceGroupId: group.id, userId: user.id, userName: user.name, url, ip: '203.0.113.24', timeZone: group.timeZone,
    occurredAt: new Date(marked.getTime() + minutesLater * 60_000)
  })
  const openers = await defaultOpenerIds(em, group.id, patient.id)
  await em.transactional(tx => saveRestriction(tx, actingAt(restrictedBy, 0, `/patients/${patient.id}/restriction`), person, openers.filter(id => id !== openedBy.id)))
  await giveReason(em, actingAt(openedBy, 95, `/patients/${patient.id}/break-glass`), person, 'Billing query')
  await recordView(em, patientKind, actingAt(openedBy, 96, `/patients/${patient.id}`), patient)
}
